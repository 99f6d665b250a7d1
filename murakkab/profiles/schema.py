"""Profiles: what the optimizer knows about executors, as data with provenance.

Three kinds, each keyed so that a profile measured on the user's machine
replaces the shipped prior with the same key:
- `ModelProfile`: one serving configuration (model, GPU type, tensor
  parallelism): latency against offered load per instance, efficiency, price;
- `WorkflowProfile`: one configuration of a reference workflow: end-to-end
  quality and the output-token distribution it generates;
- `ToolProfile`: service time of a tool implementation on a device kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Origin = Literal["prior", "measured"]
ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class CurvePoint:
    """p90 latencies at an offered load (output tokens per second per instance)."""

    load_tps: float
    tpot_s: float  # time per output token
    ttft_s: float  # time to first token


@dataclass(frozen=True)
class ModelProfile:
    model: str  # "gemma-3-27b"
    device: str  # GPU type ("a100", "h100"), "cpu", or "hosted"
    tp: int  # tensor-parallel degree (GPUs per instance); 0 for hosted/cpu
    points: tuple[CurvePoint, ...]  # sorted by load
    saturation_tps: float  # the largest load an instance sustains
    tokens_per_wh: float | None  # published peak efficiency, where known
    price_per_million_tokens: float | None  # hosted models only
    rate_limit_tps: float | None  # hosted models only: capacity in tokens/s
    memory_gb: float | None  # weights + KV cache per instance, where known
    origin: Origin
    source: str  # provenance: where the numbers come from

    @property
    def key(self) -> str:
        return f"model/{self.model}/{self.device}/tp{self.tp}"


@dataclass(frozen=True)
class WorkflowProfile:
    workflow: str  # "video_qa", "code_gen", "math_qa"
    config: tuple[tuple[str, ConfigValue], ...]  # sorted knob assignments
    quality: float  # fraction in [0, 1]
    tokens_p50: float | None
    tokens_p90: float | None
    tokens_p99: float | None
    origin: Origin
    source: str

    @property
    def key(self) -> str:
        knobs = ",".join(f"{name}={value}" for name, value in self.config)
        return f"workflow/{self.workflow}/{knobs}"


@dataclass(frozen=True)
class ToolProfile:
    executor: str  # capability, "video.scene_detect"
    impl: str  # implementation, "opencv.hist"
    device: str  # "cpu" or a GPU type
    unit: str  # what work is measured in: "video_s", "frame", "audio_s", "call", "item"
    seconds_per_unit: float  # on one core (cpu) or one GPU
    fixed_s: float  # per-call overhead (start-up, model load amortised)
    cores: int  # cores (cpu) or GPUs the measurement used
    origin: Origin
    source: str  # provenance, including the assumptions where no paper gives a number

    @property
    def key(self) -> str:
        return f"tool/{self.executor}/{self.impl}/{self.device}"


Profile = ModelProfile | WorkflowProfile | ToolProfile
