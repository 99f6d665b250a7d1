"""Physical workflow -> placement problem, every number from the cost model.

Modes per op (the first is always the op as the passes before left it, priced
as the `estimate` stage prices it):
- a tool: its implementation on every device it supports that the cluster
  has: the CPU with each `cores` value of its domain, each GPU type with one
  GPU; its cores only go down (how many cores buy how much time was
  model-substitution's trade against the SLO; off the CPU, the capability's
  default is the most). A fanned-out tool may keep its `fanout` copies (on the
  CPU they hold `fanout x cores` cores, on GPUs one GPU each; the latency is
  divided by the busy copies, as in the cost model) or run as one copy
  (`fanout` removed).
- copies of enclosing `flow.parallel` regions (any op that holds cores or
  GPUs): all at once (they hold `copies x` the op's resources), or in waves of
  k at a time (`at_once = k`: they hold k x the resources for
  `ceil(copies / k)` x the duration; k from the most one node holds, then about
  half as many, down to one).
- an LLM served on GPUs: its model, tensor parallelism and operating point;
  it calls the served instance `MODEL@gpu:TYPExTP`. Its GPU type changes only
  when no node holds `tp` GPUs of it (then the same model and `tp` on a type
  that has a profile, at the nearest operating point).
- an LLM on the CPU (llama.cpp): its cores; hosted: nothing held.

Demands and durations account for regions (problem.py). GPU memory per GPU:
a served model's from its profile (`memory_gb / tp`: vLLM reserves it, [M5]
in stdlib/profiles/README.md), else 90% of the GPU, vLLM's default; a tool's
from the parameters of its model (`PARAMS`) x 2 bytes (fp16) + 1 GiB of CUDA
context and activations, or 2 GiB for a model not listed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from murakkab.catalogue import Capability, Catalogue
from murakkab.cost.config import OpConfig, flow_count
from murakkab.cost.ops import CostContext
from murakkab.cost.prediction import Prediction
from murakkab.cost.workflow import OpEstimate, estimate_workflow, predict_op
from murakkab.device import device_text, parse_device
from murakkab.ir.core import Literal, Op, Workflow
from murakkab.optimize.space import flatten_dependencies, resource_configs
from murakkab.placement.problem import Instance, Job, Mode, NodeSpec, Problem
from murakkab.placement.served import llm_modes, served_memory
from murakkab.slo import SloSpec

# Parameters of the models GPU tools load: Whisper (Radford et al. 2022, table 1)
# and CLIP ViT-B/32 (open_clip's model card).
PARAMS = {
    "whisper-tiny.en": 39e6,
    "whisper-base": 74e6,
    "open-clip": 151e6,
}
WORKSPACE_GB = 1.0
UNKNOWN_TOOL_GB = 2.0


@dataclass(frozen=True)
class Bounds:
    latency: float | None = None
    strict: bool = False
    energy: float | None = None
    cost: float | None = None


def bounds_of(slo: SloSpec) -> Bounds:
    found: dict[str, float] = {}
    strict = False
    for bound in slo.bounds:
        if bound.value is None or bound.metric not in ("latency", "energy", "cost"):
            continue
        found[bound.metric] = bound.value
        if bound.metric == "latency":
            strict = bound.op == "<"
    return Bounds(found.get("latency"), strict, found.get("energy"), found.get("cost"))


def nodes_of(hardware: object) -> tuple[NodeSpec, ...]:
    """The cluster's nodes, GPUs by their short type ("a100")."""
    out = []
    for node in getattr(hardware, "nodes", ()):
        gpus, memory = [], []
        for kind_name, count in node.gpus:
            kind = hardware.kind(kind_name)  # type: ignore[attr-defined]
            if kind is None or kind.gpu_type is None or count <= 0:
                continue
            gpus.append((kind.gpu_type, count))
            memory.append((kind.gpu_type, kind.memory_gb))
        out.append(NodeSpec(node.name, node.cpu_cores, tuple(sorted(gpus)), tuple(sorted(memory))))
    return tuple(out)


