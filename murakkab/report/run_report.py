"""The run report: every executed op, predicted beside measured, the totals and the SLO.

Predictions are the compiled plan's (its `est_*` attributes, carried by every
`OpTrace`), start times the placement's or else the estimate's; the end-to-end
prediction is the estimate's critical path. Measured latency end to end is the
run's wall time; cost and energy add up over the ops that ran (a cached op
costs nothing). Quality needs ground truth, so it is predicted only.

SLO bounds on latency, cost and energy are checked against the measured
totals only when the run finished and executed every op: with ops served from
the cache the totals leave out work an uncached run pays for (the cache keeps
results, not their measurements), so the verdict is "not checked".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from murakkab.cost.workflow import WorkflowEstimate
from murakkab.device import parse_device
from murakkab.plan import Plan, Step
from murakkab.runtime.invoke import CANCELLED
from murakkab.runtime.trace import OpTrace, RunResult
from murakkab.slo import SloBound, SloSpec, format_bound

# A copy of a step inside flow ops is named "step#copy" (parallel) or "step@round" (repeat).
_SUFFIX = re.compile(r"[#@].*$")
_ROUND = re.compile(r"@(\d+)")


@dataclass(frozen=True)
class OpRow:
    """One executed op (or a planned one that never ran)."""

    step: str
    op: str
    impl: str
    device: str  # what it ran on, for people: "cpu x8", "node-1 gpu:h100x4 [0-3]"
    lane: str  # the schedule lane it occupies: one per node's CPUs or set of GPUs
    status: str  # ok | cached | fallback | failed | abandoned | not run
    predicted: dict[str, float] = field(default_factory=dict)  # start_s, latency_s, ...
    start: float | None = None
    latency: float | None = None
    energy: float | None = None
    energy_source: str = ""
    cost: float | None = None
    attempts: int = 0
    fallback_from: str = ""
    error: str = ""

    @property
    def end(self) -> float | None:
        if self.start is None or self.latency is None:
            return None
        return self.start + self.latency


@dataclass(frozen=True)
class Total:
    metric: str  # latency, cost, energy, quality
    unit: str
    predicted: float | None
    measured: float | None
    note: str = ""


@dataclass(frozen=True)
class SloCheck:
    bound: str  # "latency < 30s"
    metric: str
    verdict: str  # met | missed | not measured | not checked
    measured: float | None = None
    predicted: float | None = None
    reason: str = ""  # why "not checked": the run did not finish, or ops came from the cache


@dataclass(frozen=True)
class RunReport:
    workflow: str
    status: str  # ok | failed | interrupted
    error: str
    backend: str
    run_dir: str
    wall_s: float
    result: Any
    rows: tuple[OpRow, ...]
    totals: tuple[Total, ...]
    slo: tuple[SloCheck, ...]
    critical_path: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def total(self, metric: str) -> Total:
        return next(t for t in self.totals if t.metric == metric)


def build_report(
    plan: Plan,
    result: RunResult,
    estimate: WorkflowEstimate | None = None,
    slo: SloSpec | None = None,
    started: Sequence[OpTrace] = (),
) -> RunReport:
    """The report of `result`, a run of `plan`; `estimate` is the compiled
    estimate of its workflow (end-to-end predictions, start times), `slo` the
    request's objectives (bounds with tiers already resolved). `started` are
    traces of ops as they started (the runtime's "start" events): those without
    a finished trace in `result` were abandoned when the run stopped."""
    steps = {step.name: step for step in plan.walk()}
    starts = _predicted_starts(plan, estimate)
    rows = [_row(trace, steps, starts) for trace in result.traces]
    finished = {trace.step for trace in result.traces}
    rows += [
        _abandoned(trace, steps, starts)
        for trace in {t.step: t for t in started if t.step not in finished}.values()
    ]
    rows.sort(key=lambda row: (row.start if row.start is not None else 0.0, row.step))
    if result.status != "ok":
        ran = {_SUFFIX.sub("", row.step) for row in rows}
        rows += [
            _not_run(step, starts)
            for step in plan.walk()
            if not step.is_flow and step.name not in ran
        ]
    totals = _totals(plan, result, estimate)
    cached = sum(1 for trace in result.traces if trace.cached)
    checks = _slo_checks(slo or SloSpec(), result.status, totals, cached)
    return RunReport(
        workflow=result.workflow,
        status=result.status,
        error=result.error,
        backend=result.backend,
        run_dir=result.run_dir,
        wall_s=result.wall_s,
        result=result.result,
        rows=tuple(rows),
        totals=totals,
        slo=checks,
        critical_path=() if estimate is None else estimate.critical_path,
        notes=tuple(_notes(rows)),
    )


# ---- rows ------------------------------------------------------------------------------


def device_label(device: str, node: str, gpu_ids: Sequence[int], cores: int) -> str:
    if device == "hosted":
        return "hosted"
    where = f"{node} " if node else ""
    if device == "cpu":
        return f"{where}cpu x{cores}"
    ids = f" [{_ids(gpu_ids)}]" if gpu_ids else ""
    return f"{where}{device}{ids}"


def lane_of(device: str, node: str, gpu_ids: Sequence[int]) -> str:
    """Ops on the same node's CPUs, or on the same GPUs, share a lane."""
    if device == "hosted":
        return "hosted"
    where = node or "local"
    if device == "cpu":
        return f"{where} cpu"
    if gpu_ids:
        kind = parse_device(device).gpu_type or "gpu"
        return f"{where} {kind} [{_ids(gpu_ids)}]"
    return f"{where} {device}"


def _ids(ids: Sequence[int]) -> str:
    ordered = sorted(ids)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(i) for i in ordered)


