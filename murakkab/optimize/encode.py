"""The joint choice as a Z3 optimisation problem: pure encode and decode.

Variables: a one-hot Boolean per part over its profiled configurations, and per
op over its candidates; an op's candidates for a configuration are allowed
exactly when that configuration is chosen. Reals: each op's finish time
(at least each dependency's finish plus its latency x rounds), the workflow
latency (at least every sink's finish), total cost and energy (sums over
copies) and quality (linear in the configuration for one part; the sum of
logarithms for several). SLO bounds are guarded by named Booleans (assumptions), so an
unsatisfiable encoding can name the bounds in conflict through its unsat core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import z3

from murakkab.optimize.space import Candidate, Space
from murakkab.slo import SloBound, SloSpec

SEED = 7

MIN_QUALITY = 1e-6  # quality products are encoded as sums of logs


def real(value: float) -> z3.RatNumRef:
    """An exact rational for a float (no rounding beyond the float itself)."""
    fraction = Fraction(value).limit_denominator(10**12)
    return z3.RealVal(f"{fraction.numerator}/{fraction.denominator}")


@dataclass
class Encoding:
    optimize: z3.Optimize
    parts: dict[str, list[z3.BoolRef]]
    ops: dict[str, list[z3.BoolRef]]
    latency: z3.ArithRef
    cost: z3.ArithRef
    energy: z3.ArithRef
    quality: z3.ArithRef | None  # None: no part has a profiled quality
    log_quality: bool  # quality is a sum of logarithms (several parts)
    guards: dict[str, tuple[z3.BoolRef, SloBound]] = field(default_factory=dict)

    def smt2(self) -> str:
        return str(self.optimize.sexpr())


def encode(space: Space, slo: SloSpec, timeout_ms: int) -> Encoding:
    opt = z3.Optimize()
    opt.set("timeout", timeout_ms)
    z3.set_param("smt.random_seed", SEED)
    parts = {
        name: [z3.Bool(f"part[{name}]={k}") for k in range(len(choices))]
        for name, choices in space.parts.items()
    }
    for flags in parts.values():
        opt.add(z3.PbEq([(f, 1) for f in flags], 1))
    ops: dict[str, list[z3.BoolRef]] = {}
    finish: dict[str, z3.ArithRef] = {}
    cost_terms, energy_terms = [], []
    for name in space.order:
        candidates = space.candidates.get(name, [])
        flags = [z3.Bool(f"op[{name}]={i}") for i in range(len(candidates))]
        ops[name] = flags
        _one_per_configuration(opt, space, name, candidates, flags, parts)
        end = z3.Real(f"finish[{name}]")
        # Per candidate, not through one If-sum: Z3 propagates these much faster.
        for flag, candidate in zip(flags, candidates):
            latency = real(candidate.latency * candidate.multiplier)
            opt.add(z3.Implies(flag, end >= latency))
            for dep in space.deps[name]:
                opt.add(z3.Implies(flag, end >= finish[dep] + latency))
        finish[name] = end
        cost_terms += [z3.If(f, real(c.cost * c.copies), 0) for f, c in zip(flags, candidates)]
        energy_terms += [z3.If(f, real(c.energy * c.copies), 0) for f, c in zip(flags, candidates)]
    total_latency = z3.Real("latency")
    for sink in space.sinks:
        opt.add(total_latency >= finish[sink])
    opt.add(total_latency >= 0)
    cost, energy = z3.Real("cost"), z3.Real("energy")
    opt.add(cost == z3.Sum(cost_terms) if cost_terms else cost == 0)
    opt.add(energy == z3.Sum(energy_terms) if energy_terms else energy == 0)
    quality, log_quality = _quality(opt, space, parts)
    encoding = Encoding(opt, parts, ops, total_latency, cost, energy, quality, log_quality)
    _guard_slo(encoding, slo)
    return encoding


def _one_per_configuration(
    opt: z3.Optimize,
    space: Space,
    name: str,
    candidates: list[Candidate],
    flags: list[z3.BoolRef],
    parts: dict[str, list[z3.BoolRef]],
) -> None:
    """Exactly one candidate, made for the chosen configuration of the op's part."""
    opt.add(z3.PbEq([(f, 1) for f in flags], 1))
    part = space.part_of.get(name)
    if part is None:
        return
    for flag, candidate in zip(flags, candidates):
        opt.add(z3.Implies(flag, parts[part][candidate.k]))


