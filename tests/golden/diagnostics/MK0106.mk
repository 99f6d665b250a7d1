import stdlib.video

workflow frames(videos: list<video>) -> list<image> {
    task scenes = video.scene_detect(videos) with threshold = 1e999
    task shots = video.frame_extract(scenes)
    return shots
}
