"""`mkc profile`: measure this machine's executors into profiles the optimizer uses.

Three kinds of measurement, each an ordinary profile (murakkab/profiles/schema.py)
that replaces the shipped prior with the same key once stored:

- tools: each CPU tool implementation (and model variant) on the test media at
  two input sizes where the media give two (fixed cost + cost per unit fitted
  through both), one thread, models loaded before the clock starts;
- models: each local LLM (llama.cpp) answering a video Q/A prompt: time to first
  token, time per output token, tokens per Wh and memory;
- video_qa: every configuration of the video Q/A workflow (LLM, frames per
  scene, speech-to-text model or off, detector on or off) scored on the question
  set: a measured workflow profile whose quality is that accuracy.

Energy is RAPL where readable, else modelled from CPU time (profiling/measure.py),
and each profile's source says which, with the machine and the media version.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from murakkab.executors import Call, Implementation
from murakkab.profiles.schema import CurvePoint, ModelProfile, ToolProfile, WorkflowProfile
from murakkab.profiling.measure import Sample, measure
from murakkab.profiling.questions import Question, accuracy, is_correct, load_questions
from murakkab.profiling.videoqa import Runner, VideoQaConfig, cpu_implementation

LLM_MODELS = ("smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct")
STT_MODELS = ("whisper-tiny.en", "whisper-base")
LLM_THREADS = 2  # the default `cores` of a local model (stdlib/llm.mk)

Step = Callable[[str], None]  # reports one finished measurement (its label)


@dataclass(frozen=True)
class Measured:
    profile: ToolProfile | ModelProfile | WorkflowProfile
    summary: str  # one line for the report: what was measured, and the numbers


@dataclass(frozen=True)
class Plan:
    """What one `mkc profile` run measures, and how many steps that is."""

    targets: tuple[str, ...]
    quick: bool

    def configs(self) -> list[VideoQaConfig]:
        frames = (1, 5) if self.quick else (1, 5, 10)
        return [
            VideoQaConfig(model, count, stt, detector)
            for model in LLM_MODELS
            for count in frames
            for stt in (None, *STT_MODELS)
            for detector in (True, False)
        ]

    def questions(self, media: Path) -> list[Question]:
        questions = load_questions(media)
        if not self.quick:
            return questions
        picked: list[Question] = []
        for kind in ("speech", "screen", "both"):
            picked += [q for q in questions if q.evidence == kind][:2]
        return picked

    def steps(self, media: Path) -> int:
        tools = {
            "video.scene_detect": 1,
            "video.frame_extract": 1,
            "speech.transcribe": len(STT_MODELS),
            "vision.detect_objects": 1,
            "vision.read_text": 1,
            "llm.answer": len(LLM_MODELS),
            "video_qa": len(self.configs()),
        }
        return sum(tools[t] for t in self.targets)


def where() -> str:
    cores = os.cpu_count() or 1
    return f"{platform.machine()} {platform.processor() or 'CPU'}, {cores} cores".replace("  ", " ")


def run_profile(plan: Plan, media: Path, step: Step) -> Iterator[Measured]:
    """Measure what `plan` names, reporting each step; yields profiles as they are made."""
    from murakkab.testmedia import media_version

    media_note = f"test media {media_version()} (murakkab/testmedia.py)"
    for target in plan.targets:
        if target == "llm.answer":
            for model in LLM_MODELS:
                yield _llm(model, media, plan.quick, media_note)
                step(f"llm.answer {model}")
        elif target == "video_qa":
            yield from _video_qa(plan, media, step, media_note)
        else:
            yield from _tool(target, media, step, media_note)


# ---- tools ---------------------------------------------------------------------------


def _tool(capability: str, media: Path, step: Step, note: str) -> Iterator[Measured]:
    impl = cpu_implementation(capability)
    runner = Runner(threads=1, reuse=True)
    lecture, slides = str(media / "lecture.mp4"), str(media / "slides.mp4")
    scenes = {v: runner.call("video.scene_detect", ([v],), {}) for v in (lecture, slides)}
    variants: list[dict[str, Any]] = [{}]
    if capability == "speech.transcribe":
        variants = [{"model": m} for m in STT_MODELS]
    for knobs in variants:
        sizes: list[tuple[float, Sample]] = []
        if capability == "video.scene_detect":
            for video, seconds in ((slides, _duration(scenes[slides])), (lecture, None)):
                _, sample = _timed(impl, ([video],), knobs)
                sizes.append((seconds or _duration(scenes[lecture]), sample))
        elif capability == "speech.transcribe":
            instance = runner.instance_for("speech.transcribe", knobs)
            _, sample = _timed(impl, (scenes[lecture],), knobs, instance)
            sizes.append((_duration(scenes[lecture]), sample))
        else:
            for count in (1, 5):
                frames = runner.call("video.frame_extract", (scenes[lecture],), {"frames": count})
                if capability == "video.frame_extract":
                    args: tuple[Any, ...] = (scenes[lecture],)
                    call_knobs = {"frames": count}
                else:
                    args = (frames, "What is written on the screen?")
                    args = args if capability == "vision.detect_objects" else (frames,)
                    call_knobs = {}
                instance = None
                if capability.startswith("vision."):
                    # engines that have read no frame, after one warm-up call (the
                    # MiniLM encoder and onnxruntime's first-run set-up)
                    _timed(impl, (frames[:1], *args[1:]), {})
                    instance = _fresh_engines()
                with _frames_folder():  # frames decoded anew, not found on disk
                    _, sample = _timed(impl, args, call_knobs, instance)
                sizes.append((float(len(frames)), sample))
        name = impl.name + (f":{knobs['model']}" if "model" in knobs else "")
        fixed, per_unit = _fit(sizes)
        memory = max(s.memory_gb for _, s in sizes)
        energy = sum(s.energy_j for _, s in sizes) / sum(u for u, _ in sizes)
        source = (
            f"measured by mkc profile on {where()}, 1 thread, {note}: "
            + ", ".join(f"{u:g} {impl.unit} in {s.wall_s:.3f} s" for u, s in sizes)
            + f"; peak memory +{memory:.2f} GB; energy {energy:.3g} J per {impl.unit}"
            f" ({sizes[0][1].energy_source})"
        )
        profile = ToolProfile(
            capability, name, "cpu", impl.unit, per_unit, fixed, 1, "measured", source
        )
        yield Measured(
            profile,
            f"{capability} {name}: {fixed:.3f} s + {per_unit:.4f} s/{impl.unit}"
            f" ({sizes[0][1].energy_source} energy {energy:.3g} J/{impl.unit},"
            f" memory +{memory:.2f} GB)",
        )
        step(f"{capability} {name}")


def _timed(
    impl: Implementation, args: tuple[Any, ...], knobs: dict[str, Any], instance: Any = None
) -> tuple[Any, Sample]:
    function = impl.load()
    call = Call(impl.capability, args, {"cores": 1, **knobs}, cores=1, instance=instance)
    return measure(lambda: function(call), cores=1)


@contextlib.contextmanager
def _frames_folder() -> Iterator[None]:
    """An empty MKC_FRAMES_DIR for the duration (frame_extract reuses frames on disk)."""
    saved = os.environ.get("MKC_FRAMES_DIR")
    with tempfile.TemporaryDirectory(prefix="mkc-profile-frames-") as folder:
        os.environ["MKC_FRAMES_DIR"] = folder
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("MKC_FRAMES_DIR", None)
            else:
                os.environ["MKC_FRAMES_DIR"] = saved


def _fresh_engines() -> Any:
    from murakkab.stdlib import vision_local

    return vision_local.load_fresh(Call("vision.read_text", ((),), {}, cores=1))


def _duration(scenes: list[dict[str, Any]]) -> float:
    return max(float(s["end_s"]) for s in scenes) - min(float(s["start_s"]) for s in scenes)


def _fit(sizes: list[tuple[float, Sample]]) -> tuple[float, float]:
    """fixed_s and seconds per unit through the measured sizes (one size: no fixed part)."""
    if len(sizes) == 1 or sizes[0][0] == sizes[-1][0]:
        units, sample = sizes[-1]
        return 0.0, sample.wall_s / max(units, 1e-9)
    (u1, s1), (u2, s2) = sizes[0], sizes[-1]
    per_unit = max(0.0, (s2.wall_s - s1.wall_s) / (u2 - u1))
    return max(0.0, s1.wall_s - per_unit * u1), per_unit


# ---- local LLMs ----------------------------------------------------------------------


def _llm(model: str, media: Path, quick: bool, note: str) -> Measured:
    from murakkab.stdlib import llm_llamacpp

    call = Call("llm.answer", ((), ()), {"model": model}, cores=LLM_THREADS)
    instance, loaded = measure(lambda: llm_llamacpp.open_instance(call), cores=LLM_THREADS)
    context = _answer_context(media)
    prompt = llm_llamacpp.PROMPTS["llm.answer"]
    messages = llm_llamacpp.build_messages(prompt, ("What happened in the lecture?", context))
    prompt_tokens = sum(instance.tokens(m["content"]) for m in messages)
    runs = []
    for _ in range(1 if quick else 3):
        timing, sample = measure(
            lambda: llm_llamacpp.timed_chat(instance, messages, 64), cores=LLM_THREADS
        )
        runs.append((timing, sample))
    ttft = statistics.median(t.ttft_s for t, _ in runs)
    tpot = statistics.median(t.tpot_s for t, _ in runs)
    tokens = sum(t.tokens for t, _ in runs)
    joules = sum(s.energy_j for _, s in runs)
    per_wh = tokens / (joules / 3600) if joules > 0 else None
    source = (
        f"measured by mkc profile on {where()}, llama.cpp {LLM_THREADS} threads, {note}:"
        f" {prompt_tokens}-token video Q/A prompt, {len(runs)} run(s), one stream;"
        f" TTFT {ttft:.3f} s, TPOT {tpot:.4f} s; load {loaded.wall_s:.2f} s;"
        f" energy {runs[0][1].energy_source}"
    )
    load = 1.0 / tpot
    profile = ModelProfile(
        model,
        "cpu",
        0,
        (CurvePoint(load, tpot, ttft),),
        load,
        per_wh,
        None,
        None,
        max(loaded.memory_gb, 0.01),
        "measured",
        source,
    )
    return Measured(
        profile,
        f"llm.answer {model}: TTFT {ttft:.2f} s for {prompt_tokens} prompt tokens,"
        f" {1 / tpot:.1f} tokens/s, memory +{loaded.memory_gb:.2f} GB",
    )


def _answer_context(media: Path) -> list[str]:
    """A context like the workflow's: what the lecture says, scene by scene."""
    import json

    truth = json.loads((media / "truth.json").read_text())
    return [
        f"[scene {s['index']}] {s['narration']} Text on screen: {' / '.join(s['caption'])}"
        for s in truth["lecture"]["scenes"]
    ]


