import stdlib.video

workflow scenes(videos: list<video>) -> list<scene> {
    task found = video.scene_detector(videos)
    return found
}
