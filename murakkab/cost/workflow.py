"""Workflow predictions: per-op estimates, the critical path and the totals.

Latency is the critical path: an op starts when the last of its inputs is
ready, so independent branches overlap. `flow.parallel` runs its N copies side
by side (latency of one, cost and energy of N); `flow.repeat` runs R rounds
one after another. Cost and energy add up over every op and copy.

Quality: when the workflow is an instance of a profiled reference workflow
(see shapes.py), its workflow profile gives end-to-end quality and the token
load its LLM calls share. Otherwise quality composes per op: the product of the
qualities of the ops that have one (a chain is as good as all its links), and
unknown when none has.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from murakkab.catalogue import Catalogue
from murakkab.cost.config import (
    OpConfig,
    Size,
    choose,
    flow_count,
    merged,
    number,
    operand_size,
    param_size,
)
from murakkab.cost.ops import CostContext, llm_prediction, tool_prediction
from murakkab.cost.parts import Part, find_parts
from murakkab.cost.prediction import Prediction, weakest
from murakkab.cost.shapes import Match
from murakkab.cost.sizes import output_size, prompt_tokens, tool_work
from murakkab.ir.core import Literal, Op, Workflow, operand_values, walk_ops
from murakkab.profiles.schema import WorkflowProfile


@dataclass(frozen=True)
class OpEstimate:
    name: str  # the op's result value
    op: str
    config: OpConfig | None
    prediction: Prediction  # one copy
    copies: float  # how many times it runs per request (parallel agents x rounds)
    start_s: float
    finish_s: float
    inputs: Size = field(default_factory=dict, compare=False)  # sizes it reads
    output: Size = field(default_factory=dict, compare=False)  # sizes it makes
    tokens: float = 0.0  # LLM output tokens per call it was predicted with


@dataclass(frozen=True)
class WorkflowEstimate:
    workflow: str
    ops: tuple[OpEstimate, ...]
    total: Prediction
    critical_path: tuple[str, ...]
    match: Match | None
    profile: WorkflowProfile | None
    notes: tuple[str, ...] = field(default=())


def estimate_workflow(
    workflow: Workflow,
    catalogue: Catalogue,
    ctx: CostContext,
    args: tuple[Literal, ...] | None = None,
) -> WorkflowEstimate:
    configs = {
        op.result.name: choose(op, cap)
        for op in workflow.walk()
        if (cap := catalogue.lookup(op.name)) is not None
    }
    parts = find_parts(workflow, configs, ctx)
    tokens: dict[str, float] = {}
    for part in parts:
        per_call = part.tokens_per_call()
        if per_call is not None:
            tokens.update((name, per_call) for name in part.ops)
    walker = _Walker(catalogue, ctx, configs, tokens)
    for index, param in enumerate(workflow.params):
        arg = args[index] if args is not None and index < len(args) else None
        walker.sizes[param.name] = param_size(param.type, arg, ctx.assume)
        walker.finish[param.name] = 0.0
    walker.block(workflow.ops, copies=1.0)
    result_names = [v.name for v in operand_values(workflow.result)]
    latency = max((walker.finish.get(n, 0.0) for n in result_names), default=0.0)
    cost = sum(e.prediction.cost_usd * e.copies for e in walker.estimates if e.op not in _FLOW)
    energy = sum(e.prediction.energy_j * e.copies for e in walker.estimates if e.op not in _FLOW)
    quality, notes = _quality(parts, walker.estimates)
    sources = [e.prediction.provenance for e in walker.estimates]
    sources += [p.profile.origin for p in parts if p.profile is not None]
    total = Prediction(latency, cost, energy, quality, weakest(sources), notes)
    path = walker.critical_path(result_names)
    whole = parts[0] if parts and parts[0].name == "" else None
    return WorkflowEstimate(
        workflow.name,
        tuple(walker.estimates),
        total,
        path,
        None if whole is None else whole.match,
        None if whole is None else whole.profile,
        notes,
    )


_FLOW = ("flow.parallel", "flow.repeat")


def _quality(
    parts: list[Part], estimates: list[OpEstimate]
) -> tuple[float | None, tuple[str, ...]]:
    """A profiled whole workflow, else the product over its profiled parts and the
    ops with a quality of their own; what no profile covers is named in a note."""
    profiled = [(part, part.profile) for part in parts if part.profile is not None]
    if len(profiled) == 1 and profiled[0][0].name == "":
        profile = profiled[0][1]
        return profile.quality, (f"quality and token load from {profile.key}",)
    covered = {name for part, _ in profiled for name in part.ops}
    rest = [e for e in estimates if e.name not in covered and e.op not in _FLOW]
    known = [profile.quality for _, profile in profiled]
    known += [e.prediction.quality for e in rest if e.prediction.quality is not None]
    notes = [f"quality of part '{part.name}' from {profile.key}" for part, profile in profiled]
    if not known:
        return None, tuple(notes)
    unknown = [e.name for e in rest if e.prediction.quality is None]
    if unknown:
        notes.append("quality leaves out what no profile covers: " + ", ".join(unknown))
    product = 1.0
    for quality in known:
        product *= quality
    return product, tuple(notes)


class _Walker:
    """Walks ops in program order, tracking sizes, finish times and estimates."""

    def __init__(
        self,
        catalogue: Catalogue,
        ctx: CostContext,
        configs: dict[str, OpConfig],
        tokens: dict[str, float],
    ):
        self.catalogue = catalogue
        self.ctx = ctx
        self.configs = configs
        self.tokens = tokens
        self.sizes: dict[str, Size] = {}
        self.finish: dict[str, float] = {}
        self.after: dict[str, str | None] = {}  # the input an op waited for last
        self.estimates: list[OpEstimate] = []

    def tokens_of(self, op: Op) -> float:
        """Output tokens of an LLM call: its part's profiled load, else the assumption."""
        return self.tokens.get(op.result.name, self.ctx.assume.output_tokens)

    def block(self, ops: tuple[Op, ...], copies: float) -> None:
        for op in ops:
            self.op(op, copies)

    def op(self, op: Op, copies: float) -> None:
        inputs = _reads(op)
        start = max((self.finish.get(n, 0.0) for n in inputs), default=0.0)
        self.after[op.result.name] = max(
            inputs, key=lambda n: self.finish.get(n, 0.0), default=None
        )
        if op.region is not None:
            self.flow(op, start, copies)
            return
        inputs_size = merged([operand_size(o, self.sizes, self.ctx.assume) for o in op.operands])
        config = self.configs.get(op.result.name)
        knobs = config.knobs if config is not None else {}
        output = output_size(op.name, knobs, inputs_size, self.ctx.assume, self.tokens_of(op))
        self.sizes[op.result.name] = output
        tokens = self.tokens_of(op)
        prediction = _fanned_out(
            op,
            predict_op(op, config, inputs_size, output, tokens, self.catalogue, self.ctx),
            inputs_size,
        )
        finish = start + prediction.latency_s
        self.finish[op.result.name] = finish
        self.estimates.append(
            OpEstimate(
                op.result.name,
                op.name,
                config,
                prediction,
                copies,
                start,
                finish,
                inputs_size,
                output,
                tokens,
            )
        )

    def flow(self, op: Op, start: float, copies: float) -> None:
        """A region: N side-by-side copies, or R rounds in sequence."""
        assert op.region is not None
        count = float(flow_count(op) or 1)
        sequential = op.name == "flow.repeat"
        for arg, init in zip(op.region.args, op.operands):
            names = [v.name for v in operand_values(init)]
            self.sizes[arg.name] = self.sizes.get(names[0], {}) if names else {}
            self.finish[arg.name] = start
        first = len(self.estimates)
        self.block(op.region.ops, copies * count)
        inner = self.estimates[first:]
        result = [v.name for v in operand_values(op.region.result)]
        one_copy = max((self.finish.get(n, start) for n in result), default=start) - start
        latency = one_copy * count if sequential else one_copy
        # Nested flow ops only summarise ops that are already in `inner`.
        work = [e for e in inner if e.op not in _FLOW]
        cost = sum(e.prediction.cost_usd * e.copies for e in work) / max(copies, 1e-9)
        energy = sum(e.prediction.energy_j * e.copies for e in work) / max(copies, 1e-9)
        provenance = weakest(e.prediction.provenance for e in inner)
        prediction = Prediction(latency, cost, energy, None, provenance, (f"x{count:g}",))
        self.sizes[op.result.name] = self.sizes.get(result[0], {}) if result else {}
        self.finish[op.result.name] = start + latency
        self.estimates.append(
            OpEstimate(op.result.name, op.name, None, prediction, copies, start, start + latency)
        )

    def critical_path(self, results: list[str]) -> tuple[str, ...]:
        path: list[str] = []
        node = max(results, key=lambda n: self.finish.get(n, 0.0), default=None)
        while node is not None and node in self.after:
            path.append(node)
            node = self.after[node]
        return tuple(reversed(path))


