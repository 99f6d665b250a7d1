import stdlib.video

workflow frames(videos: list<video>) -> list<image> {
    task scenes = video.scene_detect(videos)
    task shots = video.frame_extract(scenes) on gpu
    return shots
}
