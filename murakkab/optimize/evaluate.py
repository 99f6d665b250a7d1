"""What a full choice costs: latency on the critical path, cost, energy, quality.

One exact evaluator, used to decode the solver's answer and by brute force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from murakkab.optimize.space import Candidate, Space
from murakkab.slo import SloSpec

METRICS = ("latency", "cost", "energy", "quality")


@dataclass(frozen=True)
class Metrics:
    latency: float
    cost: float
    energy: float
    quality: float | None

    def get(self, metric: str) -> float | None:
        value: float | None = getattr(self, metric)
        return value


def evaluate(space: Space, picks: dict[str, int], choices: dict[str, Candidate]) -> Metrics:
    finish: dict[str, float] = {}
    for name in space.order:
        c = choices[name]
        start = max((finish[d] for d in space.deps[name]), default=0.0)
        finish[name] = start + c.latency * c.multiplier
    latency = max((finish[s] for s in space.sinks), default=0.0)
    cost = sum(c.cost * c.copies for c in choices.values())
    energy = sum(c.energy * c.copies for c in choices.values())
    return Metrics(latency, cost, energy, quality_of(space, picks))


def quality_of(space: Space, picks: dict[str, int]) -> float | None:
    """The product of the parts' profiled qualities; unknown without parts."""
    qualities = [space.parts[p][k].quality for p, k in picks.items()]
    if not qualities or any(q is None for q in qualities):
        return None
    return math.prod(q for q in qualities if q is not None)


def meets(metrics: Metrics, slo: SloSpec) -> bool:
    for bound in slo.bounds:
        value = metrics.get(bound.metric)
        if bound.value is None or value is None:
            continue
        if not _holds(value, bound.op, bound.value):
            return False
    return True


def _holds(value: float, op: str, limit: float, eps: float = 1e-9) -> bool:
    slack = eps * max(1.0, abs(limit))
    return {
        "<": value < limit,
        "<=": value <= limit + slack,
        ">": value > limit,
        ">=": value >= limit - slack,
    }[op]


def rank(metrics: Metrics, objective: str) -> tuple[float, ...]:
    """Smaller is better: the objective, then latency, cost and energy to break ties."""
    primary = -(metrics.quality or 0.0) if objective == "quality" else metrics.get(objective) or 0.0
    return (primary, metrics.latency, metrics.cost, metrics.energy)
