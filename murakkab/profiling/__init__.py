"""Measuring this machine's executors: what `mkc profile` and bench/video_qa.py share.

| module | concept |
|---|---|
| `measure.py` | one piece of work measured: wall, CPU, peak memory, RAPL or modelled energy |
| `questions.py` | the question set of the test media and how an answer is marked |
| `videoqa.py` | video Q/A configurations run stage by stage on the real executors |
| `profiler.py` | tools, local LLMs and video Q/A configurations measured into profiles |

docs/profiling.md describes them for users.
"""

# What `mkc profile` measures (the CLI lists them without importing the profiler).
TARGETS = (
    "video.scene_detect",
    "video.frame_extract",
    "speech.transcribe",
    "vision.detect_objects",
    "vision.read_text",
    "llm.answer",
    "video_qa",
)
