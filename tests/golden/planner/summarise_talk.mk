# Planned by `mkc plan` from the workflow's description; edit it freely.
# Planner: default planner: type-directed search, minilm similarity.
import stdlib.llm
import stdlib.speech
import stdlib.video

workflow summarise_talk_video(video: video) -> text {
    "Summarise the talk in this video."
    # video.scene_detect: turns video into scenes for the next step
    task scenes = video.scene_detect([video])
    # speech.transcribe: turns scenes into text for the next step
    task transcript = speech.transcribe(scenes) with model in {"whisper-tiny.en", "whisper-base"}
    # llm.summarize does "Summarise the talk in this video" (0.44 similar)
    task summary = llm.summarize([transcript])
        with model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"}
    return summary
}

run summarise_talk_video("media/lecture.mp4")
    slo latency < 30 s
    minimize energy
