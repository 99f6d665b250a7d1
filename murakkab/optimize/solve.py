"""Solving the joint choice with Z3.

The configurations of the profiled parts (model, frames, STT; debaters,
rounds) are enumerated, best lower bound first; for each combination the SLO
could still allow and that could still beat the best plan found, Z3 optimises
the resources of every op together against the end-to-end latency, cost and
energy (Optimize, lexicographic: the objective, then latency, cost, energy).
The result is exact under the cost model; past a budget of exact searches
(`max_exact` combinations that survive the bounds), the combinations left get
their greedy plan only and the result is marked "heuristic". When no
plan exists, the SLO bounds in conflict are a minimal unsatisfiable subset
(found by dropping bounds one at a time and re-solving), each with the value
its metric can reach while the others hold.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import z3

from murakkab.optimize.encode import Encoding, decode, encode, objectives, tie_break
from murakkab.optimize.evaluate import Metrics, evaluate, meets, quality_of, rank
from murakkab.optimize.space import Candidate, Space
from murakkab.slo import SloBound, SloSpec


@dataclass(frozen=True)
class Solution:
    picks: dict[str, int]
    choices: dict[str, Candidate]
    metrics: Metrics
    status: str  # "optimal" (proved by Z3) or "heuristic" (budget spent or a Z3 time-out)
    skipped: tuple[tuple[str, str], ...] = ()  # (configuration, why it was not searched)


@dataclass(frozen=True)
class Conflict:
    """No plan meets these bounds together; `best` is what each metric can reach
    when the other conflicting bounds hold."""

    bounds: tuple[SloBound, ...]
    best: dict[str, float | None]


MAX_EXACT = 16  # combinations searched exactly before the rest get greedy plans


def solve(
    space: Space,
    slo: SloSpec,
    objective: str,
    timeout_ms: int = 10_000,
    max_exact: int = MAX_EXACT,
) -> Solution | Conflict:
    solution = search(space, slo, objective, timeout_ms, max_exact)
    return solution if solution is not None else _conflict(space, slo, timeout_ms, max_exact)


def search(
    space: Space, slo: SloSpec, objective: str, timeout_ms: int, max_exact: int = MAX_EXACT
) -> Solution | None:
    names = sorted(space.parts)
    combos = [
        dict(zip(names, ks))
        for ks in itertools.product(*(range(len(space.parts[n])) for n in names))
    ]
    bounds = {id(picks): _lower_bound(space, picks, objective) for picks in combos}
    combos.sort(key=lambda picks: (bounds[id(picks)], tuple(picks.values())))
    best: Solution | None = None
    skipped: list[tuple[str, str]] = []
    heuristic = False
    exact = 0
    for picks in combos:
        why = _ruled_out(space, picks, slo)
        if (
            why is None
            and best is not None
            and bounds[id(picks)] > rank(best.metrics, objective)[0]
        ):
            why = "cannot beat the best plan found (lower bound)"
        if why is not None:
            skipped.append((_label(space, picks), why))
            continue
        if exact < max_exact:
            exact += 1
            found = _solve_combination(space, picks, slo, objective, timeout_ms)
        else:
            # Past the budget (a count, so results do not depend on the machine's
            # speed): the greedy plan stands in for an exact search here.
            heuristic = True
            found = greedy(space, picks, slo, objective)
            if found is None:
                skipped.append((_label(space, picks), "search budget spent; no greedy plan"))
                continue
            skipped.append((_label(space, picks), "search budget spent: greedy plan only"))
        if found is None:
            skipped.append((_label(space, picks), "no resources meet the SLO"))
            continue
        heuristic |= found.status != "optimal"
        if best is None or rank(found.metrics, objective) < rank(best.metrics, objective):
            best = found
    if best is None:
        return None
    return replace(best, status="heuristic" if heuristic else "optimal", skipped=tuple(skipped))


def _solve_combination(
    space: Space, picks: dict[str, int], slo: SloSpec, objective: str, timeout_ms: int
) -> Solution | None:
    sub = _restrict(space, picks)
    encoding = encode(sub, slo, timeout_ms)
    result = _optimise(encoding, objective)
    if result == z3.sat:
        _, chosen = decode(encoding, encoding.optimize.model(), sub)
        choices = {
            op: replace(c, k=picks.get(space.part_of.get(op, ""), 0)) for op, c in chosen.items()
        }
        return Solution(picks, choices, evaluate(space, picks, choices), "optimal")
    if result == z3.unsat:
        return None
    # Optimize ran out of time: any plan Z3 can find that meets the SLO, else greedy.
    feasible = _feasible(sub, slo, timeout_ms)
    if feasible is not None:
        _, chosen = feasible
        choices = {
            op: replace(c, k=picks.get(space.part_of.get(op, ""), 0)) for op, c in chosen.items()
        }
        return Solution(picks, choices, evaluate(space, picks, choices), "heuristic")
    fallback = greedy(space, picks, slo, objective)
    return None if fallback is None else replace(fallback, status="heuristic")


def _feasible(
    space: Space, slo: SloSpec, timeout_ms: int
) -> tuple[dict[str, int], dict[str, Candidate]] | None:
    """A plan that meets the SLO, from a plain satisfiability check (no optimum)."""
    encoding = encode(space, slo, timeout_ms)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(encoding.optimize.assertions())
    if solver.check(*[guard for guard, _ in encoding.guards.values()]) != z3.sat:
        return None
    return decode(encoding, solver.model(), space)


def _optimise(encoding: Encoding, objective: str) -> z3.CheckSatResult:
    for direction, term in objectives(encoding, objective):
        if direction == "max":
            continue  # with the configurations fixed, quality is a constant
        encoding.optimize.minimize(term)
    encoding.optimize.minimize(tie_break(encoding))
    return encoding.optimize.check(*[guard for guard, _ in encoding.guards.values()])


def _restrict(space: Space, picks: dict[str, int]) -> Space:
    """The space with every part's configuration fixed (each renumbered 0)."""
    candidates = {
        op: [replace(c, k=0) for c in cs if _mine(space, op, c, picks)]
        for op, cs in space.candidates.items()
    }
    parts = {name: [space.parts[name][k]] for name, k in picks.items()}
    return Space(
        space.workflow, parts, space.part_of, candidates, space.deps, space.sinks, space.order
    )


