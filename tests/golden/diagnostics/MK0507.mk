# mkc: compile {file} --cluster examples/clusters/this_machine.toml -q -o /dev/null
# No placement meets the SLO: the optimizer's plan needs more cores at once
# (scenes, transcript and summary) than this machine's 2.
import stdlib.video
import stdlib.speech
import stdlib.llm

workflow skim(videos: list<video>) -> text {
    "Summarize what is said in a video."
    task scenes = video.scene_detect(videos)
    task transcript = speech.transcribe(scenes)
    task summary = llm.summarize([transcript]) using model "smollm2-135m-instruct"
    return summary
}

run skim(["media/road_trip.mp4"]) slo latency < 7.5 s
