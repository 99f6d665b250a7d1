import stdlib.video

workflow scenes(query: text) -> list<scene> {
    task found = video.scene_detect(query)
    return found
}
