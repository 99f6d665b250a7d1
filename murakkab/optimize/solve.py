"""Solving the joint choice with Z3.

With one profiled part (the reference workflows), the choice of its
configuration (model, frames, STT; debaters, rounds) is enumerated and, for
each configuration the SLO's quality bound allows, Z3 optimises the resources
of every op together against the end-to-end latency, cost and energy; a
configuration whose lower bound cannot beat the best plan found is skipped.
With several parts (a workflow that inlines several reference workflows) one
Z3 problem covers everything. Either way the result is exact; a time-out
falls back to the best greedy plan and says so. No plan: the SLO bounds in
conflict (the unsat core) and what each metric can reach under the others.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import z3

from murakkab.optimize.encode import Encoding, decode, encode, objectives
from murakkab.optimize.evaluate import Metrics, evaluate, meets, rank
from murakkab.optimize.space import Candidate, Space
from murakkab.slo import SloBound, SloSpec


@dataclass(frozen=True)
class Solution:
    picks: dict[str, int]
    choices: dict[str, Candidate]
    metrics: Metrics
    status: str  # "optimal" (proved by Z3) or "heuristic" (the solver timed out)
    skipped: tuple[tuple[int, str], ...] = ()  # configurations not searched, and why


@dataclass(frozen=True)
class Conflict:
    """No plan meets these bounds together; `best` is what each metric can reach
    when the other conflicting bounds hold."""

    bounds: tuple[SloBound, ...]
    best: dict[str, float | None]


def solve(
    space: Space, slo: SloSpec, objective: str, timeout_ms: int = 10_000
) -> Solution | Conflict:
    if len(space.parts) == 1:
        solution = _per_configuration(space, slo, objective, timeout_ms)
        return solution if solution is not None else _conflict(space, slo, timeout_ms)
    encoding = encode(space, slo, timeout_ms)
    result = _optimise(encoding, objective)
    if result == z3.sat:
        picks, choices = decode(encoding, encoding.optimize.model(), space)
        return Solution(picks, choices, evaluate(space, picks, choices), "optimal")
    if result == z3.unsat:
        return _conflict(space, slo, timeout_ms)
    fallback = greedy(space, slo, objective)
    return fallback if fallback is not None else _conflict(space, slo, timeout_ms)


def _optimise(encoding: Encoding, objective: str, fixed_quality: bool = False) -> z3.CheckSatResult:
    for direction, term in objectives(encoding, objective):
        if fixed_quality and direction == "max":
            continue  # one configuration: quality is a constant, nothing to optimise
        (encoding.optimize.maximize if direction == "max" else encoding.optimize.minimize)(term)
    return encoding.optimize.check(*[guard for guard, _ in encoding.guards.values()])


def _per_configuration(
    space: Space, slo: SloSpec, objective: str, timeout_ms: int
) -> Solution | None:
    ((part, choices),) = space.parts.items()
    best: Solution | None = None
    skipped: list[tuple[int, str]] = []
    order = sorted(range(len(choices)), key=lambda k: (_lower_bound(space, k, objective), k))
    for k in order:
        quality = choices[k].quality
        bound = slo.bound("quality")
        if bound is not None and bound.value is not None and quality is not None:
            if not meets(Metrics(0.0, 0.0, 0.0, quality), SloSpec((bound,))):
                skipped.append((k, f"quality {quality:.3f} misses {bound.op} {bound.value:g}"))
                continue
        if (
            best is not None
            and _lower_bound(space, k, objective) > rank(best.metrics, objective)[0]
        ):
            skipped.append((k, "cannot beat the best plan found (lower bound)"))
            continue
        sub = _restrict(space, part, k)
        encoding = encode(sub, slo, timeout_ms)
        result = _optimise(encoding, objective, fixed_quality=True)
        if result == z3.unknown:
            fallback = greedy(sub, slo, objective)
            if fallback is None:
                continue
            found = replace(fallback, picks={part: k})
        elif result == z3.sat:
            _, picked = decode(encoding, encoding.optimize.model(), sub)
            chosen = {op: space_candidate(space, op, c, k) for op, c in picked.items()}
            found = Solution({part: k}, chosen, evaluate(space, {part: k}, chosen), "optimal")
        else:
            skipped.append((k, "no resources meet the SLO"))
            continue
        if best is None or rank(found.metrics, objective) < rank(best.metrics, objective):
            best = found
    if best is None:
        return None
    status = "optimal" if best.status == "optimal" else "heuristic"
    return replace(best, status=status, skipped=tuple(sorted(skipped)))


def space_candidate(space: Space, op: str, candidate: Candidate, k: int) -> Candidate:
    """The candidate of the full space that a restricted one stands for."""
    return replace(candidate, k=k)


def _restrict(space: Space, part: str, k: int) -> Space:
    """The space with the part's configuration fixed to `k` (renumbered 0)."""
    candidates = {
        op: [replace(c, k=0) for c in cs if space.part_of.get(op) != part or c.k == k]
        for op, cs in space.candidates.items()
    }
    return Space(
        space.workflow,
        {part: [space.parts[part][k]]},
        space.part_of,
        candidates,
        space.deps,
        space.sinks,
        space.order,
    )


