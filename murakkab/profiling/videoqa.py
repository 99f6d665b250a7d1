"""Video Q/A configurations run stage by stage on the real executors.

`mkc profile` scores each configuration of the video Q/A reference workflow
(LLM model, frames per scene, speech-to-text model or off, detector on or off)
on the question set, and bench/video_qa.py runs the hand-configured baseline
through the same stages, so both call exactly the executors a plan calls, with
the same arguments: scenes -> frames -> (transcript) -> (objects) -> answer.

A `Runner` with `reuse=True` keeps loaded models and each stage's result for
given inputs (a scene list, a frame set and a transcript serve every
configuration and question that needs them: what the profiler needs to score
dozens of configurations in minutes). With `reuse=False` it is what a framework
user writes by hand: every stage runs for every question, in sequence, and
each model is loaded for the call that uses it.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from murakkab.executors import Call, Implementation, implementation
from murakkab.profiling.questions import Question

STAGES = ("scenes", "frames", "transcript", "objects", "answer")
TOP_K = 5  # vision.detect_objects' default: the frames handed to the LLM


@dataclass(frozen=True)
class VideoQaConfig:
    model: str  # the LLM of llm.answer
    frames: int  # frames per scene
    stt: str | None  # the Whisper model of speech.transcribe, None: the stage is off
    detector: bool  # vision.detect_objects on or off
    max_tokens: int = 64

    def profile_config(self) -> dict[str, str | int | bool]:
        """The workflow-profile key of this configuration (see optimize/shapes.py)."""
        config: dict[str, str | int | bool] = {
            "model": self.model,
            "frames": self.frames,
            "stt": self.stt is not None,
            "detector": self.detector,
        }
        if self.stt is not None:
            config["stt_model"] = self.stt
        return config

    @property
    def label(self) -> str:
        stt = self.stt or "no-stt"
        return f"{self.model} F={self.frames} {stt} detector={'on' if self.detector else 'off'}"


@dataclass
class Answered:
    text: str
    seconds: dict[str, float]  # wall seconds per stage run for this answer (0 if reused)


@dataclass
class Runner:
    threads: int = 2
    reuse: bool = True
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _models: dict[tuple[str, str], Any] = field(default_factory=dict)

    def answer(self, config: VideoQaConfig, question: Question) -> Answered:
        seconds = dict.fromkeys(STAGES, 0.0)
        video = str(question.video)

        def stage(name: str, key: tuple[Any, ...], work: Callable[[], Any]) -> Any:
            memo_key = (name, *key)
            if self.reuse and memo_key in self._memo:
                return self._memo[memo_key]
            start = time.perf_counter()
            result = work()
            seconds[name] += time.perf_counter() - start
            if self.reuse:
                self._memo[memo_key] = result
            return result

        scenes = stage(
            "scenes",
            (video,),
            lambda: self.call("video.scene_detect", ([video],), {"threshold": 27.0}),
        )
        frames = stage(
            "frames",
            (video, config.frames),
            lambda: self.call("video.frame_extract", (scenes,), {"frames": config.frames}),
        )
        context: list[Any] = []
        if config.detector:
            objects = stage(
                "objects",
                (video, config.frames, question.text),
                lambda: self.call(
                    "vision.detect_objects", (frames, question.text), {"top_k": TOP_K}
                ),
            )
            context.append(objects)
        if config.stt is not None:
            stt = config.stt
            transcript = stage(
                "transcript",
                (video, stt),
                lambda: self.call("speech.transcribe", (scenes,), {"model": stt}),
            )
            context.append(transcript)
        knobs = {"model": config.model, "max_tokens": config.max_tokens}
        text = stage(
            "answer",
            (config, question.text),
            lambda: self.call("llm.answer", (question.text, context), knobs),
        )
        return Answered(str(text), seconds)

    def call(self, capability: str, args: tuple[Any, ...], knobs: dict[str, Any]) -> Any:
        """One stage's executor called as a plan calls it (its model per `reuse`)."""
        impl = cpu_implementation(capability)
        module = importlib.import_module(impl.entry.partition(":")[0])
        call = Call(capability, args, {"cores": self.threads, **knobs}, cores=self.threads)
        instance = self._instance(module, call)
        return impl.load()(dataclasses.replace(call, instance=instance))

    def instance_for(self, capability: str, knobs: dict[str, Any]) -> Any:
        """The loaded model a stage's calls with these knobs use."""
        impl = cpu_implementation(capability)
        module = importlib.import_module(impl.entry.partition(":")[0])
        call = Call(capability, (), {"cores": self.threads, **knobs}, cores=self.threads)
        return self._instance(module, call)

    def tokens(self, model: str, text: str) -> int:
        """The length of a text in the LLM's tokens."""
        return int(self.instance_for("llm.answer", {"model": model}).tokens(text))

    def _instance(self, module: Any, call: Call) -> Any:
        """The call's model: opened once and kept (reuse), or opened for this call
        (`load_fresh` where the module keeps a process-wide cache of its own)."""
        opener = getattr(module, "open_instance", None)
        if opener is None:
            return None
        if not self.reuse:
            return getattr(module, "load_fresh", opener)(call)
        key = (module.__name__, str(call.knobs.get("model", "")))
        if key not in self._models:
            self._models[key] = opener(call)
        return self._models[key]


# The implementation each stage runs: the CPU executors of this machine.
CPU_IMPLEMENTATIONS = {
    "video.scene_detect": "opencv.hist",
    "video.frame_extract": "opencv.seek",
    "speech.transcribe": "faster-whisper",
    "vision.detect_objects": "haar-ocr",
    "vision.read_text": "rapidocr",
    "llm.answer": "llama.cpp",
}


def cpu_implementation(capability: str) -> Implementation:
    """The declared implementation a stage of `capability` runs (looked up when used,
    so that importing this module discovers no executors)."""
    found = implementation(capability, CPU_IMPLEMENTATIONS[capability])
    assert found is not None, f"the standard library declares {capability}"
    return found
