"""placement: every op onto the cores and GPUs of the cluster, with a start time.

Greedy list scheduling gives an incumbent in milliseconds; Z3 (or CP-SAT)
improves or proves it within `timeout-ms` (murakkab/placement/). The plan
records whether it is proven optimal, improved or heuristic, with the gap to
a lower bound; `mkc explain` shows the plans with fewer and more GPUs and why
they lose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from murakkab.passes.base import PassContext

from murakkab.diagnostics import DiagnosticError
from murakkab.ir.core import Level, Literal, Module, Op, Workflow
from murakkab.ir.rewrite import map_ops
from murakkab.placement.alternatives import Alternative, alternatives
from murakkab.placement.build import bounds_of, build_problem
from murakkab.placement.conflict import infeasible
from murakkab.placement.cpsat import available as cpsat_available
from murakkab.placement.guards import check_dump_target, not_physical, write_dump
from murakkab.placement.problem import OBJECTIVES, Problem
from murakkab.placement.schedule import Schedule
from murakkab.placement.solve import SOLVERS, Outcome, solve
from murakkab.slo import SloSpec


@dataclass(frozen=True)
class PlacementPass:
    """Does: assigns every op a mode (CPU cores or GPUs), a node, GPU ids and a start time.
    Requires: a verified physical module (run model-substitution first; else MK0508).
    Ensures: placed IR whose schedule fits the cluster and meets the latency SLO, or MK0507.
    """

    name: ClassVar[str] = "placement"
    # gpus|energy|cost|latency; default: the request's energy, cost or latency, else gpus
    objective: str = ""
    timeout_ms: int = 2000  # the whole search, greedy included
    solver: str = "z3"  # z3|cpsat
    explain: bool = False  # also search the plans with fewer and more GPUs (mkc explain does)

    def __post_init__(self) -> None:
        if self.objective and self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}")
        if self.solver == "cpsat" and not cpsat_available():
            raise ValueError("solver=cpsat needs OR-Tools: pip install 'murakkab[solvers]'")
        if self.timeout_ms < 1:
            raise ValueError("timeout-ms must be at least 1")

    def apply(self, module: Module, ctx: PassContext) -> Module:
        if module.level is Level.LOGICAL:
            raise DiagnosticError([not_physical(w) for w in module.workflows])
        if ctx.dump_smt:
            check_dump_target(ctx.dump_smt)  # before the search, not after it
        dumped = _dumped(module)
        workflows = []
        for workflow in module.workflows:
            workflows.append(self._workflow(workflow, ctx, dump=workflow.name == dumped))
        return module.replace(workflows=tuple(workflows), level=Level.PLACED)

    def _workflow(self, workflow: Workflow, ctx: PassContext, dump: bool) -> Workflow:
        slo = ctx.slos.get(workflow.name, SloSpec())
        objective = self.objective or _default_objective(slo)
        cost = ctx.cost_context()
        problem = build_problem(
            workflow, ctx.catalogue, cost, ctx.args.get(workflow.name), bounds_of(slo), objective
        )
        outcome = solve(problem, self.solver, self.timeout_ms, dump=dump and bool(ctx.dump_smt))
        if outcome.smt is not None and ctx.dump_smt:
            write_dump(ctx.dump_smt, outcome.smt)
        if outcome.schedule is None:
            raise DiagnosticError([infeasible(workflow, slo, problem, self.timeout_ms)])
        others = (
            alternatives(problem, outcome, self.solver, self.timeout_ms) if self.explain else []
        )
        _explain(ctx, workflow, problem, outcome, others)
        return _rewrite(workflow, problem, outcome.schedule)


def _default_objective(slo: SloSpec) -> str:
    """The request's energy, cost or latency objective; otherwise GPUs held."""
    metric = slo.objective.metric if slo.objective is not None else ""
    return metric if metric in ("energy", "cost", "latency") else "gpus"


def _dumped(module: Module) -> str:
    """The workflow `--dump-smt` writes: the first request's, else the first."""
    if module.requests:
        return module.requests[0].workflow
    return module.workflows[0].name if module.workflows else ""


def _rewrite(workflow: Workflow, problem: Problem, schedule: Schedule) -> Workflow:
    starts: dict[str, float] = {}

    def placed(op: Op) -> Op:
        if op.region is not None:
            inner = [starts[o.result.name] for o in op.region.ops if o.result.name in starts]
            if inner:
                starts[op.result.name] = min(inner)
                return op.with_attrs(start=_seconds(min(inner)))
            return op
        job = problem.job(op.result.name)
        at = schedule.jobs[op.result.name]
        mode = job.modes[at.mode]
        starts[op.result.name] = at.start
        attrs: dict[str, Literal | None] = dict(mode.knobs)
        attrs["start"] = _seconds(at.start)
        attrs["node"] = at.node or None
        attrs["gpu_ids"] = tuple(at.gpu_ids) if at.gpu_ids else None
        if job.instance:
            attrs["instance"] = job.instance
        return op.with_attrs(**attrs).replace(device=mode.device)

    return map_ops(workflow, placed)


def _seconds(value: float) -> float:
    return float(f"{value:.4g}")


def _explain(
    ctx: PassContext,
    workflow: Workflow,
    problem: Problem,
    outcome: Outcome,
    others: list[Alternative],
) -> None:
    assert outcome.schedule is not None and outcome.metrics is not None
    m = outcome.metrics
    ctx.decide(
        "placement",
        workflow=workflow.name,
        kind="placement",
        objective=problem.objective,
        status=outcome.status,
        solver=outcome.solver,
        proof=outcome.proof or None,
        value=_number(outcome.value),
        bound=_number(outcome.bound),
        gap=_number(outcome.gap),
        greedy=_number(outcome.greedy_value),
        seconds=round(outcome.seconds, 3),
        latency_s=_number(m.makespan),
        energy_j=_number(m.energy),
        cost_usd=_number(m.cost),
        gpus=m.gpus,
        slo=_slo(problem),
    )
    for instance in problem.instances:
        node, ids = outcome.schedule.instances[instance.key]
        ctx.decide(
            "placement",
            workflow=workflow.name,
            kind="instance",
            instance=instance.key,
            node=node,
            gpu_ids=list(ids),
            ops=list(instance.calls),
        )
    for job in problem.jobs:
        at = outcome.schedule.jobs[job.name]
        mode = job.modes[at.mode]
        ctx.decide(
            "placement",
            workflow=workflow.name,
            kind="placed",
            op=job.name,
            mode=mode.label,
            device=mode.device,
            node=at.node,
            gpu_ids=list(at.gpu_ids),
            start_s=_number(at.start),
            end_s=_number(at.start + mode.duration),
            changed=at.mode != 0,
            was=job.modes[0].label if at.mode != 0 else None,
        )
    for other in others:
        ctx.decide("placement", workflow=workflow.name, kind="alternative", **other.record())


def _slo(problem: Problem) -> str | None:
    if problem.latency is None:
        return None
    return f"latency {'<' if problem.strict else '<='} {problem.latency:g}s"


def _number(value: float | None) -> Any:
    return None if value is None else float(f"{value:.4g}")
