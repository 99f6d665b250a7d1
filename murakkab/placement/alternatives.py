"""The plans `mkc explain` sets beside the chosen one: with fewer GPUs, and with more.

- Fewer: the best plan for the objective holding at most K-1 GPUs (K: the
  chosen plan's). When none meets the bounds, the fastest such plan, to say by
  how much it misses the latency bound; when there is none at all, why.
- More: the best plan holding at least K+1 GPUs, for the objective, or under
  `gpus` the fastest one (what more GPUs would buy).

Each search is the greedy plus the exact solver with a fortieth of the pass's
time budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from murakkab.placement.problem import Problem
from murakkab.placement.schedule import Metrics, Schedule
from murakkab.placement.solve import Outcome, solve


@dataclass(frozen=True)
class Alternative:
    which: str  # "fewer-gpus" or "more-gpus"
    why: str  # why it loses to the chosen plan
    metrics: Metrics | None = None  # None: no such plan
    meets: bool = False  # whether it meets the bounds
    changes: dict[str, str] = field(default_factory=dict)  # op -> its mode there

    def record(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "which": self.which,
            "gpus": m.gpus if m is not None else None,
            "latency_s": _n(m.makespan) if m is not None else None,
            "energy_j": _n(m.energy) if m is not None else None,
            "cost_usd": _n(m.cost) if m is not None else None,
            "meets": self.meets,
            "why": self.why,
            "changes": dict(self.changes),
        }


def alternatives(
    problem: Problem, chosen: Outcome, solver: str, timeout_ms: int
) -> list[Alternative]:
    assert chosen.schedule is not None and chosen.metrics is not None
    budget = max(1, timeout_ms // 40)
    out = []
    held = chosen.metrics.gpus
    if held > 0:
        out.append(_fewer(problem, chosen, held, solver, budget))
    if _cluster_gpus(problem) > held and _could_hold_more(problem, chosen):
        out.append(_more(problem, chosen, held, solver, budget))
    return out


def _fewer(problem: Problem, chosen: Outcome, held: int, solver: str, budget: int) -> Alternative:
    limited = replace(problem, max_gpus=held - 1, min_gpus=None)
    found = solve(limited, solver, budget, greedy_evals=None)
    if found.schedule is not None and found.metrics is not None:
        why = _compare(problem, chosen, found.metrics)
        return Alternative("fewer-gpus", why, found.metrics, True, _changes(problem, chosen, found))
    fastest = solve(replace(limited, latency=None, objective="latency"), solver, budget)
    if fastest.schedule is None or fastest.metrics is None:
        why = f"no placement holds fewer than {held} GPUs"
        if problem.instance_gpus >= held:
            why += f": the served models alone hold {problem.instance_gpus}"
        return Alternative("fewer-gpus", why)
    m = fastest.metrics
    if problem.latency is not None and m.makespan > problem.latency:
        op = "<" if problem.strict else "<="
        why = f"misses latency {op} {problem.latency:g}s: {m.makespan:.4g} s at best"
    else:
        why = "misses the energy or cost bound"
    return Alternative("fewer-gpus", why, m, False, _changes(problem, chosen, fastest))


def _more(problem: Problem, chosen: Outcome, held: int, solver: str, budget: int) -> Alternative:
    if problem.objective == "gpus":  # the fastest plan with one GPU more
        wider = replace(problem, min_gpus=held + 1, max_gpus=held + 1, objective="latency")
    else:
        wider = replace(problem, min_gpus=held + 1, max_gpus=None)
    found = solve(wider, solver, budget, greedy_evals=None)
    if found.schedule is None or found.metrics is None:
        return Alternative(
            "more-gpus", f"no placement that holds more than {held} GPUs meets the bounds"
        )
    m = found.metrics
    if problem.objective == "gpus":
        assert chosen.metrics is not None
        faster = chosen.metrics.makespan - m.makespan
        gain = (
            f"{faster:.3g} s faster ({m.makespan:.4g} s)"
            if faster > 1e-3
            else f"and is no faster ({m.makespan:.4g} s)"
        )
        why = f"holds {m.gpus} GPUs, {m.gpus - held} more than needed, {gain}"
    else:
        why = _compare(problem, chosen, m)
    return Alternative("more-gpus", why, m, True, _changes(problem, chosen, found))


def _compare(problem: Problem, chosen: Outcome, m: Metrics) -> str:
    assert chosen.metrics is not None
    name = problem.objective
    mine = _value(name, chosen.metrics)
    theirs = _value(name, m)
    unit = {"gpus": " GPUs", "energy": " J", "cost": " usd", "latency": " s"}[name]
    if theirs > mine:
        return f"higher {name}: {theirs:.4g}{unit} instead of {mine:.4g}{unit}"
    if theirs < mine:
        return f"lower {name} ({theirs:.4g}{unit}), found only in this search"
    return f"same {name}, {m.gpus} GPUs held instead of {chosen.metrics.gpus}"


def _value(name: str, m: Metrics) -> float:
    return {"gpus": m.gpus, "energy": m.energy, "cost": m.cost, "latency": m.makespan}[name]


def _changes(problem: Problem, chosen: Outcome, other: Outcome) -> dict[str, str]:
    assert chosen.schedule is not None and other.schedule is not None
    return _diff(problem, chosen.schedule, other.schedule)


def _diff(problem: Problem, a: Schedule, b: Schedule) -> dict[str, str]:
    out = {}
    for job in problem.jobs:
        mine, theirs = a.jobs[job.name].mode, b.jobs[job.name].mode
        if mine != theirs:
            out[job.name] = job.modes[theirs].label
    return out


def _could_hold_more(problem: Problem, chosen: Outcome) -> bool:
    """Whether some op has a mode with more GPUs than the one chosen."""
    assert chosen.schedule is not None
    return any(
        max(m.gpus for m in job.modes) > job.modes[chosen.schedule.jobs[job.name].mode].gpus
        for job in problem.jobs
        if job.modes
    )


def _cluster_gpus(problem: Problem) -> int:
    return sum(count for node in problem.nodes for _, count in node.gpus)


def _n(value: float) -> float:
    return float(f"{value:.4g}")
