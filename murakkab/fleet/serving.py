"""How work is served: LLM instances at an operating point, and tool pools.

An LLM `Serving` is one model profile (model, GPU type, tensor parallelism) run
at one operating point: a planned load per instance, in output tokens/s. More
load per instance means bigger batches, a higher TPOT and fewer instances for
the same traffic; the planner picks the point (the reference: "an optimizer
should pick the operating point"). Latencies along the curve are interpolated
linearly between the profile's measured points; below the first point the
single-stream figures hold.

A tool stage runs on CPU cores or on whole GPUs; its service time per call is
the tool profile's fixed + per-unit time.
"""

from __future__ import annotations

from dataclasses import dataclass

from murakkab.cost.ops import operating_point
from murakkab.hardware import DEVICE_KINDS, DeviceKind, device_kind
from murakkab.profiles.schema import ModelProfile, ToolProfile

# Operating points offered per model profile, as fractions of its saturation load.
LOAD_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
CPU = "cpu"


@dataclass(frozen=True)
class Serving:
    profile: ModelProfile
    load_tps: float  # planned output tokens/s per instance
    tpot_s: float  # p90 at that load
    ttft_s: float

    @property
    def model(self) -> str:
        return self.profile.model

    @property
    def device(self) -> str:
        return self.profile.device

    @property
    def hosted(self) -> bool:
        return self.profile.device == "hosted"

    @property
    def gpus(self) -> int:
        """GPUs one instance holds (0 for a hosted model)."""
        return 0 if self.hosted else self.profile.tp

    @property
    def key(self) -> str:
        if self.hosted:
            return f"{self.model}/hosted"
        return f"{self.model}/{self.device}/tp{self.profile.tp}@{self.load_tps:.0f}"

    def kind(self) -> DeviceKind | None:
        return None if self.hosted else device_kind(self.device)

    def idle_watts(self) -> float:
        kind = self.kind()
        return 0.0 if kind is None else kind.idle_watts * self.gpus

    def joules_per_token(self) -> float:
        """Energy above idle per output token: the busy-idle power gap spread over saturation."""
        kind = self.kind()
        if kind is None:
            return 0.0
        return (kind.busy_watts - kind.idle_watts) * self.gpus / self.profile.saturation_tps

    def price_per_hour(self) -> float:
        kind = self.kind()
        return 0.0 if kind is None else kind.price_per_hour * self.gpus

    def price_per_token(self) -> float:
        price = self.profile.price_per_million_tokens
        return 0.0 if price is None else price / 1e6


def servings(profile: ModelProfile) -> list[Serving]:
    """The operating points offered for one model profile (one for a hosted model)."""
    if profile.device == "hosted":
        first = profile.points[0]
        return [Serving(profile, profile.saturation_tps, first.tpot_s, first.ttft_s)]
    offered = []
    for fraction in LOAD_FRACTIONS:
        load = fraction * profile.saturation_tps
        tpot, ttft = at_load(profile, load)
        offered.append(Serving(profile, load, tpot, ttft))
    return offered


def at_load(profile: ModelProfile, load: float) -> tuple[float, float]:
    """(TPOT, TTFT) at an offered load per instance, interpolated along the curve by the
    cost model; below the first point the single-stream figures hold."""
    first = min(point.load_tps for point in profile.points)
    point, _ = operating_point(profile, max(load, first))
    return point.tpot_s, point.ttft_s


@dataclass(frozen=True)
class ToolOption:
    """A stage's tool on one device: per-call seconds on one core or one GPU."""

    profile: ToolProfile

    @property
    def device(self) -> str:
        return self.profile.device

    def seconds(self, units: float) -> float:
        return self.profile.fixed_s + self.profile.seconds_per_unit * units

    def kind(self) -> DeviceKind:
        kind = device_kind(self.device)
        return kind if kind is not None else DEVICE_KINDS["cpu-core"]
