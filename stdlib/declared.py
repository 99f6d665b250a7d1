"""The video, speech, vision and local/served LLM implementations, declared in one place.

Each names its devices, cost model, work unit and the entry a plan calls (its
module beside this file), so the compiler binds, prices and places them without
importing their heavy libraries. The order of a capability's implementations is
the order `choose` and a plan's fallbacks use (haar-ocr before open-clip).
"""

from __future__ import annotations

from murakkab.executors import Implementation

_LLM_CAPABILITIES = (
    "llm.answer",
    "llm.generate",
    "llm.chat",
    "llm.solve",
    "llm.critique",
    "llm.revise",
    "llm.summarize",
    "llm.compare",
    "code.generate",
    "code.write_tests",
    "code.revise",
    "code.rank",
)

IMPLEMENTATIONS = (
    Implementation(
        "video.scene_detect",
        "opencv.hist",
        ("cpu",),
        "tool",
        "murakkab.stdlib.video_opencv:scene_detect",
        "OpenCV: HSV-histogram distance between frames marks cuts; audio kept per scene.",
        requires=("cv2",),
        unit="video_s",
    ),
    Implementation(
        "video.frame_extract",
        "opencv.seek",
        ("cpu",),
        "tool",
        "murakkab.stdlib.video_opencv:frame_extract",
        "OpenCV: evenly spaced frames per scene, decoded by seeking.",
        requires=("cv2",),
        unit="frame",
    ),
    Implementation(
        "speech.transcribe",
        "faster-whisper",
        ("cpu", "gpu"),
        "tool",
        "murakkab.stdlib.speech_whisper:transcribe",
        "faster-whisper (CTranslate2) with packaged Whisper tiny.en / base weights.",
        requires=("faster_whisper",),
        unit="audio_s",
    ),
    Implementation(
        "speech.transcribe",
        "openai-whisper",
        ("cpu", "gpu"),
        "tool",
        "murakkab.stdlib.speech_whisper:transcribe_openai_whisper",
        "openai-whisper (PyTorch) on a local Whisper .pt checkpoint (MKC_WHISPER_CHECKPOINT).",
        requires=("whisper",),
        unit="audio_s",
        needs_env=("MKC_WHISPER_CHECKPOINT",),
    ),
    Implementation(
        "vision.detect_objects",
        "haar-ocr",
        ("cpu",),
        "tool",
        "murakkab.stdlib.vision_local:detect_objects",
        "OpenCV Haar cascades and RapidOCR text, ranked against the query with MiniLM.",
        requires=("cv2", "rapidocr_onnxruntime"),
        unit="frame",
    ),
    Implementation(
        "vision.detect_objects",
        "open-clip",
        ("cpu", "gpu"),
        "tool",
        "murakkab.stdlib.vision_clip:detect_objects",
        "open_clip with user-supplied weights: image-text similarity to the query.",
        requires=("open_clip",),
        unit="frame",
        needs_env=("MKC_CLIP_CHECKPOINT",),
    ),
    Implementation(
        "vision.read_text",
        "rapidocr",
        ("cpu",),
        "tool",
        "murakkab.stdlib.vision_local:read_text",
        "RapidOCR (ONNX) text detection and recognition.",
        requires=("rapidocr_onnxruntime",),
        unit="frame",
    ),
    *(
        Implementation(
            capability,
            "llama.cpp",
            ("cpu",),
            "llm",
            "murakkab.stdlib.llm_llamacpp:run",
            "llama-cpp-python with packaged GGUF models (SmolLM2-135M, Qwen2.5-Coder-0.5B).",
            requires=("llama_cpp",),
        )
        for capability in _LLM_CAPABILITIES
    ),
    *(
        Implementation(
            capability,
            "vllm",
            ("gpu",),
            "llm",
            "murakkab.stdlib.llm_vllm:run",
            "vLLM serving on NVIDIA GPUs with tensor parallelism (optional extra).",
            requires=("vllm",),
        )
        for capability in _LLM_CAPABILITIES
    ),
)