def predict_op(
    op: Op,
    config: OpConfig | None,
    inputs: Size,
    output: Size,
    tokens: float,
    catalogue: Catalogue,
    ctx: CostContext,
) -> Prediction:
    """One copy of one op on `config`, reading `inputs` and making `output`."""
    capability = catalogue.lookup(op.name)
    if config is None or capability is None:
        return Prediction.zero("unbound", f"{op.name} is not bound to an executor yet")
    if capability.kind == "tool":
        unit = config.impl.unit if config.impl is not None else "call"
        return tool_prediction(op.name, config, tool_work(unit, inputs, output), ctx)
    model = str(config.knobs.get("model", ""))
    prompt = prompt_tokens(inputs, ctx.assume)
    single = llm_prediction(config, model, tokens, ctx, prompt)
    if capability.kind == "llm":
        return single
    return _composition(op.name, config, single)


def _fanned_out(op: Op, prediction: Prediction, inputs: Size) -> Prediction:
    """An op the parallelism pass fanned out over its list items runs `fanout`
    copies side by side: latency divides by the copies that have work; cost and
    energy stay (the same core-seconds, spread over more cores)."""
    fanout = op.attr("fanout")
    if not isinstance(fanout, int) or isinstance(fanout, bool) or fanout < 2:
        return prediction
    copies = min(float(fanout), inputs.get("items", 0.0))
    if copies <= 1:
        return prediction
    return replace(
        prediction,
        latency_s=prediction.latency_s / copies,
        notes=prediction.notes + (f"fanned out {copies:g} ways",),
    )


