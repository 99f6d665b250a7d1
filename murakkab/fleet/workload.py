"""What fleet mode plans: workflows as configurations with their per-request work.

A fleet workflow is a reference workflow (video Q/A, code generation, math Q/A)
written as a `.mk` file. Its candidate configurations are the workflow profiles
of its shape that the file admits (pins and knob domains rule some out), each
with what one request costs: completion tokens on one LLM (mean and p90, from
the profile's token distribution), how many LLM calls it makes and how many of
them are in sequence, and the non-LLM stages (scene detection, frames, speech to
text, object detection, test runs) with their work in the tool profiles' units.

Request sizes the reference does not give are assumptions stated here once
(VIDEO_S, SCENE_S): Video-MME's short split holds videos under two minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from murakkab.cost.shapes import llm_calls
from murakkab.profiles.schema import ConfigValue, WorkflowProfile

# A video Q/A request's video: uniform over [30, 120] s (Video-MME "short" videos
# are under 2 minutes), one scene per SCENE_S seconds. Assumed, see docs/fleet.md.
VIDEO_S = (30.0, 120.0)
SCENE_S = 10.0
# The tool implementation each stage runs in fleet mode (tools.toml has its
# service time per device). Frames and scenes are CPU-only tools.
STAGE_IMPLS = {
    "video.scene_detect": "opencv.hist",
    "video.frame_extract": "opencv.seek",
    "speech.transcribe": "faster-whisper:whisper-base",
    "vision.detect_objects": "open-clip",
    "code.run_tests": "subprocess-sandbox",
}
# Stages that may run on a GPU; the others always run on CPU cores.
GPU_STAGES = frozenset({"speech.transcribe", "vision.detect_objects"})
# Completion tokens: log-normal through the profile's p50 and p90 (z(0.9) = 1.2816).
Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Stage:
    """A non-LLM stage of one request: `units` of work in its tool profile's unit."""

    executor: str  # "speech.transcribe"
    impl: str  # the tool implementation, "faster-whisper:whisper-base"
    units_mean: float
    units_p90: float
    critical: bool  # on the request's critical path (else it overlaps a longer stage)
    repeats: int = 1  # sequential calls per request (code tests: once per round)

    @property
    def on_gpu(self) -> bool:
        return self.executor in GPU_STAGES


@dataclass(frozen=True)
class Config:
    """One configuration of a fleet workflow, and one request's work under it."""

    workflow: str  # the fleet workflow's name (the .mk workflow)
    shape: str  # "video_qa" | "code_gen" | "math_qa"
    knobs: tuple[tuple[str, ConfigValue], ...]
    model: str
    quality: float
    tokens_mean: float
    tokens_p90: float
    tokens_sigma: float  # of the log-normal completion-token distribution
    llm_calls: float
    sequential_calls: float  # LLM calls on the critical path
    stages: tuple[Stage, ...]

    @property
    def label(self) -> str:
        knobs = ",".join(f"{k}={_text(v)}" for k, v in self.knobs if k != "model")
        return f"{self.model}[{knobs}]"

    @property
    def tokens_log_median(self) -> float:
        """mu of the log-normal completion-token distribution (ln of its p50)."""
        return math.log(self.tokens_p90) - Z90 * self.tokens_sigma

    @property
    def critical_tokens_p90(self) -> float:
        """p90 completion tokens written on the critical path (calls share tokens evenly)."""
        return self.tokens_p90 * self.sequential_calls / self.llm_calls


@dataclass(frozen=True)
class FleetWorkflow:
    name: str
    shape: str
    source: str  # the .mk file
    configs: tuple[Config, ...]
    # The GPU types and tensor-parallel degrees its LLM ops allow (None: any).
    gpus: frozenset[str] | None = None
    tps: frozenset[int] | None = None

    def allows(self, device: str, tp: int) -> bool:
        """Whether a model profile on `device` at `tp` may serve this workflow."""
        if device == "hosted":
            return True
        if self.gpus is not None and device not in self.gpus:
            return False
        return self.tps is None or tp in self.tps


def config_of(workflow: str, profile: WorkflowProfile) -> Config | None:
    """The fleet configuration a workflow profile describes; None without token figures."""
    knobs = dict(profile.config)
    if profile.tokens_p90 is None or profile.tokens_p90 <= 0:
        return None
    p50 = profile.tokens_p50 or profile.tokens_p90 * 600 / 1101
    sigma = max(1e-6, math.log(profile.tokens_p90 / p50) / Z90)
    mean = p50 * math.exp(sigma * sigma / 2)
    calls, sequential, stages = _structure(profile.workflow, knobs)
    return Config(
        workflow=workflow,
        shape=profile.workflow,
        knobs=profile.config,
        model=str(knobs["model"]),
        quality=profile.quality,
        tokens_mean=mean,
        tokens_p90=profile.tokens_p90,
        tokens_sigma=sigma,
        llm_calls=calls,
        sequential_calls=sequential,
        stages=stages,
    )


def _structure(shape: str, knobs: dict[str, ConfigValue]) -> tuple[float, float, tuple[Stage, ...]]:
    """(LLM calls, calls in sequence, non-LLM stages) of one request of a shape."""
    if shape == "video_qa":
        return 1.0, 1.0, _video_stages(knobs)
    calls = llm_calls(shape, dict(knobs))
    if shape == "code_gen":
        # tests beside the drafts, then one revision per round, then the ranking
        rounds = int(knobs["rounds"])
        tests = Stage("code.run_tests", STAGE_IMPLS["code.run_tests"], 1, 1, True, rounds)
        return calls, float(rounds + 2), (tests,)
    if shape == "math_qa":
        return calls, calls, ()  # every call waits for the one before
    raise ValueError(f"fleet mode knows no reference workflow {shape!r}")


def _video_stages(knobs: dict[str, ConfigValue]) -> tuple[Stage, ...]:
    low, high = VIDEO_S
    mean_s, p90_s = (low + high) / 2, low + 0.9 * (high - low)
    frames = int(knobs.get("frames", 1))
    stages = [
        Stage("video.scene_detect", STAGE_IMPLS["video.scene_detect"], mean_s, p90_s, True),
    ]
    per_scene = (mean_s / SCENE_S * frames, p90_s / SCENE_S * frames)
    stt = knobs.get("stt", True) is True
    # Frames overlap speech to text, which takes longer whenever it runs.
    stages.append(
        Stage("video.frame_extract", STAGE_IMPLS["video.frame_extract"], *per_scene, not stt)
    )
    if stt:
        impl = STAGE_IMPLS["speech.transcribe"]
        model = knobs.get("stt_model")
        if isinstance(model, str):
            impl = f"faster-whisper:{model}"
        stages.append(Stage("speech.transcribe", impl, mean_s, p90_s, True))
    if knobs.get("detector", True) is True:
        stages.append(
            Stage("vision.detect_objects", STAGE_IMPLS["vision.detect_objects"], *per_scene, True)
        )
    return tuple(stages)


def _text(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