def _row(trace: OpTrace, steps: dict[str, Step], starts: dict[str, float]) -> OpRow:
    predicted = dict(trace.predicted)
    step = steps.get(_SUFFIX.sub("", trace.step))
    if not predicted and step is not None:
        predicted = dict(step.predicted)
    if "start_s" not in predicted:
        start = _copy_start(trace.step, steps, starts)
        if start is not None:
            predicted["start_s"] = start
    if trace.cached:
        status = "cached"
    elif trace.error == CANCELLED:  # stopped by Ctrl-C while it ran: no result
        status = "abandoned"
    elif trace.error:
        status = "failed"
    elif trace.fallback_from:
        status = "fallback"
    else:
        status = "ok"
    return OpRow(
        step=trace.step,
        op=trace.op,
        impl=trace.impl,
        device=device_label(trace.device, trace.node, trace.gpu_ids, trace.cores),
        lane=lane_of(trace.device, trace.node, trace.gpu_ids),
        status=status,
        predicted=predicted,
        start=trace.start,
        latency=trace.latency_s,
        energy=trace.energy_j,
        energy_source=trace.energy_source,
        cost=trace.cost_usd,
        attempts=trace.attempts,
        fallback_from=trace.fallback_from,
        error=trace.error,
    )


def _abandoned(trace: OpTrace, steps: dict[str, Step], starts: dict[str, float]) -> OpRow:
    """An op that started and had not finished when the run stopped: where and
    when it started; nothing measured, and no result (it is not in the cache)."""
    row = _row(trace, steps, starts)
    return dataclasses.replace(
        row,
        status="abandoned",
        latency=None,
        energy=None,
        energy_source="",
        cost=None,
        attempts=0,
        fallback_from="",
        error="",
    )


def _not_run(step: Step, starts: dict[str, float]) -> OpRow:
    placement = step.placement
    device = placement.device if placement is not None else "cpu"
    node = placement.node if placement is not None else ""
    ids = placement.gpu_ids if placement is not None else ()
    cores = placement.cores if placement is not None else 1
    predicted = dict(step.predicted)
    if step.name in starts:
        predicted["start_s"] = starts[step.name]
    return OpRow(
        step=step.name,
        op=step.op,
        impl=step.impl.name if step.impl is not None else "",
        device=device_label(device, node, ids, cores),
        lane=lane_of(device, node, ids),
        status="not run",
        predicted=predicted,
    )


def _predicted_starts(plan: Plan, estimate: WorkflowEstimate | None) -> dict[str, float]:
    """Planned start of each step: the placement's when the plan was placed,
    else the estimate's (an op starts when its last input is ready)."""
    starts = {} if estimate is None else {e.name: e.start_s for e in estimate.ops}
    if plan.placement:
        for step in plan.walk():
            if step.placement is not None:
                starts[step.name] = step.placement.start
    return starts