def _reads(op: Op) -> list[str]:
    """The values an op waits for: its operands and, for a flow op, the outer
    values its region reads."""
    names = [v.name for operand in op.operands for v in operand_values(operand)]
    if op.region is None:
        return names
    defined = {arg.name for arg in op.region.args}
    inner = list(walk_ops(op.region.ops))
    for inner_op in inner:
        defined.add(inner_op.result.name)
        for arg in inner_op.region.args if inner_op.region is not None else ():
            defined.add(arg.name)
    used = [v.name for o in inner for operand in o.operands for v in operand_values(operand)]
    used += [v.name for v in operand_values(op.region.result)]
    return names + [name for name in used if name not in defined]


def _composition(capability: str, config: OpConfig, call: Prediction) -> Prediction:
    """Debate: a tester and `debaters` coders draft side by side, `rounds` rounds of
    revision follow, then a ranking call (the sandboxed test runs are not counted).
    Self-reflection: one answer, then a critique and a revision per round."""
    rounds = number(config.knobs.get("rounds"), 1.0)
    if capability == "agents.debate":
        debaters = number(config.knobs.get("debaters"), 2.0)
        steps, calls = rounds + 2, debaters * (rounds + 1) + 2
    else:
        steps = calls = 1 + 2 * rounds
    return Prediction(
        call.latency_s * steps,
        call.cost_usd * calls,
        call.energy_j * calls,
        None,
        call.provenance,
        call.notes + (f"{calls:g} LLM calls in {steps:g} steps",),
    )