# ---- video Q/A quality ---------------------------------------------------------------


def _video_qa(plan: Plan, media: Path, step: Step, note: str) -> Iterator[Measured]:
    runner = Runner(threads=LLM_THREADS, reuse=True)
    questions = plan.questions(media)
    counts = {k: sum(q.evidence == k for q in questions) for k in ("speech", "screen", "both")}
    for config in plan.configs():
        marks, tokens = [], []
        for question in questions:
            answered = runner.answer(config, question)
            marks.append(is_correct(answered.text, question.answers))
            tokens.append(runner.tokens(config.model, answered.text))
        quality = accuracy(marks)
        ordered = sorted(tokens)
        source = (
            f"measured by mkc profile on {where()}: accuracy on {len(questions)} questions"
            f" of {note} ({counts['speech']} speech, {counts['screen']} screen,"
            f" {counts['both']} both), keyword match; max_tokens {config.max_tokens}"
        )
        config_items = tuple(sorted(config.profile_config().items()))
        profile = WorkflowProfile(
            "video_qa",
            config_items,
            round(quality, 4),
            _percentile(ordered, 0.5),
            _percentile(ordered, 0.9),
            _percentile(ordered, 0.99),
            "measured",
            source,
        )
        yield Measured(profile, f"video_qa {config.label}: accuracy {quality:.0%}")
        step(f"video_qa {config.label}")


def _percentile(ordered: list[int], q: float) -> float:
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])
