"""`vision.detect_objects` ("open-clip"): frames ranked by CLIP image-text similarity.

Real: open_clip (`open_clip_torch`) embeds each frame (its own preprocessing:
resize and centre crop to the model's input size) and the query text, and the
frames are ranked by the cosine similarity of the two embeddings. The weights
are the user's: MKC_CLIP_CHECKPOINT names a local checkpoint file (e.g. an
`open_clip_pytorch_model.bin` or OpenAI `ViT-B-32.pt`) for the architecture
MKC_CLIP_MODEL (default "ViT-B-32"). The checkpoint path is handed to
open_clip as `pretrained`, so nothing is downloaded (the tokenizer of the
OpenAI-style architectures is bundled with open_clip).

The result matches `vision_local.detect_objects`: the `top_k` frames as
image dicts with "labels", "text" and "score" added, best first, ties in
time order. CLIP neither detects nor reads, so "labels" is [] and "text" is
""; "score" is the cosine similarity (-1..1, about 0.2-0.35 for a good match
with ViT-B-32), rounded to 4 places. A query is compared with each frame as
given; prompt wording ("a photo of ...") changes the scores.

Device: the CPU (fp32), or with `Call.device` "gpu:..." the first of
`Call.gpu_ids` as cuda:N (also fp32). The model is loaded once per process
per (checkpoint, architecture, device): by `open_instance(call)` when the
runtime runs the plan, else through a module-level cache. Frames are encoded
BATCH_SIZE at a time; the run's cancel event is checked between frames.

Limits: CLIP scores whole frames; small objects and text in a frame weigh
little. Architectures whose tokenizer lives on the Hugging Face hub (hf-hub:
names) are refused by open_clip offline.

Install: the torch==2.13.0 CPU wheel first
(`pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`),
then `pip install open_clip_torch` (else pip pulls the CUDA build of torch).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from murakkab.stdlib.vision_local import _check_cancel, _frames, _time_order

from murakkab.executors import Call, ExecutorError

CAPABILITY = "vision.detect_objects"
CHECKPOINT_ENV = "MKC_CLIP_CHECKPOINT"
MODEL_ENV = "MKC_CLIP_MODEL"
DEFAULT_MODEL = "ViT-B-32"
BATCH_SIZE = 16  # frames encoded per forward pass
INSTALL = (
    "pip install open_clip_torch (install the torch==2.13.0 CPU wheel first: "
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)"
)


@dataclass
class ClipInstance:
    """A loaded open_clip model, its image preprocessing and tokenizer; one call at a time."""

    model: Any  # open_clip CLIP, in eval mode on `device`
    preprocess: Any  # PIL image -> tensor
    tokenizer: Any  # list[str] -> token tensor
    device: str
    lock: threading.Lock = field(default_factory=threading.Lock)


def open_instance(call: Call) -> ClipInstance:
    """The runtime's instance hook: the model of MKC_CLIP_CHECKPOINT on the call's device."""
    checkpoint, architecture = _settings()
    return _load(checkpoint, architecture, _device(call))


def detect_objects(call: Call) -> list[dict[str, Any]]:
    """vision.detect_objects(frames, query): the `top_k` frames most similar to the query."""
    frames, query = call.args
    top_k = int(call.knobs.get("top_k", 5))
    if top_k < 1:
        raise ExecutorError(f"{CAPABILITY}: top_k must be at least 1, not {top_k}")
    ordered = _time_order(_frames(frames, CAPABILITY))
    if not ordered:
        return []
    instance = call.instance if isinstance(call.instance, ClipInstance) else _cached(call)
    scores = _similarities(instance, str(query), ordered, call)
    described = [
        {**frame, "labels": [], "text": "", "score": round(score, 4)}
        for frame, score in zip(ordered, scores, strict=True)
    ]
    ranked = sorted(described, key=lambda frame: -frame["score"])  # stable: ties keep time order
    return ranked[:top_k]


def _similarities(
    instance: ClipInstance, query: str, frames: Sequence[dict[str, Any]], call: Call
) -> list[float]:
    """Cosine similarity of the query's embedding to each frame's, in frame order."""
    import torch

    with instance.lock, torch.no_grad():
        tokens = instance.tokenizer([query]).to(instance.device)
        text = _rows(instance.model.encode_text(tokens))[0]
        images: list[list[float]] = []
        for start in range(0, len(frames), BATCH_SIZE):
            pixels = []
            for frame in frames[start : start + BATCH_SIZE]:
                _check_cancel(call, CAPABILITY)
                pixels.append(instance.preprocess(_image(frame)))
            batch = torch.stack(pixels).to(instance.device)
            images.extend(_rows(instance.model.encode_image(batch)))
    return [_cosine(text, image) for image in images]


def _rows(features: Any) -> list[list[float]]:
    rows: list[list[float]] = features.float().cpu().tolist()
    return rows


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def _image(frame: dict[str, Any]) -> Any:
    from PIL import Image

    path = frame["path"]
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as error:
        raise ExecutorError(
            f"cannot decode the frame image {path} (missing or not an image)"
        ) from error


def _settings() -> tuple[str, str]:
    """(checkpoint path, architecture) from the environment, checked."""
    checkpoint = os.environ.get(CHECKPOINT_ENV, "").strip()
    if not checkpoint:
        raise ExecutorError(
            f"{CAPABILITY} (open-clip) needs local CLIP weights: set {CHECKPOINT_ENV} to the "
            f"path of an open_clip checkpoint file and {MODEL_ENV} to its architecture "
            f"(default {DEFAULT_MODEL}); nothing is downloaded"
        )
    if not Path(checkpoint).is_file():
        raise ExecutorError(f"{CHECKPOINT_ENV}={checkpoint} is not a file")
    architecture = os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL
    return checkpoint, architecture


def _device(call: Call) -> str:
    """ "cpu", or "cuda:N" for the first GPU the call holds."""
    if call.device.startswith("gpu"):
        return f"cuda:{call.gpu_ids[0] if call.gpu_ids else 0}"
    return "cpu"


_INSTANCES: dict[tuple[str, str, str], ClipInstance] = {}
_LOCK = threading.Lock()


def _cached(call: Call) -> ClipInstance:
    checkpoint, architecture = _settings()
    key = (checkpoint, architecture, _device(call))
    with _LOCK:  # two threads asking first load the model once
        if key not in _INSTANCES:
            _INSTANCES[key] = _load(*key)
        return _INSTANCES[key]


def _load(checkpoint: str, architecture: str, device: str) -> ClipInstance:
    try:
        import open_clip  # imports torch: a missing torch is named as error.name
    except ImportError as error:
        raise ExecutorError(f"{CAPABILITY} (open-clip) needs {error.name}: {INSTALL}") from error
    try:
        model, _train, preprocess = open_clip.create_model_and_transforms(
            architecture, pretrained=checkpoint, device=device
        )
        tokenizer = open_clip.get_tokenizer(architecture)
    except Exception as error:  # an unknown architecture, a checkpoint of another one
        raise ExecutorError(
            f"{CAPABILITY} (open-clip): cannot load {CHECKPOINT_ENV}={checkpoint} as "
            f"{MODEL_ENV}={architecture}: {error}"
        ) from error
    model.eval()
    return ClipInstance(model, preprocess, tokenizer, device)
