# Video Q/A, the seed workflow of the reference data: scenes, frames and a
# transcript feed an object detector and a multimodal LLM.
import stdlib.video
import stdlib.speech
import stdlib.vision
import stdlib.llm

workflow video_qa(query: text, videos: list<video>) -> text {
    "Answer a question about one or more videos."
    task scenes = video.scene_detect(videos)
    task frames = video.frame_extract(scenes) with frames in {1, 5, 10}
    # The transcript helps most questions; the optimizer may drop it to save time.
    task transcript = speech.transcribe(scenes) optional
    task objects = vision.detect_objects(frames, query)
    # Knobs of the reference profiles: model, GPU type and tensor parallelism.
    task answer = llm.answer(query, [objects, transcript])
        with model in {"gemma-3-27b", "llava-onevision-7b", "nvlm-d-72b"}, gpu in {"a100", "h100"}, tp in {4, 8}
    return answer
}

run video_qa("What is the name of the person wearing the red dress?", ["media/road_trip.mp4"])
    slo quality >= good, latency < 30 s, cost < 2 usd
    minimize energy
