# Video processing executors. Knob domains follow the reference workflows
# (shared/reference/murakkab-paper-data.md): frames F in {1, 5, 10}.

capability scene_detect(videos: list<video>) -> list<scene> {
    "Split videos into scenes at shot boundaries; each scene keeps its audio track."
    kind tool
    on cpu
    knob threshold: number = 27.0
    knob cores in {1, 2, 4, 8} = 2
}

capability frame_extract(scenes: list<scene>) -> list<image> {
    "Extract evenly spaced frames from each scene of a video."
    kind tool
    on cpu
    knob frames in {1, 5, 10} = 5
    knob cores in {1, 2, 4, 8} = 2
}
