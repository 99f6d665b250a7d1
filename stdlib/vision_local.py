"""Frames on the CPU: `vision.read_text` ("rapidocr") and `vision.detect_objects` ("haar-ocr").

Real: `read_text` runs RapidOCR (`rapidocr-onnxruntime` 1.4.4, Apache-2.0) on each
frame: PaddleOCR's PP-OCRv4 text detector, its mobile v2.0 angle classifier and
its PP-OCRv4 recogniser (Chinese + English character set), as the ONNX files
shipped inside that wheel, run by onnxruntime. Nothing is downloaded. Lines
whose recognition score is below MIN_CONFIDENCE are dropped; a line already read
on the previous frame of the same scene is not repeated. The result is one line
per frame with text, in time order: "[scene 2, 12.0 s] PARIS 1889 / BLUE DOOR".

`detect_objects` describes each frame with OpenCV's stock Haar cascades (the
`haarcascade_*.xml` files of `cv2.data.haarcascades`, trained by the OpenCV
project: frontal and profile faces, full bodies, cat faces) as
counted labels ("2 faces", "a cat face"), plus the frame's OCR text, then ranks
the frames by MiniLM cosine similarity of the query to that description
(`text_tools.encoder()`, all-MiniLM-L6-v2 int8) and returns the `top_k` best as
image dicts with "labels", "text" and "score" added, best first (ties keep time
order).

Limits: Haar cascades are crude 2001-era detectors: frontal, upright, well-lit
faces are found reliably; profile faces, bodies and cats less so, and they do
fire on texture and on glyphs (so OCR boxes are blanked before the cascades
run, which also hides anything under the text). Nothing else (cars, towers,
dogs) is recognised; a query about such things is matched on the OCR text only.
The OCR models read printed Chinese and Latin script (English words, digits);
handwriting, stylised fonts, other scripts and text under about 10 px high are
missed. Frames are detected at most DETECT_SIDE px on their long side.
The engines are loaded once per process (about 0.5 s) and kept, with what
detect_objects found on each frame file (a frame ranked for many queries is read
once; `load_fresh` gives new engines with no memory); RapidOCR
gets `call.cores` onnxruntime threads, and one lock per engine serialises
calls on it (cascades are not thread-safe).

Install: `pip install "opencv-python-headless<5"` and RapidOCR with --no-deps
(INSTALL_RAPIDOCR): its own requirements name `opencv-python`, which pip would
install beside the headless build (both own the `cv2` package) and, unpinned,
at version 5, replacing the cv2 the video executors use.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from murakkab.executors import Call, ExecutorError

MIN_CONFIDENCE = 0.6  # RapidOCR recognition score (0..1) below which a line is dropped
MEMO_FRAMES = 4096  # frames whose findings the engines remember
DETECT_SIDE = 640  # Haar cascades run on the frame scaled to at most this long side
INSTALL_CV2 = 'pip install "opencv-python-headless<5"'
INSTALL_RAPIDOCR = (
    "pip install --no-deps rapidocr-onnxruntime==1.4.4 && "
    "pip install pyclipper shapely Pillow PyYAML six numpy onnxruntime "
    "(--no-deps: its requirements would install opencv-python, version 5, over the "
    "opencv-python-headless<5 that provides cv2)"
)

# label (singular, plural), what it shows, cascade file, scaleFactor, minNeighbors,
# min size as a fraction of the frame's short side (tuned on skimage's sample photographs)
_CASCADES: tuple[tuple[str, str, str, str, float, int, float], ...] = (
    ("face", "faces", "a person", "haarcascade_frontalface_default.xml", 1.1, 6, 0.06),
    ("profile face", "profile faces", "a person", "haarcascade_profileface.xml", 1.1, 6, 0.06),
    (
        "person (full body)",
        "people (full body)",
        "a person",
        "haarcascade_fullbody.xml",
        1.1,
        4,
        0.25,
    ),
    ("cat face", "cat faces", "a cat", "haarcascade_frontalcatface.xml", 1.05, 3, 0.08),
)
_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass
class Engines:
    """RapidOCR and the Haar cascades of one process; each behind its own lock."""

    ocr: Any  # rapidocr_onnxruntime.RapidOCR
    threads: int
    cascades: dict[str, Any] = field(default_factory=dict)  # label -> cv2.CascadeClassifier
    ocr_lock: threading.Lock = field(default_factory=threading.Lock)
    cascade_lock: threading.Lock = field(default_factory=threading.Lock)
    # frame file -> (labels, text): what detect_objects found there (see _seen)
    memo: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = field(default_factory=dict)
    memo_lock: threading.Lock = field(default_factory=threading.Lock)


def open_instance(call: Call) -> Engines:
    """The runtime's instance hook: the process's engines for `call.cores` threads."""
    return _engines(max(1, int(call.cores)))


def load_fresh(call: Call) -> Engines:
    """New engines, past the process cache: for a baseline that loads models per call."""
    return _load_engines.__wrapped__(max(1, int(call.cores)))


def read_text(call: Call) -> str:
    """vision.read_text(frames): the text on the frames, one line per frame, time order."""
    (frames,) = call.args
    engines = _engines_of(call)
    lines: list[str] = []
    previous: tuple[Any, set[str]] = (object(), set())  # (scene, lines read there)
    for frame in _time_order(_frames(frames, "vision.read_text")):
        _check_cancel(call, "vision.read_text")
        found = _lines(_ocr(engines, _image(frame)))
        scene = frame.get("scene")
        seen = previous[1] if scene is not None and scene == previous[0] else set()
        fresh = [text for text in dict.fromkeys(found) if text.casefold() not in seen]
        previous = (scene, {text.casefold() for text in found})
        if fresh:
            lines.append(f"[{_where(frame)}] " + " / ".join(fresh))
    return "\n".join(lines)


def detect_objects(call: Call) -> list[dict[str, Any]]:
    """vision.detect_objects(frames, query): the `top_k` frames most relevant to the query."""
    frames, query = call.args
    top_k = int(call.knobs.get("top_k", 5))
    if top_k < 1:
        raise ExecutorError(f"vision.detect_objects: top_k must be at least 1, not {top_k}")
    engines = _engines_of(call)
    described: list[dict[str, Any]] = []
    for frame in _time_order(_frames(frames, "vision.detect_objects")):
        _check_cancel(call, "vision.detect_objects")
        labels, text = _seen(engines, frame)
        described.append({**frame, "labels": labels, "text": text})
    if not described:
        return []
    from murakkab.stdlib.text_tools import encoder

    descriptions = [describe(frame["labels"], frame["text"]) for frame in described]
    scores = encoder().similarities(str(query), descriptions)
    for frame, score in zip(described, scores, strict=True):
        frame["score"] = round(float(score), 4)
    ranked = sorted(described, key=lambda frame: -frame["score"])  # stable: ties keep time order
    return ranked[:top_k]


def describe(labels: Sequence[str], text: str) -> str:
    """The sentence a frame is ranked by: what was detected and what is written on it.

    A frame with neither is described by "" (it matches no query well: "A photo."
    would match "who is in the picture?" better than a frame with a face does)."""
    parts = []
    if labels:
        shows = {
            what
            for singular, plural, what, *_ in _CASCADES
            for label in labels
            if label.endswith((f" {singular}", f" {plural}"))
        }
        parts.append(f"A photo of {' and '.join(sorted(shows))}, showing {', '.join(labels)}.")
    if text:
        parts.append(f'Text on screen: "{text}".')
    return " ".join(parts)


def _count(n: int, singular: str, plural: str) -> str:
    if n == 1:
        return ("an " if singular[0] in "aeiou" else "a ") + singular
    return f"{_WORDS.get(n, str(n))} {plural}"


def _detect(engines: Engines, image: Any) -> list[str]:
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        gray = cv2.resize(
            gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    gray = cv2.equalizeHist(gray)
    short = min(gray.shape[:2])
    labels = []
    with engines.cascade_lock:
        for singular, plural, _what, _file, factor, neighbours, fraction in _CASCADES:
            side = max(24, round(short * fraction))
            found = engines.cascades[singular].detectMultiScale(
                gray, scaleFactor=factor, minNeighbors=neighbours, minSize=(side, side)
            )
            if len(found):
                labels.append(_count(len(found), singular, plural))
    return labels


def _seen(engines: Engines, frame: dict[str, Any]) -> tuple[list[str], str]:
    """What the cascades and OCR find on a frame, remembered by the engines per
    image file (path, size, mtime): a frame asked about by many queries is read once."""
    try:
        stat = os.stat(frame["path"])
        key: tuple[Any, ...] | None = (str(frame["path"]), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None  # _image reports the missing file
    with engines.memo_lock:
        if key is not None and key in engines.memo:
            remembered, text = engines.memo[key]
            return list(remembered), text
    image = _image(frame)
    found = _ocr(engines, image)
    labels = _detect(engines, _blank_text(image, found))
    text = " / ".join(dict.fromkeys(_lines(found)))
    if key is not None:
        with engines.memo_lock:
            if len(engines.memo) >= MEMO_FRAMES:
                engines.memo.pop(next(iter(engines.memo)))  # the oldest
            engines.memo[key] = (tuple(labels), text)
    return labels, text


def _ocr(engines: Engines, image: Any) -> list[Any]:
    """RapidOCR's [box, text, score] for each text box it finds."""
    with engines.ocr_lock:
        result, _elapsed = engines.ocr(image)
    return list(result or ())