def _mine(space: Space, op: str, candidate: Candidate, picks: dict[str, int]) -> bool:
    part = space.part_of.get(op)
    return part is None or candidate.k == picks[part]


def _ruled_out(space: Space, picks: dict[str, int], slo: SloSpec) -> str | None:
    """Why no plan with these configurations can meet the SLO, if bounds show it."""
    optimistic = Metrics(
        _lower_bound(space, picks, "latency"),
        _lower_bound(space, picks, "cost"),
        _lower_bound(space, picks, "energy"),
        quality_of(space, picks),
    )
    for bound in slo.bounds:
        value = optimistic.get(bound.metric)
        if (
            bound.value is not None
            and value is not None
            and not meets(optimistic, SloSpec((bound,)))
        ):
            return f"{bound.metric} at best {value:.4g} misses {bound.op} {bound.value:g}"
    return None


def _lower_bound(space: Space, picks: dict[str, int], objective: str) -> float:
    """No plan with these configurations does better than this on the objective."""
    mine = {
        op: [c for c in space.candidates.get(op, []) if _mine(space, op, c, picks)]
        for op in space.order
    }
    if any(not cs for cs in mine.values()):
        return math.inf
    if objective == "quality":
        quality = quality_of(space, picks)
        return -(quality if quality is not None else 0.0)
    if objective == "latency":
        finish: dict[str, float] = {}
        for op in space.order:
            start = max((finish[d] for d in space.deps[op]), default=0.0)
            finish[op] = start + min(c.latency * c.multiplier for c in mine[op])
        return max((finish[s] for s in space.sinks), default=0.0)
    return sum(min(getattr(c, objective) * c.copies for c in cs) for cs in mine.values())


def _label(space: Space, picks: dict[str, int]) -> str:
    parts = [
        f"{name or space.workflow.name}: "
        + ",".join(f"{k}={v}" for k, v in space.parts[name][k].config)
        for name, k in sorted(picks.items())
    ]
    return "; ".join(parts) or space.workflow.name


def _conflict(space: Space, slo: SloSpec, timeout_ms: int, max_exact: int) -> Conflict:
    """A minimal set of bounds no plan meets together, and what each can reach."""
    core = [b for b in slo.bounds if b.value is not None]
    for bound in list(core):
        rest = [b for b in core if b is not bound]
        if search(space, SloSpec(tuple(rest)), "cost", timeout_ms, max_exact) is None:
            core = rest
    best: dict[str, float | None] = {}
    for bound in core:
        others = SloSpec(tuple(b for b in core if b is not bound))
        reached = search(space, others, bound.metric, timeout_ms, max_exact)
        best[bound.metric] = reached.metrics.get(bound.metric) if reached is not None else None
    return Conflict(tuple(core), best)


def greedy(space: Space, picks: dict[str, int], slo: SloSpec, objective: str) -> Solution | None:
    """For fixed configurations: each op's best candidate for the objective; if
    that misses the SLO, each op's fastest candidate (which meets a latency bound
    whenever any plan does)."""
    for target in (objective, "latency"):
        choices = {}
        for op in space.order:
            mine = [c for c in space.candidates.get(op, []) if _mine(space, op, c, picks)]
            if not mine:
                return None
            choices[op] = min(mine, key=lambda c: _local(c, target))
        metrics = evaluate(space, picks, choices)
        if meets(metrics, slo):
            return Solution(picks, choices, metrics, "heuristic")
    return None


def _local(c: Candidate, objective: str) -> tuple[float, ...]:
    metric = {
        "latency": c.latency * c.multiplier,
        "cost": c.cost * c.copies,
        "energy": c.energy * c.copies,
    }
    return (metric.get(objective, c.cost * c.copies), c.latency, c.cost, c.energy)
