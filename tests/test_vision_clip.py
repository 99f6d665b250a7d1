"""vision.detect_objects ("open-clip") against fake `open_clip` and `torch` modules.

open_clip and torch are not installed here and CLIP weights are the user's, so
FakeOpenClip embeds a one-colour frame as its RGB colour and a query as the colour
words it names: cosine similarity then ranks frames by colour, which pins the
ranking, the top_k cut, the tie order and the output shape of the real code
path (frame loading with PIL, batching, cosine, sorting).
"""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest
from murakkab.stdlib import vision_clip
from PIL import Image

from murakkab.executors import Call, ExecutorError

Frame = dict[str, Any]
COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}


class FakeTensor:
    """Just enough of torch.Tensor: rows of floats that move to a device."""

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows
        self.device = "cpu"

    def to(self, device: str) -> FakeTensor:
        self.device = device
        return self

    def float(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def tolist(self) -> list[list[float]]:
        return self.rows


class FakeClipModel:
    def __init__(self) -> None:
        self.evaluated = False
        self.image_batches: list[int] = []

    def eval(self) -> FakeClipModel:
        self.evaluated = True
        return self

    def encode_image(self, batch: FakeTensor) -> FakeTensor:
        self.image_batches.append(len(batch.rows))
        return FakeTensor(batch.rows)

    def encode_text(self, tokens: FakeTensor) -> FakeTensor:
        (words,) = tokens.rows
        vector = [0.0, 0.0, 0.0]
        for word in words:
            for i, value in enumerate(COLOURS.get(str(word), (0.0, 0.0, 0.0))):
                vector[i] += value
        return FakeTensor([vector])


class FakeOpenClip:
    """The fake `open_clip` module's state: what was loaded, with which arguments."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, str, str]] = []
        self.models: list[FakeClipModel] = []

    def create_model_and_transforms(
        self, architecture: str, pretrained: str, device: str
    ) -> tuple[FakeClipModel, None, Any]:
        self.loads.append((architecture, pretrained, device))
        model = FakeClipModel()
        self.models.append(model)
        return model, None, _colour

    def get_tokenizer(self, architecture: str) -> Any:
        return lambda texts: FakeTensor([str(text).lower().split() for text in texts])


def _colour(image: Any) -> list[float]:
    """The "preprocessing": the RGB of a (one-colour) frame, in 0..1."""
    return [value / 255 for value in image.getpixel((0, 0))]


@pytest.fixture
def fake_clip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenClip:
    state = FakeOpenClip()
    open_clip = types.ModuleType("open_clip")
    open_clip.create_model_and_transforms = state.create_model_and_transforms  # type: ignore[attr-defined]
    open_clip.get_tokenizer = state.get_tokenizer  # type: ignore[attr-defined]
    torch = types.ModuleType("torch")
    torch.no_grad = lambda: _NoGrad()  # type: ignore[attr-defined]
    torch.stack = lambda rows: FakeTensor([list(row) for row in rows])  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "open_clip", open_clip)
    monkeypatch.setitem(sys.modules, "torch", torch)
    checkpoint = tmp_path / "clip.bin"
    checkpoint.write_bytes(b"weights")
    monkeypatch.setenv("MKC_CLIP_CHECKPOINT", str(checkpoint))
    monkeypatch.delenv("MKC_CLIP_MODEL", raising=False)
    monkeypatch.setattr(vision_clip, "_INSTANCES", {})
    return state


class _NoGrad:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _frame(folder: Path, name: str, rgb: tuple[int, int, int], scene: int, time_s: float) -> Frame:
    path = folder / f"{name}.png"
    Image.new("RGB", (8, 8), rgb).save(path)
    return {"kind": "image", "path": str(path), "video": "v.mp4", "scene": scene, "time_s": time_s}


@pytest.fixture
def frames(tmp_path: Path) -> dict[str, Frame]:
    return {
        "red": _frame(tmp_path, "red", (255, 0, 0), 0, 0.0),
        "green": _frame(tmp_path, "green", (0, 255, 0), 1, 3.0),
        "orange": _frame(tmp_path, "orange", (255, 128, 0), 2, 6.0),
        "blue": _frame(tmp_path, "blue", (0, 0, 255), 3, 9.0),
    }


def _detect(frames: list[Frame], query: str, top_k: int = 5, **extra: Any) -> list[Frame]:
    call = Call("vision.detect_objects", (frames, query), {"top_k": top_k}, **extra)
    return vision_clip.detect_objects(call)


def test_frames_are_ranked_by_similarity_to_the_query(
    fake_clip: FakeOpenClip, frames: dict[str, Frame]
) -> None:
    given = [frames["blue"], frames["orange"], frames["green"], frames["red"]]
    found = _detect(given, "something red")
    assert [Path(f["path"]).stem for f in found] == ["red", "orange", "green", "blue"]
    # green and blue both score 0: a tie keeps time order, whatever order they came in
    assert [f["score"] for f in found] == [1.0, 0.8937, 0.0, 0.0]


def test_each_result_is_the_frame_with_labels_text_and_score_added(
    fake_clip: FakeOpenClip, frames: dict[str, Frame]
) -> None:
    original = dict(frames["red"])
    (best,) = _detect(list(frames.values()), "red", top_k=1)
    assert best == {**original, "labels": [], "text": "", "score": 1.0}
    assert isinstance(best["score"], float)
    assert frames["red"] == original  # a copy: the input frame is left as it was


def test_top_k_cuts_the_ranking(fake_clip: FakeOpenClip, frames: dict[str, Frame]) -> None:
    found = _detect(list(frames.values()), "green or blue", top_k=2)
    assert [Path(f["path"]).stem for f in found] == ["green", "blue"]
    with pytest.raises(ExecutorError, match="top_k must be at least 1, not 0"):
        _detect(list(frames.values()), "red", top_k=0)


def test_no_frames_give_no_results_without_loading_a_model(fake_clip: FakeOpenClip) -> None:
    assert _detect([], "red") == []
    assert fake_clip.loads == []


def test_the_model_is_loaded_once_from_the_checkpoint_on_the_cpu(
    fake_clip: FakeOpenClip, frames: dict[str, Frame]
) -> None:
    _detect([frames["red"]], "red")
    _detect([frames["blue"]], "blue")
    assert fake_clip.loads == [("ViT-B-32", vision_clip.os.environ["MKC_CLIP_CHECKPOINT"], "cpu")]
    assert fake_clip.models[0].evaluated


def test_open_instance_uses_the_first_gpu_of_the_call_and_the_named_architecture(
    fake_clip: FakeOpenClip, monkeypatch: pytest.MonkeyPatch, frames: dict[str, Frame]
) -> None:
    monkeypatch.setenv("MKC_CLIP_MODEL", "ViT-L-14")
    call = Call("vision.detect_objects", ([], "q"), {}, device="gpu:a100x1", gpu_ids=(3, 5))
    instance = vision_clip.open_instance(call)
    assert instance.device == "cuda:3"
    assert fake_clip.loads[0][0] == "ViT-L-14" and fake_clip.loads[0][2] == "cuda:3"
    found = _detect([frames["red"]], "red", instance=instance)
    assert found[0]["score"] == 1.0
    assert len(fake_clip.loads) == 1  # the call's instance is used, not the module cache


def test_frames_are_encoded_in_batches(
    fake_clip: FakeOpenClip, monkeypatch: pytest.MonkeyPatch, frames: dict[str, Frame]
) -> None:
    monkeypatch.setattr(vision_clip, "BATCH_SIZE", 3)
    _detect(list(frames.values()), "red")
    assert fake_clip.models[0].image_batches == [3, 1]


def test_cancel_stops_the_call(fake_clip: FakeOpenClip, frames: dict[str, Frame]) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExecutorError, match="cancelled"):
        _detect(list(frames.values()), "red", cancel=cancel)


def test_a_frame_that_is_not_an_image_is_named(fake_clip: FakeOpenClip, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    frame = {"kind": "image", "path": str(bad), "video": "v.mp4", "scene": 0, "time_s": 0.0}
    with pytest.raises(ExecutorError, match="cannot decode the frame image .*bad.jpg"):
        _detect([frame], "red")
    with pytest.raises(ExecutorError, match="a frame must be an image dict with a path"):
        _detect([{"kind": "image"}], "red")


def test_an_unset_or_missing_checkpoint_says_what_to_set(
    fake_clip: FakeOpenClip, monkeypatch: pytest.MonkeyPatch, frames: dict[str, Frame]
) -> None:
    monkeypatch.delenv("MKC_CLIP_CHECKPOINT")
    with pytest.raises(ExecutorError, match="set MKC_CLIP_CHECKPOINT .*nothing is downloaded"):
        _detect([frames["red"]], "red")
    monkeypatch.setenv("MKC_CLIP_CHECKPOINT", "/nonexistent/clip.bin")
    with pytest.raises(ExecutorError, match="MKC_CLIP_CHECKPOINT=/nonexistent/clip.bin is not a"):
        _detect([frames["red"]], "red")
    assert fake_clip.loads == []


def test_missing_open_clip_names_the_pip_commands(
    fake_clip: FakeOpenClip, monkeypatch: pytest.MonkeyPatch, frames: dict[str, Frame]
) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import open_clip now fails
    with pytest.raises(ExecutorError, match="needs open_clip: pip install open_clip_torch") as info:
        _detect([frames["red"]], "red")
    assert "torch==2.13.0" in str(info.value)


def test_a_checkpoint_open_clip_refuses_is_named(
    fake_clip: FakeOpenClip, monkeypatch: pytest.MonkeyPatch, frames: dict[str, Frame]
) -> None:
    def refuse(architecture: str, pretrained: str, device: str) -> None:
        raise RuntimeError("size mismatch for visual.proj")

    monkeypatch.setattr(sys.modules["open_clip"], "create_model_and_transforms", refuse)
    with pytest.raises(ExecutorError, match="cannot load MKC_CLIP_CHECKPOINT=.*size mismatch"):
        _detect([frames["red"]], "red")
