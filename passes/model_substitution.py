"""model-substitution: choose models, knobs and resources jointly against the SLO.

The SLO is end to end (latency sums along the critical path, qualities
compose), so choices are made for the whole workflow at once by Z3 over
Pareto-pruned candidates (murakkab/optimize/), never op by op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from murakkab.passes.base import PassContext

from murakkab.cost.config import flow_count
from murakkab.cost.grid import drop_ops
from murakkab.cost.ops import CostContext
from murakkab.device import device_text
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.ir.core import Level, Literal, Module, Op, Workflow
from murakkab.ir.rewrite import map_ops
from murakkab.optimize.evaluate import evaluate, meets, rank
from murakkab.optimize.shapes import assignments
from murakkab.optimize.solve import Conflict, Solution, solve
from murakkab.optimize.space import Space, build_space
from murakkab.profiles.schema import WorkflowProfile
from murakkab.slo import SloBound, SloSpec, format_bound

OBJECTIVES = ("cost", "energy", "latency", "quality")


@dataclass(frozen=True)
class ModelSubstitutionPass:
    """Does: picks each op's model, knobs, implementation, device and operating point jointly.
    Requires: every task bound to a capability (run bind-executors first).
    Ensures: physical IR meeting the request's SLO, optimal for its objective under the cost model.
    """

    name: ClassVar[str] = "model-substitution"
    objective: str = ""  # cost|energy|latency|quality; default: the request's, else cost
    timeout_ms: int = 10_000  # per Z3 call
    max_exact: int = 16  # exact searches of part configurations; past it, "heuristic"

    def __post_init__(self) -> None:
        if self.objective and self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")

    def apply(self, module: Module, ctx: PassContext) -> Module:
        workflows = tuple(self._workflow(w, ctx) for w in module.workflows)
        return module.replace(workflows=workflows, level=Level.PHYSICAL)

    def _workflow(self, workflow: Workflow, ctx: PassContext) -> Workflow:
        unbound = [op for op in workflow.walk() if op.name == "nl.task"]
        if unbound:
            raise DiagnosticError(
                [
                    Diagnostic.error(
                        "MK0504",
                        op.span,
                        f"task '{op.result.name}' is not bound to an executor",
                        hint="run bind-executors before model-substitution",
                    )
                    for op in unbound
                ]
            )
        slo = ctx.slos.get(workflow.name, SloSpec())
        objective = self.objective or (slo.objective.metric if slo.objective else "cost")
        cost = ctx.cost_context()
        everything = cost.profiles.all("workflow")  # type: ignore[attr-defined]
        profiles = [p for p in everything if isinstance(p, WorkflowProfile)]
        space = build_space(workflow, ctx.catalogue, cost, ctx.args.get(workflow.name), profiles)
        stranded = _stranded(space, workflow, cost)
        if stranded:
            raise DiagnosticError(stranded)
        result = solve(space, slo, objective, self.timeout_ms, self.max_exact)
        if isinstance(result, Conflict):
            raise DiagnosticError([_conflict(workflow, slo, result)])
        _explain(ctx, workflow, space, result, slo, objective)
        return _rewrite(workflow, space, result)


def _stranded(space: Space, workflow: Workflow, cost: CostContext) -> list[Diagnostic]:
    """MK0506 for every op with no way to run on the cluster (no profiled
    configuration on its devices), rather than a bare "no configuration"."""
    ops = {op.result.name: op for op in workflow.walk()}
    hardware = cost.hardware
    where = getattr(hardware, "name", "the cluster")
    summary = _cluster_summary(hardware)
    out = []
    for name in space.order:
        found = space.candidates.get(name, [])
        if any(c.config is not None for c in found) or (found and ops[name].attr("optional")):
            continue
        if not found and ops[name].attr("optional") is True:
            continue
        op = ops[name]
        models = op.attr("model")
        wanted = ", ".join(str(v) for v in getattr(models, "values", (models,))) if models else ""
        out.append(
            Diagnostic.error(
                "MK0506",
                op.span,
                f"task '{name}' ({op.name}) cannot run on cluster '{where}' ({summary})",
                (f"none of its models ({wanted})" if wanted else "none of its implementations")
                + " has a profile on the devices this cluster holds",
                hint="plan for a cluster that has them (--cluster FILE or MKC_CLUSTER,"
                " e.g. examples/clusters/cloud_a100_h100.toml), or allow a model that runs"
                " on CPU or hosted",
            )
        )
    return out


def _cluster_summary(hardware: object) -> str:
    cores = getattr(hardware, "total_cores", None)
    gpus = getattr(hardware, "gpu_count", None)
    if cores is None or gpus is None:
        return "unknown shape"
    count = gpus()
    return f"{cores} CPU cores, " + (f"{count} GPU(s)" if count else "no GPU")


def _rewrite(workflow: Workflow, space: Space, solution: Solution) -> Workflow:
    ops = list(workflow.walk())
    values: dict[str, dict[str, Literal]] = {}
    dropped: set[str] = set()
    for part, k in solution.picks.items():
        choice = space.parts[part][k]
        assert choice.profile is not None
        members = [op for op in ops if space.part_of.get(op.result.name) == part]
        part_values, part_dropped = assignments(
            choice.profile.split("/")[1], choice.config, members
        )
        values.update(part_values)
        dropped |= part_dropped

    def physical(op: Op) -> Op:
        if op.region is not None:
            count = values.get(op.result.name, {})
            attr = "agents" if op.name == "flow.parallel" else "rounds"
            return op.with_attrs(**{attr: count.get(attr, flow_count(op) or 1)})
        chosen = solution.choices.get(op.result.name)
        if chosen is None or chosen.config is None:
            return op
        config = chosen.config
        knobs: dict[str, Literal | None] = dict(config.knobs)
        if isinstance(knobs.get("load"), float):
            knobs["load"] = float(f"{knobs['load']:.6g}")
        impl = config.impl.name if config.impl is not None else None
        return op.with_attrs(**knobs, impl=impl).replace(
            device=device_text(config.device, config.units)
        )

    return drop_ops(map_ops(workflow, physical), dropped)


def _explain(
    ctx: PassContext,
    workflow: Workflow,
    space: Space,
    solution: Solution,
    slo: SloSpec,
    objective: str,
) -> None:
    metrics = solution.metrics
    ctx.decide(
        "model-substitution",
        workflow=workflow.name,
        kind="plan",
        objective=objective,
        status=solution.status,
        predicted=_metrics(metrics),
        slack={format_bound(b): _slack(metrics.get(b.metric), b) for b in slo.bounds},
        configuration={p: dict(space.parts[p][k].config) for p, k in solution.picks.items()},
        rejected_configurations=[
            {"configuration": label, "why": why} for label, why in solution.skipped
        ],
    )
    best = rank(metrics, objective)
    for op in space.order:
        chosen = solution.choices[op]
        others = []
        for candidate in space.candidates.get(op, []):
            if candidate.label == chosen.label or candidate.k != chosen.k:
                continue
            trial = evaluate(space, solution.picks, {**solution.choices, op: candidate})
            if not meets(trial, slo):
                why = "violates the SLO"
            elif rank(trial, objective)[0] > best[0]:
                why = f"worse {objective}"
            else:
                why = f"same {objective}, worse on latency, cost or energy"
            others.append({"candidate": candidate.label, "predicted": _metrics(trial), "why": why})
        ctx.decide(
            "model-substitution",
            workflow=workflow.name,
            kind="op",
            op=op,
            chosen=chosen.label,
            latency=chosen.latency * chosen.multiplier,
            cost=chosen.cost * chosen.copies,
            energy=chosen.energy * chosen.copies,
            rejected=others,
        )


def _metrics(metrics: Any) -> dict[str, float | None]:
    return {
        "latency_s": metrics.latency,
        "cost_usd": metrics.cost,
        "energy_j": metrics.energy,
        "quality": metrics.quality,
    }


def _slack(value: float | None, bound: SloBound) -> float | None:
    """How far inside its bound the plan is; negative when it misses it."""
    if value is None or bound.value is None:
        return None
    return value - bound.value if bound.metric == "quality" else bound.value - value


def _conflict(workflow: Workflow, slo: SloSpec, conflict: Conflict) -> Diagnostic:
    bounds = conflict.bounds or slo.bounds
    together = " and ".join(format_bound(b) for b in bounds)
    notes = []
    for bound in bounds:
        reached = conflict.best.get(bound.metric)
        others = " and ".join(format_bound(b) for b in bounds if b is not bound)
        within = f" with {others}" if others else ""
        if reached is None:
            notes.append(f"{bound.metric}: no plan at all{within}")
            continue
        best = "lowest" if bound.metric != "quality" else "highest"
        op = ">=" if bound.metric == "quality" else "<="
        notes.append(
            f"the {best} {bound.metric} any plan{within} reaches is {reached:.4g}:"
            f" relax {bound.metric} to {op} {reached:.4g}"
        )
    span = bounds[0].span if bounds else workflow.span
    return Diagnostic.error(
        "MK0505",
        span,
        f"no configuration of '{workflow.name}' meets {together}",
        *notes,
        hint="relax one of the bounds, or add executors, models or hardware",
    )
