"""speech.transcribe ("openai-whisper"): its declaration, its priors, and the entry
run against a fake `whisper` module (openai-whisper needs torch, not installed here).

The unset-checkpoint error is tested in tests/test_speech_whisper.py.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from murakkab.stdlib import speech_whisper

from murakkab.executors import Call, ExecutorError, implementations_of
from murakkab.profiles.priors import shipped_priors
from murakkab.profiles.schema import ToolProfile


def test_openai_whisper_is_declared_after_faster_whisper() -> None:
    impls = implementations_of("speech.transcribe")
    assert [i.name for i in impls][:2] == ["faster-whisper", "openai-whisper"]
    impl = impls[1]
    assert (impl.devices, impl.cost_model, impl.unit, impl.requires) == (
        ("cpu", "gpu"),
        "tool",
        "audio_s",
        ("whisper",),
    )
    assert impl.load() is speech_whisper.transcribe_openai_whisper


@pytest.mark.parametrize("model", ["whisper-tiny.en", "whisper-base"])
def test_openai_whisper_has_assumed_priors_per_device(model: str) -> None:
    tools = {p.key: p for p in shipped_priors() if isinstance(p, ToolProfile)}
    for device in ("cpu", "a100", "h100"):
        profile = tools[f"tool/speech.transcribe/openai-whisper:{model}/{device}"]
        assert profile.unit == "audio_s" and "assumed [T1]" in profile.source
        faster = tools[f"tool/speech.transcribe/faster-whisper:{model}/{device}"]
        assert profile.seconds_per_unit > faster.seconds_per_unit  # PyTorch is the slower


class FakeWhisperModel:
    def __init__(self) -> None:
        self.transcribed: list[str] = []

    def transcribe(self, video: str, word_timestamps: bool, beam_size: int) -> dict[str, Any]:
        assert word_timestamps
        self.transcribed.append(video)
        words = [(0.0, 1.0, " Hello"), (1.0, 2.0, " there."), (5.0, 6.0, " Goodbye.")]
        return {"segments": [{"words": [{"start": s, "end": e, "word": w} for s, e, w in words]}]}


@pytest.fixture
def fake_whisper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str]]:
    loads: list[tuple[str, str]] = []
    whisper = types.ModuleType("whisper")

    def load_model(checkpoint: str, device: str) -> FakeWhisperModel:
        loads.append((checkpoint, device))
        return FakeWhisperModel()

    whisper.load_model = load_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "whisper", whisper)
    monkeypatch.setattr(speech_whisper, "_OPENAI", {})
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"weights")
    monkeypatch.setenv("MKC_WHISPER_CHECKPOINT", str(checkpoint))
    return loads


def _scene(video: Path, index: int, start: float, end: float) -> dict[str, Any]:
    return {"kind": "scene", "video": str(video), "index": index, "start_s": start, "end_s": end}


def test_the_checkpoint_is_loaded_once_and_words_go_to_their_scenes(
    fake_whisper: list[tuple[str, str]], tmp_path: Path
) -> None:
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"not decoded by the fake")
    scenes = [_scene(video, 1, 4.0, 8.0), _scene(video, 0, 0.0, 4.0)]
    call = Call("speech.transcribe", (scenes,), {"model": "whisper-base"})
    expected = "[scene 0 0.0-4.0s] Hello there.\n[scene 1 4.0-8.0s] Goodbye."
    assert speech_whisper.transcribe_openai_whisper(call) == expected
    speech_whisper.transcribe_openai_whisper(call)
    assert fake_whisper == [(str(tmp_path / "base.pt"), "cpu")]


def test_a_gpu_call_loads_on_its_first_gpu(
    fake_whisper: list[tuple[str, str]], tmp_path: Path
) -> None:
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"x")
    call = Call(
        "speech.transcribe", ([_scene(video, 0, 0.0, 4.0)],), {}, device="gpu:h100x1", gpu_ids=(2,)
    )
    assert speech_whisper.transcribe_openai_whisper(call) == "Hello there."
    assert fake_whisper[0][1] == "cuda:2"


def test_missing_openai_whisper_names_the_pip_command(
    fake_whisper: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "whisper", None)  # import whisper now fails
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"x")
    call = Call("speech.transcribe", ([_scene(video, 0, 0.0, 4.0)],), {})
    with pytest.raises(ExecutorError, match="needs whisper: pip install openai-whisper"):
        speech_whisper.transcribe_openai_whisper(call)
