"""Brute force over the whole space: the reference the solver is tested against.

Exponential on purpose; fine for the reference workflows (tens of thousands of
plans) and used by tests and bench/optimizer.py, never by the compiler.
"""

from __future__ import annotations

import itertools

from murakkab.optimize.evaluate import evaluate, meets, rank
from murakkab.optimize.solve import Solution
from murakkab.optimize.space import Space
from murakkab.slo import SloSpec


def brute_force(space: Space, slo: SloSpec, objective: str) -> Solution | None:
    best: Solution | None = None
    best_rank: tuple[float, ...] | None = None
    names = sorted(space.parts)
    for ks in itertools.product(*(range(len(space.parts[n])) for n in names)):
        picks = dict(zip(names, ks))
        options = []
        for op in space.order:
            part = space.part_of.get(op)
            options.append(
                [c for c in space.candidates.get(op, []) if part is None or c.k == picks[part]]
            )
        for combo in itertools.product(*options):
            choices = dict(zip(space.order, combo))
            metrics = evaluate(space, picks, choices)
            if not meets(metrics, slo):
                continue
            score = rank(metrics, objective)
            if best_rank is None or score < best_rank:
                best, best_rank = Solution(picks, choices, metrics, "brute force"), score
    return best
