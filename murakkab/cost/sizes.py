"""How much data each capability produces, and how much work a tool call is.

Sizes are estimates (see `Assumptions`); each rule says what it assumes.
"""

from __future__ import annotations

from murakkab.cost.config import Assumptions, Size, number
from murakkab.ir.core import Literal

TOKENS_PER_OCR_FRAME = 30.0  # on-screen text read from one frame
TOKENS_PER_PAGE = 2000.0  # text of a fetched web page


def output_size(
    capability: str, knobs: dict[str, Literal], inputs: Size, assume: Assumptions, llm_tokens: float
) -> Size:
    video_s = inputs.get("video_s", 0.0)
    if capability == "video.scene_detect":
        scenes = max(1.0, video_s / assume.scene_s) if video_s else 0.0
        return {"video_s": video_s, "scenes": scenes, "items": scenes}
    if capability == "video.frame_extract":
        frames = inputs.get("scenes", 0.0) * (number(knobs.get("frames"), 1))
        return {"video_s": video_s, "frames": frames, "items": frames}
    if capability == "speech.transcribe":
        return {"tokens": video_s * assume.speech_tokens_per_s, "items": 1.0}
    if capability == "vision.detect_objects":
        frames = min(inputs.get("frames", 0.0), (number(knobs.get("top_k"), 5)))
        return {"frames": frames, "items": frames}
    if capability == "vision.read_text":
        return {"tokens": inputs.get("frames", 0.0) * TOKENS_PER_OCR_FRAME, "items": 1.0}
    if capability == "text.embed":
        return {"items": inputs.get("items", 0.0)}
    if capability == "text.rank":
        kept = min(inputs.get("items", 0.0), (number(knobs.get("top_k"), 5)))
        share = inputs.get("tokens", 0.0) / max(inputs.get("items", 1.0), 1.0)
        return {"items": kept, "tokens": kept * share}
    if capability == "web.fetch":
        return {"tokens": TOKENS_PER_PAGE, "items": 1.0}
    return {"tokens": llm_tokens, "items": 1.0}


def tool_work(unit: str, inputs: Size, outputs: Size) -> float:
    """A tool call's work in its profile's unit: what it reads, or, for a tool
    that makes the units (frame extraction makes frames), what it writes."""
    if unit in ("video_s", "audio_s"):
        return inputs.get("video_s", 0.0)
    if unit == "frame":
        return inputs.get("frames") or outputs.get("frames", 0.0)
    if unit == "item":
        return inputs.get("items", 0.0)
    return 1.0  # "call"


def prompt_tokens(inputs: Size, assume: Assumptions) -> float:
    """What an LLM call reads: text tokens plus images as tokens."""
    return inputs.get("tokens", 0.0) + inputs.get("frames", 0.0) * assume.image_tokens
