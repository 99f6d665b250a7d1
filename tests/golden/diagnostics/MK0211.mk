import stdlib.video
import stdlib.speech
import stdlib.llm

workflow listen(query: text, videos: list<video>) -> text {
    task scenes = video.scene_detect(videos)
    task transcript = speech.transcribe(scenes) optional
    task answer = llm.critique(query, transcript)
    return answer
}
