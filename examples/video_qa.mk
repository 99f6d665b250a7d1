# Video Q/A, the seed workflow of the reference data: scenes, frames and a
# transcript feed an object detector and an LLM. On a GPU cluster the optimizer
# picks among the reference models; on a CPU machine among the local GGUF models
# (llama.cpp). Each configuration is priced by its profile: `mkc profile`
# measures them on this machine. Make the test video with
# `python scripts/make_media.py media`.
import stdlib.video
import stdlib.speech
import stdlib.vision
import stdlib.llm

workflow video_qa(query: text, videos: list<video>) -> text {
    "Answer a question about one or more videos."
    task scenes = video.scene_detect(videos)
    task frames = video.frame_extract(scenes) with frames in {1, 5, 10}
    # The transcript and the detector help most questions; the optimizer may drop either.
    task transcript = speech.transcribe(scenes) optional
    task objects = vision.detect_objects(frames, query) optional
    # Knobs of the reference profiles (model, GPU type, tensor parallelism) and the
    # local CPU models; answers are short.
    task answer = llm.answer(query, [objects, transcript])
        with model in {"gemma-3-27b", "llava-onevision-7b", "nvlm-d-72b", "qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"}, gpu in {"a100", "h100"}, tp in {4, 8}, max_tokens = 64
    return answer
}

run video_qa("How many engines does the rocket have?", ["media/lecture.mp4"])
    slo quality >= good, latency < 30 s, cost < 2 usd
    minimize energy