def _copy_start(name: str, steps: dict[str, Step], starts: dict[str, float]) -> float | None:
    """A round of a `flow.repeat` starts one round's latency after the previous one."""
    base = _SUFFIX.sub("", name)
    if base not in starts:
        return None
    start = starts[base]
    rounds = [int(r) for r in _ROUND.findall(name)]
    if not rounds:
        return start
    parts = base.split(".")
    repeats = [
        step
        for i in range(len(parts) - 1, 0, -1)
        if (step := steps.get(".".join(parts[:i]))) is not None and step.op == "flow.repeat"
    ]
    # Rounds are numbered from 0; the innermost repeat's round is the last "@r".
    for step, index in zip(repeats, reversed(rounds)):
        latency = step.predicted.get("latency_s")
        if latency is not None and step.count > 0:
            start += index * latency / step.count
    return start


# ---- totals and the SLO ----------------------------------------------------------------


def _totals(plan: Plan, result: RunResult, estimate: WorkflowEstimate | None) -> tuple[Total, ...]:
    total = None if estimate is None else estimate.total
    sources = sorted({t.energy_source for t in result.traces if not t.cached})
    measured_cost = sum(t.cost_usd for t in result.traces)
    measured_energy = sum(t.energy_j for t in result.traces)
    partial = "" if result.status == "ok" else f"partial: run {result.status}"
    path = " -> ".join(estimate.critical_path) if estimate is not None else ""
    return (
        Total(
            "latency",
            "s",
            total.latency_s if total is not None else plan.predicted.get("latency_s"),
            result.wall_s,
            partial or (f"critical path: {path}" if path else ""),
        ),
        Total(
            "cost",
            "usd",
            total.cost_usd if total is not None else plan.predicted.get("cost_usd"),
            measured_cost,
            partial,
        ),
        Total(
            "energy",
            "J",
            total.energy_j if total is not None else plan.predicted.get("energy_j"),
            measured_energy,
            ", ".join(filter(None, [partial, "/".join(sources)])),
        ),
        Total(
            "quality",
            "",
            None if total is None else total.quality,
            None,
            "not measured (needs ground truth)",
        ),
    )


def _slo_checks(
    slo: SloSpec, status: str, totals: tuple[Total, ...], cached: int
) -> tuple[SloCheck, ...]:
    by_metric = {t.metric: t for t in totals}
    return tuple(_check(b, status, by_metric.get(b.metric), cached) for b in slo.bounds)


def _check(bound: SloBound, status: str, total: Total | None, cached: int) -> SloCheck:
    text = format_bound(bound)
    predicted = None if total is None else total.predicted
    measured = None if total is None else total.measured
    if measured is None or bound.value is None:
        return SloCheck(text, bound.metric, "not measured", None, predicted)
    if status != "ok":
        reason = "the run did not finish"
        return SloCheck(text, bound.metric, "not checked", measured, predicted, reason)
    if cached:
        # A cached op's measured latency, cost and energy are zero, not what it took.
        reason = f"{cached} op(s) served from the cache"
        return SloCheck(text, bound.metric, "not checked", measured, predicted, reason)
    verdict = "met" if _holds(measured, bound.op, bound.value) else "missed"
    return SloCheck(text, bound.metric, verdict, measured, predicted)


def _holds(value: float, op: str, limit: float) -> bool:
    return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]


def _notes(rows: list[OpRow]) -> list[str]:
    notes = []
    cached = [row for row in rows if row.status == "cached"]
    if cached:
        notes.append(
            f"{len(cached)} op(s) served from the cache, not executed: measured latency,"
            " cost and energy leave them out"
        )
    notes += [
        f"{r.step}: fell back from {r.fallback_from} to {r.impl}" for r in rows if r.fallback_from
    ]
    notes += [f"{r.step}: {r.error}" for r in rows if r.error and r.status != "abandoned"]
    if any(row.status == "abandoned" for row in rows):
        notes.append(
            "'abandoned': these ops started but had not finished when the run stopped;"
            " they left no result, so a resumed run runs them again"
        )
    if any(row.status == "not run" for row in rows):
        notes.append("'not run': the run stopped before these ops started")
    return notes