def _blank_text(image: Any, found: list[Any]) -> Any:
    """The image with every OCR box filled with the image's median colour: glyphs
    make the cascades (the cat-face one above all) fire."""
    if not found:
        return image
    import cv2
    import numpy as np

    blanked = image.copy()
    colour = [int(value) for value in np.median(image.reshape(-1, image.shape[2]), axis=0)]
    for box, _text, _score in found:
        cv2.fillPoly(blanked, [np.asarray(box, dtype=np.int32)], colour)
    return blanked


def _lines(found: list[Any]) -> list[str]:
    """The lines read with a score of at least MIN_CONFIDENCE, top to bottom;
    boxes on one row (vertical centres within half a box height) are joined left
    to right with spaces, so "PARIS" "1889" reads "PARIS 1889"."""
    boxes = []  # (centre y, height, left x, text)
    for box, text, score in found:
        text = " ".join(str(text).split())
        if text and float(score) >= MIN_CONFIDENCE:
            ys = [float(point[1]) for point in box]
            left = min(float(point[0]) for point in box)
            boxes.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), left, text))
    rows: list[list[tuple[float, float, float, str]]] = []
    for entry in sorted(boxes):
        if rows and abs(entry[0] - rows[-1][0][0]) <= max(entry[1], rows[-1][0][1]) / 2:
            rows[-1].append(entry)
        else:
            rows.append([entry])
    return [" ".join(text for *_, text in sorted(row, key=lambda e: e[2])) for row in rows]