def build_problem(
    workflow: Workflow,
    catalogue: Catalogue,
    ctx: CostContext,
    args: tuple[Literal, ...] | None,
    bounds: Bounds,
    objective: str,
) -> Problem:
    estimate = estimate_workflow(workflow, catalogue, ctx, args)
    by_name = {e.name: e for e in estimate.ops}
    nodes = nodes_of(ctx.hardware)
    jobs: list[Job] = []
    instances: dict[str, Instance] = {}
    deps = flatten_dependencies(workflow).deps
    for op, side_by_side, rounds in _ops(workflow):
        est = by_name.get(op.result.name)
        modes = _modes(op, est, side_by_side, rounds, catalogue, ctx, nodes)
        key = ""
        device = parse_device(modes[0].device) if modes else None
        if device is not None and device.side == "gpu" and _is_llm(op, catalogue):
            key = f"{op.attr('model')}@{modes[0].device}"
            gpus = device.count or 1
            gpu_type = device.gpu_type
            known = instances.get(key)
            calls = (known.calls if known else ()) + (op.result.name,)
            memory = served_memory(ctx, str(op.attr("model")), gpu_type, gpus, nodes)
            instances[key] = Instance(key, gpu_type, gpus, memory, calls)
        group = op.attr("fuse")
        jobs.append(
            Job(
                op.result.name,
                op.name,
                tuple(modes),
                tuple(deps.get(op.result.name, ())),
                group if isinstance(group, str) else "",
                key,
            )
        )
    return Problem(
        tuple(jobs),
        nodes,
        tuple(instances.values()),
        bounds.latency,
        bounds.strict,
        bounds.energy,
        bounds.cost,
        objective,
    )


def _ops(workflow: Workflow) -> list[tuple[Op, int, int]]:
    """Every non-flow op with its side-by-side copies and its rounds."""
    out: list[tuple[Op, int, int]] = []

    def visit(ops: tuple[Op, ...], copies: int, rounds: int) -> None:
        for op in ops:
            if op.region is None:
                out.append((op, copies, rounds))
                continue
            count = flow_count(op) or 1
            if op.name == "flow.parallel":
                visit(op.region.ops, copies * count, rounds)
            else:
                visit(op.region.ops, copies, rounds * count)

    visit(workflow.ops, 1, 1)
    return out


def _is_llm(op: Op, catalogue: Catalogue) -> bool:
    capability = catalogue.lookup(op.name)
    return capability is not None and capability.kind in ("llm", "composition")


def _modes(
    op: Op,
    est: OpEstimate | None,
    copies: int,
    rounds: int,
    catalogue: Catalogue,
    ctx: CostContext,
    nodes: tuple[NodeSpec, ...],
) -> list[Mode]:
    capability = catalogue.lookup(op.name)
    if est is None or capability is None or est.config is None:
        return [Mode("as written", op.device or "cpu", 0.0, 0.0, 0.0)]
    total = est.copies
    config = est.config
    latency = est.prediction.latency_s
    written = _mode(op, config, latency, est.prediction, copies, rounds, total)
    # The copies of enclosing `flow.parallel` regions all at once, or in waves.
    modes = [written]
    as_written = partial(_mode, op, config, latency, est.prediction, copies, rounds, total)
    for mode in _ways(as_written, copies, nodes):
        _add(modes, mode)
    if capability.kind != "tool":
        served = llm_modes(op, est, written, rounds, catalogue, ctx, nodes)
        return served + modes[1:] if config.device == "cpu" else served
    fanout = op.attr("fanout")
    spread = fanout if isinstance(fanout, int) and not isinstance(fanout, bool) else 1
    # The op's device is placement's to choose again; its cores may only go down
    # (to fit a node): how many cores buy how much time is model-substitution's
    # trade, made against the SLO. Off the CPU, the capability's default cores.
    free = op.replace(device=None).with_attrs(cores=None, gpu=None, tp=None, at_once=None)
    most = _cores_at_most(op, capability)
    for other in resource_configs(free, capability, ctx):
        if other.impl != config.impl or _model(other) != _model(config):
            continue
        if other.device == "cpu" and other.units > most:
            continue
        prediction = predict_op(op, other, est.inputs, est.output, est.tokens, catalogue, ctx)
        if prediction.provenance == "unbound":
            continue
        busy = max(1.0, min(float(spread), est.inputs.get("items", 0.0)))
        variants = [(spread, busy)]
        if spread > 1:
            variants.append((1, 1.0))  # one copy: on one GPU, or on a small node
        for copies_out, divide in variants:
            make = partial(
                _mode,
                op,
                other,
                prediction.latency_s / divide,
                prediction,
                copies,
                rounds,
                total,
                fanout=copies_out,
                knobs=True,
            )
            for mode in _ways(make, copies, nodes):
                _add(modes, mode)
    return modes


def _add(modes: list[Mode], mode: Mode) -> None:
    if all(_same(mode, m) is False for m in modes):
        modes.append(mode)


def _ways(make: Callable[..., Mode], copies: int, nodes: tuple[NodeSpec, ...]) -> list[Mode]:
    """`make(at_once=K)` for all the copies at once, then in the waves `_at_once` picks."""
    gang = make(at_once=copies)
    return [gang, *(make(at_once=k) for k in _at_once(gang, copies, nodes))]