def _quality(
    opt: z3.Optimize, space: Space, parts: dict[str, list[z3.BoolRef]]
) -> tuple[z3.ArithRef | None, bool]:
    names = [n for n in sorted(space.parts) if all(c.quality is not None for c in space.parts[n])]
    if not names or len(names) != len(space.parts):
        return None, False
    quality = z3.Real("quality")
    several = len(names) > 1
    terms = []
    for name in names:
        for flag, choice in zip(parts[name], space.parts[name]):
            assert choice.quality is not None
            # a measured accuracy may be 0: its log is the floor, not a domain error
            value = math.log(max(choice.quality, MIN_QUALITY)) if several else choice.quality
            terms.append(z3.If(flag, real(value), 0))
    opt.add(quality == z3.Sum(terms))
    return quality, several


def _guard_slo(encoding: Encoding, slo: SloSpec) -> None:
    for bound in slo.bounds:
        if bound.value is None:
            continue
        term = _term(encoding, bound.metric)
        if term is None:
            continue
        limit = bound.value
        if bound.metric == "quality" and encoding.log_quality:
            # A product of qualities compared in logarithms: allow the rounding
            # of the logarithms, as the exact evaluator allows 1e-9.
            limit = math.log(max(bound.value, MIN_QUALITY)) - 1e-9
        constraint = {
            "<": term < real(limit),
            "<=": term <= real(limit),
            ">": term > real(limit),
            ">=": term >= real(limit),
        }[bound.op]
        guard = z3.Bool(f"slo[{bound.metric}]")
        encoding.optimize.add(z3.Implies(guard, constraint))
        encoding.guards[bound.metric] = (guard, bound)


def _term(encoding: Encoding, metric: str) -> z3.ArithRef | None:
    return {
        "latency": encoding.latency,
        "cost": encoding.cost,
        "energy": encoding.energy,
        "quality": encoding.quality,
    }[metric]


def objectives(encoding: Encoding, objective: str) -> list[tuple[str, z3.ArithRef]]:
    """The lexicographic objectives: the user's, then latency, cost, energy."""
    order = [objective] + [m for m in ("latency", "cost", "energy") if m != objective]
    out = []
    for metric in order:
        term = _term(encoding, metric)
        if term is None:
            continue
        out.append(("max" if metric == "quality" else "min", term))
    return out


def tie_break(encoding: Encoding) -> z3.ArithRef:
    """The last objective: among plans equal on every metric, the one whose op
    choices come first in candidate order, op by op (a number in base M, the
    first op most significant). Without it Z3 returns any of them, and which one
    can change with the solver's history in the process."""
    names = list(encoding.ops)
    if not names:
        return z3.IntVal(0)
    base = max(len(flags) for flags in encoding.ops.values()) + 1
    terms: list[z3.ArithRef] = []
    weight = 1
    for name in reversed(names):
        flags = encoding.ops[name]
        terms += [z3.If(f, z3.IntVal(i * weight), 0) for i, f in enumerate(flags) if i]
        weight *= base
    return z3.Sum(terms) if terms else z3.IntVal(0)


def decode(
    encoding: Encoding, model: z3.ModelRef, space: Space
) -> tuple[dict[str, int], dict[str, Candidate]]:
    picks = {
        name: next(
            k for k, f in enumerate(flags) if z3.is_true(model.eval(f, model_completion=True))
        )
        for name, flags in encoding.parts.items()
    }
    choices = {
        name: space.candidates[name][
            next(i for i, f in enumerate(flags) if z3.is_true(model.eval(f, model_completion=True)))
        ]
        for name, flags in encoding.ops.items()
    }
    return picks, choices