def _image(frame: dict[str, Any]) -> Any:
    import cv2

    path = frame["path"]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ExecutorError(f"cannot decode the frame image {path} (missing or not an image)")
    return image


def _frames(frames: Any, capability: str) -> list[dict[str, Any]]:
    checked = []
    for frame in frames or ():
        if not isinstance(frame, dict) or not frame.get("path"):
            raise ExecutorError(
                f"{capability}: a frame must be an image dict with a path: {frame!r}"
            )
        checked.append(frame)
    return checked


def _time_order(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Frames by time (a frame without time_s keeps its place among those without)."""
    if all(isinstance(frame.get("time_s"), int | float) for frame in frames):
        return sorted(frames, key=lambda frame: float(frame["time_s"]))
    return frames


def _where(frame: dict[str, Any]) -> str:
    parts = []
    if frame.get("scene") is not None:
        parts.append(f"scene {frame['scene']}")
    if isinstance(frame.get("time_s"), int | float):
        parts.append(f"{float(frame['time_s']):.1f} s")
    return ", ".join(parts) or str(frame["path"])


def _check_cancel(call: Call, capability: str) -> None:
    if call.cancel is not None and call.cancel.is_set():
        raise ExecutorError(f"{capability}: cancelled")


def _engines_of(call: Call) -> Engines:
    if isinstance(call.instance, Engines):
        return call.instance
    return open_instance(call)


_LOCK = threading.Lock()


def _engines(threads: int) -> Engines:
    with _LOCK:  # two threads asking first load the engines once
        return _load_engines(threads)


@functools.cache
def _load_engines(threads: int) -> Engines:
    try:
        import cv2
    except ImportError as error:
        raise ExecutorError(f"the vision executors need OpenCV (cv2): {INSTALL_CV2}") from error
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:
        raise ExecutorError(
            f"the vision executors need RapidOCR ({error.name} is missing): {INSTALL_RAPIDOCR}"
        ) from error
    folder = importlib.import_module("cv2.data").haarcascades  # cv2's stubs omit cv2.data
    cascades = {}
    for singular, _plural, _what, name, *_tuning in _CASCADES:
        path = f"{folder}{name}"
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise ExecutorError(f"OpenCV's Haar cascade {path} is missing: {INSTALL_CV2}")
        cascades[singular] = cascade
    ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    return Engines(ocr, threads, cascades)