def _lower_bound(space: Space, k: int, objective: str) -> float:
    """No plan with configuration `k` does better than this on the objective."""
    mine = {
        op: [c for c in space.candidates.get(op, []) if space.part_of.get(op) is None or c.k == k]
        for op in space.order
    }
    if any(not cs for cs in mine.values()):
        return float("inf")
    if objective == "quality":
        (choices,) = space.parts.values()
        return -(choices[k].quality or 0.0)
    if objective == "latency":
        finish: dict[str, float] = {}
        for op in space.order:
            start = max((finish[d] for d in space.deps[op]), default=0.0)
            finish[op] = start + min(c.latency * c.multiplier for c in mine[op])
        return max((finish[s] for s in space.sinks), default=0.0)
    field = "cost" if objective == "cost" else "energy"
    return sum(min(getattr(c, field) * c.copies for c in cs) for cs in mine.values())


def _conflict(space: Space, slo: SloSpec, timeout_ms: int) -> Conflict:
    encoding = encode(space, slo, timeout_ms)
    guards = [guard for guard, _ in encoding.guards.values()]
    if encoding.optimize.check(*guards) != z3.unsat:
        return Conflict(tuple(b for _, b in encoding.guards.values()), {})
    core = {str(g) for g in encoding.optimize.unsat_core()}
    bounds = tuple(b for guard, b in encoding.guards.values() if str(guard) in core)
    best: dict[str, float | None] = {}
    for bound in bounds:
        others = SloSpec(tuple(b for b in bounds if b is not bound))
        reached = solve(space, others, bound.metric, timeout_ms)
        best[bound.metric] = (
            reached.metrics.get(bound.metric) if isinstance(reached, Solution) else None
        )
    return Conflict(bounds, best)


def greedy(space: Space, slo: SloSpec, objective: str) -> Solution | None:
    """A fast feasible plan: per configuration of the parts, each op's best
    candidate for the objective; the best of those that meet the SLO."""
    best: Solution | None = None
    names = sorted(space.parts)
    for ks in itertools.product(*(range(len(space.parts[n])) for n in names)):
        picks = dict(zip(names, ks))
        choices = {}
        for op in space.order:
            part = space.part_of.get(op)
            mine = [c for c in space.candidates.get(op, []) if part is None or c.k == picks[part]]
            if not mine:
                break
            choices[op] = min(mine, key=lambda c: _local(c, objective))
        else:
            metrics = evaluate(space, picks, choices)
            better = best is None or rank(metrics, objective) < rank(best.metrics, objective)
            if meets(metrics, slo) and better:
                best = Solution(picks, choices, metrics, "heuristic")
    return best


def _local(c: Candidate, objective: str) -> tuple[float, ...]:
    metric = {
        "latency": c.latency * c.multiplier,
        "cost": c.cost * c.copies,
        "energy": c.energy * c.copies,
    }
    return (metric.get(objective, c.cost * c.copies), c.latency, c.cost, c.energy)