def _at_once(gang: Mode, copies: int, nodes: tuple[NodeSpec, ...]) -> list[int]:
    """How many of the `copies` of a mode (`gang`: all of them at once) may run at
    once in waves: the most that one node holds, then about half as many, down to
    one, each the fewest copies that give its number of waves. Empty for one copy,
    or a mode that holds nothing (a hosted call: its copies overlap freely)."""
    if copies <= 1 or gang.holds_nothing:
        return []
    per_copy = max(1, (gang.gpus or gang.cores) // copies)
    if gang.gpus:
        room = max((n.gpu_count(gang.gpu_type) for n in nodes), default=0)
    else:
        room = max((n.cores for n in nodes), default=0)
    out: list[int] = []
    k = min(room // per_copy, copies - 1)
    while k >= 1:
        fewest = math.ceil(copies / math.ceil(copies / k))
        if fewest not in out:
            out.append(fewest)
        k = fewest // 2
    return out


def _cores_at_most(op: Op, capability: Capability) -> int:
    cores = op.attr("cores") if op.device == "cpu" else None
    if cores is None:
        knob = capability.knob("cores")
        cores = knob.default if knob is not None else 1
    return int(cores) if isinstance(cores, (int, float)) and not isinstance(cores, bool) else 1


def _same(a: Mode, b: Mode) -> bool:
    return (a.device, a.cores, a.gpus, a.knobs) == (b.device, b.cores, b.gpus, b.knobs) or (
        a.label == b.label
    )


def _model(config: OpConfig) -> Literal | None:
    return config.knobs.get("model")


def _mode(
    op: Op,
    config: OpConfig,
    latency: float,
    prediction: Prediction,
    copies: int,
    rounds: int,
    total: float,
    fanout: int | None = None,
    knobs: bool = False,
    at_once: int | None = None,
) -> Mode:
    """One mode: `config` on its device, `copies` side by side (`at_once` of them
    at a time, in waves; None: as the op says), `rounds` in a row. `knobs`: the
    mode sets the op's resource knobs; otherwise it keeps them, and sets only
    `at_once` when that is given."""
    spread = fanout
    if spread is None:
        written = op.attr("fanout")
        spread = written if isinstance(written, int) and not isinstance(written, bool) else 1
    spread = max(1, spread)
    device = device_text(config.device, config.units)
    energy = prediction.energy_j * total
    cost = prediction.cost_usd * total
    given = at_once is not None
    if at_once is None:
        written_at_once = op.attr("at_once")
        at_once = (
            written_at_once
            if isinstance(written_at_once, int) and not isinstance(written_at_once, bool)
            else copies
        )
    side_by_side = max(1, min(copies, at_once))
    waves = 1 if config.device == "hosted" else math.ceil(copies / side_by_side)
    duration = latency * rounds * waves
    at_once_value = side_by_side if side_by_side < copies else None
    settings: tuple[tuple[str, Literal | None], ...] = ()
    if knobs:
        values: dict[str, Literal | None] = {
            k: v for k, v in config.knobs.items() if k in ("cores", "gpu", "tp")
        }
        values["fanout"] = spread if spread > 1 else None
        values["at_once"] = at_once_value
        settings = tuple(sorted(values.items()))
    elif given and config.device != "hosted":
        settings = (("at_once", at_once_value),)
    copies_note = f" x{spread}" if spread > 1 else ""
    if at_once_value is not None and config.device != "hosted":
        copies_note += f", {side_by_side} of {copies} at once"
    if config.device == "hosted":
        return Mode("hosted", device, duration, energy, cost, knobs=settings)
    if config.device == "cpu":
        cores = max(1, config.units) * spread * side_by_side
        per_copy = max(1, config.units)
        label = f"cpu {per_copy} core{'s' if per_copy > 1 else ''}{copies_note}"
        return Mode(label, device, duration, energy, cost, cores=cores, knobs=settings)
    gpus = config.units * spread * side_by_side
    memory = _tool_memory(op, config)
    return Mode(
        f"{device}{copies_note}",
        device,
        duration,
        energy,
        cost,
        gpu_type=config.device,
        gpus=gpus,
        memory_gb=memory,
        knobs=settings,
    )


def _tool_memory(op: Op, config: OpConfig) -> float:
    model = config.knobs.get("model")
    name = model if isinstance(model, str) else (config.impl.name if config.impl else "")
    params = PARAMS.get(name)
    if params is None:
        return UNKNOWN_TOOL_GB
    return round(params * 2 / 2**30 + WORKSPACE_GB, 3)
