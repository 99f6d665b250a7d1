"""Modes of LLM ops: a call to a served instance, the CPU, or a hosted model.

An LLM served on GPUs keeps its model, tensor parallelism and operating point
and calls the instance `MODEL@gpu:TYPExTP`; its GPU type changes only when no
node holds `tp` GPUs of it (then the same model and `tp` on a type that has a
profile, at the nearest operating point). Its instance's GPU memory comes from
the model profile (`memory_gb / tp`, what vLLM reserves: [M5] in
stdlib/profiles/README.md), else 90% of the GPU, vLLM's default.
"""

from __future__ import annotations

from murakkab.catalogue import Catalogue
from murakkab.cost.config import OpConfig
from murakkab.cost.ops import CostContext
from murakkab.cost.prediction import Prediction
from murakkab.cost.workflow import OpEstimate, predict_op
from murakkab.device import device_text
from murakkab.ir.core import Literal, Op
from murakkab.optimize.space import resource_configs
from murakkab.placement.problem import Mode, NodeSpec
from murakkab.profiles.schema import ModelProfile

VLLM_SHARE = 0.9  # vLLM's default gpu_memory_utilization


def llm_modes(
    op: Op,
    est: OpEstimate,
    written: Mode,
    rounds: int,
    catalogue: Catalogue,
    ctx: CostContext,
    nodes: tuple[NodeSpec, ...],
) -> list[Mode]:
    """A served LLM calls its instance (it holds nothing itself); one on the CPU
    holds its cores; a hosted one nothing."""
    config = est.config
    assert config is not None
    if config.device == "cpu":
        return [written]
    if config.device == "hosted":
        return [Mode("hosted", "hosted", written.duration, written.energy, written.cost)]
    chosen, latency, energy, cost = config, written.duration, written.energy, written.cost
    if not any(n.gpu_count(config.device) >= config.units for n in nodes):
        moved = _other_gpu(op, est, catalogue, ctx, nodes)
        if moved is not None:
            chosen, prediction = moved
            latency = prediction.latency_s * rounds
            energy, cost = prediction.energy_j * est.copies, prediction.cost_usd * est.copies
    device = device_text(chosen.device, chosen.units)
    knobs: tuple[tuple[str, Literal | None], ...] = ()
    if chosen is not config:
        load = chosen.knobs.get("load")
        knobs = (("gpu", chosen.device), ("load", load if isinstance(load, float) else None))
    label = f"calls {op.attr('model')}@{device}"
    return [Mode(label, device, latency, energy, cost, knobs=knobs)]


def _other_gpu(
    op: Op,
    est: OpEstimate,
    catalogue: Catalogue,
    ctx: CostContext,
    nodes: tuple[NodeSpec, ...],
) -> tuple[OpConfig, Prediction] | None:
    """The same model and tp on another GPU type the cluster has, at the nearest load."""
    config = est.config
    capability = catalogue.lookup(op.name)
    if config is None or capability is None:
        return None
    pinned = op.replace(device="gpu")  # free the GPU type, keep the rest
    written = config.knobs.get("load")
    options = [
        c
        for c in resource_configs(pinned.with_attrs(gpu=None), capability, ctx)
        if c.device not in ("cpu", "hosted")
        and c.device != config.device
        and c.units == config.units
        and c.knobs.get("model") == config.knobs.get("model")
        and any(n.gpu_count(c.device) >= c.units for n in nodes)
    ]
    if not options:
        return None

    def distance(c: OpConfig) -> tuple[float, str]:
        load = c.knobs.get("load")
        gap = (
            abs(float(load) - float(written))
            if isinstance(load, float) and isinstance(written, (int, float))
            else 0.0
        )
        return (gap, c.device)

    best = min(options, key=distance)
    return best, predict_op(op, best, est.inputs, est.output, est.tokens, catalogue, ctx)


def served_memory(
    ctx: CostContext, model: str, gpu_type: str, gpus: int, nodes: tuple[NodeSpec, ...]
) -> float:
    profile = ctx.profiles.get(f"model/{model}/{gpu_type}/tp{gpus}")
    if isinstance(profile, ModelProfile) and profile.memory_gb:
        return round(profile.memory_gb / max(1, gpus), 3)
    per_gpu = max((n.gpu_memory(gpu_type) for n in nodes), default=80.0)
    return round(VLLM_SHARE * per_gpu, 3)
