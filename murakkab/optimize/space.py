"""The configuration space of a workflow, as the optimizer sees it.

Two levels of choice:
- per *part* (the whole workflow, or a workflow it inlined) that is an
  instance of a reference workflow: one of its profiled configurations
  (model, frames, STT; debaters, rounds), which fixes quality and token load;
- per *op*, given its part's configuration: the resources (implementation,
  device, GPU type and count, cores, operating point, a tool's model).
Every candidate carries its predicted latency, cost and energy from the cost
model; per op and part configuration, candidates dominated in all three are
pruned (they can never be better for any objective or SLO).

Knobs that neither a profile nor the resources cover (top_k, timeouts, ...)
keep their value as written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from murakkab.catalogue import Capability, Catalogue
from murakkab.cost.config import OpConfig, choose, flow_count, number
from murakkab.cost.grid import drop_ops
from murakkab.cost.ops import CostContext
from murakkab.cost.parts import find_parts
from murakkab.cost.workflow import estimate_workflow, predict_op
from murakkab.device import device_text, parse_device
from murakkab.executors import implementations_of
from murakkab.ir.core import Domain, Literal, Op, Operand, Workflow, operand_values
from murakkab.ir.rewrite import map_ops
from murakkab.optimize.shapes import admits, assignments
from murakkab.profiles.schema import ModelProfile, WorkflowProfile

GPU_TYPES = ("a100", "h100")
RESOURCE_KNOBS = ("gpu", "tp", "cores")


@dataclass(frozen=True)
class Choice:
    """One profiled configuration of a part."""

    config: tuple[tuple[str, Literal], ...]
    quality: float | None
    profile: str | None  # the workflow profile key


@dataclass(frozen=True)
class Candidate:
    """One way to run one op under one configuration of its part."""

    k: int  # index of the part's Choice
    config: OpConfig | None  # None: the op is dropped (an optional task switched off)
    latency: float  # one copy
    cost: float
    energy: float
    multiplier: float  # latency counts this many times on a path (enclosing rounds)
    copies: float  # the op runs this many times per request
    provenance: str

    @property
    def label(self) -> str:
        if self.config is None:
            return "dropped"
        impl = self.config.impl.name if self.config.impl is not None else "?"
        knobs = ",".join(f"{k}={v}" for k, v in sorted(self.config.knobs.items()) if k != "load")
        load = self.config.knobs.get("load")
        where = device_text(self.config.device, self.config.units)
        return (
            f"{impl}@{where}"
            + (f" load={load:g}" if isinstance(load, float) else "")
            + f" [{knobs}]"
        )


@dataclass
class Space:
    workflow: Workflow
    parts: dict[str, list[Choice]]  # part name ("" = whole) -> its profiled configurations
    part_of: dict[str, str]  # op -> part; ops in no part are absent
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)  # op -> candidates
    deps: dict[str, list[str]] = field(default_factory=dict)  # op -> ops it waits for
    sinks: list[str] = field(default_factory=list)  # ops whose end is the workflow's end
    order: list[str] = field(default_factory=list)  # non-flow ops, in a dependency order


def build_space(
    workflow: Workflow,
    catalogue: Catalogue,
    ctx: CostContext,
    args: tuple[Literal, ...] | None,
    profiles: list[WorkflowProfile],
) -> Space:
    ops = list(workflow.walk())
    as_written = {
        op.result.name: choose(op, cap) for op in ops if (cap := catalogue.lookup(op.name))
    }
    space = Space(workflow, {}, {})
    for part in find_parts(workflow, as_written, ctx):
        members = [op for op in ops if op.result.name in part.ops]
        shape = part.match.workflow
        admitted = [
            p
            for p in sorted(profiles, key=lambda p: p.key)
            if p.workflow == shape and admits(shape, p.config, members, catalogue)
        ]
        choices = [Choice(p.config, p.quality, p.key) for p in comparable(admitted, ctx)]
        if choices:
            space.parts[part.name] = choices
            space.part_of.update((op.result.name, part.name) for op in members)
    _structure(space)
    for configured, dropped, knob_of in _configurations(space, ops):
        estimate = estimate_workflow(configured, catalogue, ctx, args)
        by_name = {e.name: e for e in estimate.ops}
        configured_ops = {op.result.name: op for op in configured.walk()}
        for name in space.order:
            ks = knob_of.get(name)
            if ks is None:
                continue
            if name in dropped:
                space.candidates.setdefault(name, []).append(
                    Candidate(ks, None, 0.0, 0.0, 0.0, 1.0, 0.0, "prior")
                )
                continue
            op, est = configured_ops[name], by_name.get(name)
            capability = catalogue.lookup(op.name)
            if est is None or capability is None:
                continue
            multiplier = _multiplier(configured, name)
            found = [
                Candidate(
                    ks,
                    config,
                    (
                        p := predict_op(
                            op, config, est.inputs, est.output, est.tokens, catalogue, ctx
                        )
                    ).latency_s,
                    p.cost_usd,
                    p.energy_j,
                    multiplier,
                    est.copies,
                    p.provenance,
                )
                for config in resource_configs(op, capability, ctx)
            ]
            found = [c for c in found if c.provenance != "unbound"]
            space.candidates.setdefault(name, []).extend(pareto(found))
    return space


def _configurations(
    space: Space, ops: list[Op]
) -> Iterator[tuple[Workflow, set[str], dict[str, int]]]:
    """Workflows to price candidates on: for each part and each of its
    configurations, that part configured so (the other parts at their first
    configuration, since an op's sizes depend on its own part only); and once
    more for the ops in no part. Yields the workflow, the ops it drops, and the
    ops it prices with their configuration index."""
    names = sorted(space.parts)
    members = {n: [op for op in ops if space.part_of.get(op.result.name) == n] for n in names}

    def configure(picks: dict[str, int]) -> tuple[Workflow, set[str]]:
        values: dict[str, dict[str, Literal]] = {}
        dropped: set[str] = set()
        for name, k in picks.items():
            choice = space.parts[name][k]
            part_values, part_dropped = assignments(_shape_of(choice), choice.config, members[name])
            values.update(part_values)
            dropped |= part_dropped
        configured = map_ops(space.workflow, _setter(values))
        return drop_ops(configured, dropped), dropped

    first = {name: 0 for name in names}
    workflow, dropped = configure(first)
    yield (
        workflow,
        dropped,
        {op.result.name: 0 for op in ops if op.result.name not in space.part_of},
    )
    for name in names:
        for k in range(len(space.parts[name])):
            workflow, dropped = configure({**first, name: k})
            yield workflow, dropped, {op.result.name: k for op in members[name]}


def _setter(values: dict[str, dict[str, Literal]]) -> Callable[[Op], Op]:
    return lambda op: op.with_attrs(**values.get(op.result.name, {}))


def _shape_of(choice: Choice) -> str:
    assert choice.profile is not None
    return choice.profile.split("/")[1]


def _structure(space: Space) -> None:
    flat = flatten_dependencies(space.workflow)
    space.order.extend(flat.order)
    space.deps.update(flat.deps)
    space.sinks = flat.sinks


@dataclass(frozen=True)
class Dependencies:
    """The dependencies between a workflow's non-flow ops, regions flattened."""

    order: list[str]  # non-flow ops, in program order (a dependency order)
    deps: dict[str, list[str]]  # op -> the non-flow ops it waits for, sorted
    sinks: list[str]  # the ops whose end is the workflow's end


def flatten_dependencies(workflow: Workflow) -> Dependencies:
    """Dependencies between non-flow ops, flattening regions: an op in a region
    waits for what it reads outside, a region's argument stands for its initial
    value, and a region's users wait for its result. The optimizer and placement
    both schedule on this graph."""
    producers: dict[str, list[str]] = {p.name: [] for p in workflow.params}
    order: list[str] = []
    deps: dict[str, list[str]] = {}

    def ends(operand: Operand) -> list[str]:
        return sorted({p for v in operand_values(operand) for p in producers.get(v.name, [])})

    def visit(ops: tuple[Op, ...]) -> None:
        for op in ops:
            if op.region is not None:
                for arg, init in zip(op.region.args, op.operands):
                    producers[arg.name] = ends(init)
                visit(op.region.ops)
                producers[op.result.name] = ends(op.region.result)
                continue
            order.append(op.result.name)
            deps[op.result.name] = sorted({p for o in op.operands for p in ends(o)})
            producers[op.result.name] = [op.result.name]

    visit(workflow.ops)
    return Dependencies(order, deps, ends(workflow.result))


def _multiplier(workflow: Workflow, name: str) -> float:
    """How many times an op's latency counts on a path: the rounds around it."""

    def search(ops: tuple[Op, ...], factor: float) -> float | None:
        for op in ops:
            if op.result.name == name:
                return factor
            if op.region is not None:
                inner = factor * (flow_count(op) or 1) if op.name == "flow.repeat" else factor
                found = search(op.region.ops, inner)
                if found is not None:
                    return found
        return None

    return search(workflow.ops, 1.0) or 1.0


def resource_configs(op: Op, capability: Capability, ctx: CostContext) -> list[OpConfig]:
    """Every resource configuration the op may run with, respecting its pins."""
    base = choose(op, capability)
    out: list[OpConfig] = []
    for impl in implementations_of(capability.name):
        if not impl.is_configured():
            continue  # its weights are the user's, and not given
        for device in _devices(op, capability, impl.devices, base, ctx):
            for knobs, units in _resource_knobs(op, capability, base, device, ctx):
                out.append(OpConfig(impl, knobs, device, units))
    return [c for c in out if _runs_on(c)]


def _runs_on(config: OpConfig) -> bool:
    impl = config.impl
    if impl is None:
        return False
    if config.device == "hosted":
        return impl.name == "openai-compatible"
    if impl.name == "openai-compatible":
        return False
    side = "cpu" if config.device == "cpu" else "gpu"
    return side in impl.devices


def _devices(
    op: Op,
    capability: Capability,
    impl_devices: tuple[str, ...],
    base: OpConfig,
    ctx: CostContext,
) -> list[str]:
    pinned = op.device
    if base.device == "hosted" or pinned == "hosted":
        return ["hosted"]
    options = []
    if "cpu" in impl_devices and "cpu" in capability.hardware:
        options.append("cpu")
    if "gpu" in impl_devices and "gpu" in capability.hardware:
        options.extend(g for g in GPU_TYPES if gpus_per_node(ctx, g) > 0)
    if pinned == "cpu":
        options = [d for d in options if d == "cpu"]
    elif pinned is not None and pinned.startswith("gpu"):
        wanted = parse_device(pinned).gpu_type
        options = [d for d in options if d != "cpu" and (not wanted or wanted == d)]
    return options


def _resource_knobs(
    op: Op, capability: Capability, base: OpConfig, device: str, ctx: CostContext
) -> list[tuple[dict[str, Literal], int]]:
    """Knob values for one device: cores, GPU type and count, operating point, tool model."""
    knobs = dict(base.knobs)
    knobs.pop("load", None)
    if capability.kind == "tool":
        models: list[Literal | None] = list(_domain(op, capability, "model")) or [None]
        cores = _domain(op, capability, "cores") or [1]
        found = []
        for model, core in itertools.product(models, cores if device == "cpu" else [1]):
            variant = dict(knobs)
            if model is not None:
                variant["model"] = model
            if "cores" in variant or capability.knob("cores") is not None:
                variant["cores"] = core
            found.append((variant, int(number(core, 1)) if device == "cpu" else 1))
        return found
    # Every model the op may use (its domain, else its pin or the default): the
    # one `choose` picked may have no profile on this device while another has.
    domain = isinstance(op.attr("model"), Domain)
    chosen = _domain(op, capability, "model") if domain else [knobs.get("model", "")]
    out: list[tuple[dict[str, Literal], int]] = []
    for model in chosen:
        out += _llm_knobs(op, capability, {**knobs, "model": model or ""}, device, ctx)
    return out


def _llm_knobs(
    op: Op, capability: Capability, knobs: dict[str, Literal], device: str, ctx: CostContext
) -> list[tuple[dict[str, Literal], int]]:
    """An LLM op's knob values for one model on one device: its operating points."""
    model = str(knobs.get("model", ""))
    if device in ("hosted", "cpu"):
        profile = ctx.profiles.get(f"model/{model}/{device}/tp0")
        if not isinstance(profile, ModelProfile):
            return []
        # gpu and tp mean nothing here; cores are a local model's threads (llama.cpp)
        drop = ("gpu", "tp") if device == "cpu" else ("gpu", "tp", "cores")
        knobs = {k: v for k, v in knobs.items() if k not in drop}
        units = int(number(knobs.get("cores"), 1)) if device == "cpu" else 0
        return [({**knobs, "load": p.load_tps}, units) for p in profile.points]
    if _domain(op, capability, "gpu") and device not in _domain(op, capability, "gpu"):
        return []
    found = []
    for tp in _domain(op, capability, "tp") or [1]:
        if int(number(tp, 1)) > gpus_per_node(ctx, device):
            continue  # tensor parallelism stays within one node
        profile = ctx.profiles.get(f"model/{model}/{device}/tp{tp}")
        if not isinstance(profile, ModelProfile):
            continue
        served = {k: v for k, v in knobs.items() if k != "cores"}  # threads of a CPU model
        for point in profile.points:
            units = int(number(tp, 1))
            found.append(({**served, "gpu": device, "tp": tp, "load": point.load_tps}, units))
    return found


def gpus_per_node(ctx: CostContext, gpu: str) -> int:
    """The most GPUs of type `gpu` ("a100") one node of the cluster holds: the
    optimizer only chooses devices the cluster has, and keeps a tensor-parallel
    group on one node."""
    kind = ctx.hardware.kind(gpu)
    nodes = getattr(ctx.hardware, "nodes", ())
    if kind is None:
        return 0
    return max((node.gpu_count(kind.name) for node in nodes), default=0)


def _domain(op: Op, capability: Capability, knob: str) -> list[Literal]:
    """The values a knob may take here: the op's pin or domain, else the declaration's."""
    written = op.attr(knob)
    if written is not None:
        return list(getattr(written, "values", (written,)))
    declared = capability.knob(knob)
    if declared is None:
        return []
    if declared.values is not None:
        return list(declared.values)
    return [] if declared.default is None else [declared.default]


def pareto(candidates: list[Candidate]) -> list[Candidate]:
    """Drop candidates another beats or ties on latency, cost and energy (first kept)."""
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.latency, c.cost, c.energy, c.label)):
        if any(k.latency <= c.latency and k.cost <= c.cost and k.energy <= c.energy for k in kept):
            continue
        kept.append(c)
    return kept


def comparable(population: list[WorkflowProfile], ctx: CostContext) -> list[WorkflowProfile]:
    """The workflow configurations comparable on this cluster: on one with GPUs those
    whose model is served on GPUs (or hosted), on a CPU-only machine the local
    models'. Their accuracies come from different question sets (the reference
    benchmark, the generated one of `mkc profile`): one population would mix
    scales, in a quality tier and in the configurations a part chooses among."""
    from murakkab.profiles.tiers import split_local

    models: list[object] = getattr(ctx.profiles, "all", lambda kind: [])("model")
    # hardware that names no nodes (a bare catalogue) is taken as the reference cloud
    has_gpus = getattr(ctx.hardware, "nodes", None) is None or any(
        gpus_per_node(ctx, gpu) > 0 for gpu in GPU_TYPES
    )
    served, local = split_local(population, models)
    return served if has_gpus else local
