"""Per-op predictions, one function per cost model (`Implementation.cost_model`).

LLM (served): latency = TTFT + output tokens x TPOT at the operating point on
the profile's latency-versus-load curve (linear interpolation between measured
points; beyond the last point the curve is extended and flagged extrapolated).
An instance of `tp` GPUs at load L (output tokens/s) draws
P(L) = tp x (idle + (busy - idle) x L / saturation) watts, so a request's
energy is tokens x P(L) / L and its cost tokens x tp x price / L: a busier
instance spends less per token, which is why the operating point matters.
LLM (hosted): latency from the provider profile, cost = (prompt + output
tokens) x price per token, energy not reported by the provider (0, noted).
LLM (cpu): latency from the CPU profile; the cores it holds draw busy power.
Tool: latency = fixed + work x seconds-per-unit, scaled linearly from the
profiled core count to the cores it is given; busy power x units x time.
A tool is profiled per implementation (`tool/CAPABILITY/IMPL/DEVICE`), and per
model as `IMPL:MODEL` when it has a `model` knob (Whisper tiny.en vs base).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from murakkab.cost.config import Assumptions, OpConfig
from murakkab.cost.prediction import Prediction
from murakkab.hardware import DeviceKind
from murakkab.profiles.schema import CurvePoint, ModelProfile, Profile, ToolProfile


class ProfileSource(Protocol):
    def get(self, key: str) -> Profile | None: ...


class Hardware(Protocol):
    def kind(self, name: str) -> DeviceKind | None: ...


@dataclass(frozen=True)
class CostContext:
    profiles: ProfileSource
    hardware: Hardware
    assume: Assumptions


def llm_prediction(
    config: OpConfig, model: str, tokens: float, ctx: CostContext, prompt: float = 0.0
) -> Prediction:
    """One LLM call reading `prompt` tokens and writing `tokens` on `config`'s device."""
    # Only GPU instances have a tensor-parallel degree; CPU and hosted profiles are tp0.
    tp = config.units if config.device not in ("cpu", "hosted") else 0
    key = f"model/{model}/{config.device}/tp{tp}"
    profile = ctx.profiles.get(key)
    if not isinstance(profile, ModelProfile):
        return Prediction.zero("unbound", f"no model profile {key}")
    load = config.knobs.get("load", ctx.assume.load)  # a physical op's chosen operating point
    point, provenance = operating_point(
        profile, load if isinstance(load, (str, float, int)) else "low"
    )
    latency = point.ttft_s + tokens * point.tpot_s
    notes: list[str] = [f"{profile.key} at {point.load_tps:g} tok/s"]
    if config.device == "hosted":
        price = (profile.price_per_million_tokens or 0.0) * (tokens + prompt) / 1e6
        notes.append("hosted: energy is not reported by the provider")
        return Prediction(latency, price, 0.0, None, _origin(profile, provenance), tuple(notes))
    device = _device_kind(config.device, ctx)
    if device is None:
        return Prediction.zero("unbound", f"no device kind '{config.device}'")
    if config.device == "cpu":
        cores = max(1, config.units)
        energy = device.busy_watts * cores * latency
        cost = device.price_per_hour * cores * latency / 3600
        return Prediction(latency, cost, energy, None, _origin(profile, provenance), tuple(notes))
    load = max(point.load_tps, 1e-9)
    utilisation = min(1.0, load / max(profile.saturation_tps, 1e-9))
    watts = config.units * (
        device.idle_watts + (device.busy_watts - device.idle_watts) * utilisation
    )
    energy = tokens * watts / load
    cost = tokens * config.units * device.price_per_hour / 3600 / load
    return Prediction(latency, cost, energy, None, _origin(profile, provenance), tuple(notes))


def tool_prediction(capability: str, config: OpConfig, work: float, ctx: CostContext) -> Prediction:
    """A tool call doing `work` units of its profile's unit."""
    if config.impl is None:
        return Prediction.zero("unbound", f"no implementation of {capability} on {config.device}")
    # A tool with a model knob (Whisper tiny.en or base) is profiled per model.
    model = config.knobs.get("model")
    variant = f"{config.impl.name}:{model}" if isinstance(model, str) else config.impl.name
    key = f"tool/{capability}/{variant}/{config.device}"
    profile = ctx.profiles.get(key)
    if not isinstance(profile, ToolProfile):
        return Prediction.zero("unbound", f"no tool profile {key}")
    units = max(1, config.units) if config.device == "cpu" else 1
    speedup = units / max(1, profile.cores) if config.device == "cpu" else 1.0
    latency = profile.fixed_s + work * profile.seconds_per_unit / max(speedup, 1e-9)
    device = _device_kind(config.device, ctx)
    if device is None:
        return Prediction.zero("unbound", f"no device kind '{config.device}'")
    energy = device.busy_watts * units * latency
    cost = device.price_per_hour * units * latency / 3600
    note = f"{profile.key}: {work:g} {profile.unit}"
    return Prediction(latency, cost, energy, None, _origin(profile, "prior"), (note,))


def operating_point(profile: ModelProfile, load: str | float) -> tuple[CurvePoint, str]:
    """The curve point at `load` ("low", "saturation", or tokens/s), and its provenance."""
    points = sorted(profile.points, key=lambda p: p.load_tps)
    if load == "low":
        return points[0], "prior"
    target = profile.saturation_tps if load == "saturation" else float(load)
    for point in points:
        if abs(point.load_tps - target) < 1e-9:
            return point, "prior"
    below = [p for p in points if p.load_tps < target]
    above = [p for p in points if p.load_tps > target]
    if below and above:
        return _lerp(below[-1], above[0], target), "interpolated"
    if len(points) < 2:
        return points[0], "extrapolated"
    first, second = (points[0], points[1]) if not below else (points[-2], points[-1])
    return _lerp(first, second, target), "extrapolated"


def _lerp(a: CurvePoint, b: CurvePoint, load: float) -> CurvePoint:
    t = (load - a.load_tps) / (b.load_tps - a.load_tps)
    return CurvePoint(
        load,
        max(0.0, a.tpot_s + t * (b.tpot_s - a.tpot_s)),
        max(0.0, a.ttft_s + t * (b.ttft_s - a.ttft_s)),
    )


def _origin(profile: Profile, provenance: str) -> str:
    """A measured profile stays measured unless the curve had to be stretched."""
    if profile.origin == "measured" and provenance == "prior":
        return "measured"
    return provenance


def _device_kind(device: str, ctx: CostContext) -> DeviceKind | None:
    return ctx.hardware.kind("cpu-core" if device == "cpu" else device)
