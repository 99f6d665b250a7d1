"""MK0507: no placement meets the bounds; the constraints in conflict, from an unsat core.

Every labelled constraint of the encoding (encode.py) is asserted under its
own tracking literal; Z3's unsat core (minimised) names the labels in
conflict, and each label names its resource and the ops that want it. The
nearest feasible latency bound is the makespan of the fastest placement found
with the latency bound dropped.
"""

from __future__ import annotations

import math
from dataclasses import replace

import z3

from murakkab.diagnostics import Diagnostic
from murakkab.ir.core import Workflow
from murakkab.placement.encode import encode
from murakkab.placement.problem import Problem
from murakkab.placement.solve import SEED, solve
from murakkab.slo import SloSpec

SHOWN_OPS = 6


def core(problem: Problem, timeout_ms: int) -> list[str] | None:
    """The labels of a minimised unsat core; None when Z3 could not tell in time."""
    enc = encode(problem)
    solver = z3.Solver()
    solver.set("random_seed", SEED)
    solver.set("core.minimize", True)
    solver.set("timeout", max(1, timeout_ms))
    grouped: dict[str, list[z3.BoolRef]] = {}
    for label, formula in enc.constraints:
        if label:
            grouped.setdefault(label, []).append(formula)
        else:
            solver.add(formula)
    for label, formulas in grouped.items():
        solver.assert_and_track(z3.And(formulas), z3.Bool(f"track:{label}"))
    if solver.check() != z3.unsat:
        return None
    return sorted(str(b).removeprefix("track:") for b in solver.unsat_core())


def infeasible(workflow: Workflow, slo: SloSpec, problem: Problem, timeout_ms: int) -> Diagnostic:
    labels = core(problem, timeout_ms)
    why = encode(problem).why
    notes = [_note(label, *why.get(label, (label, ()))) for label in labels or ()]
    if labels is None:
        notes.append(f"no placement found, and none ruled out, within {timeout_ms} ms")
    if problem.latency is not None:
        relaxed = replace(problem, latency=None, objective="latency", max_gpus=None)
        fastest = solve(relaxed, "z3", max(1, timeout_ms // 2))
        if fastest.metrics is not None:
            reached = fastest.metrics.makespan
            notes.append(
                f"the fastest placement found takes {reached:.4g} s:"
                f" relax latency to <= {_above(reached)} s"
            )
        else:
            notes.append("no placement fits the cluster even without the latency bound")
    bound = slo.bound("latency")
    on_latency = bound is not None and (labels is None or "latency" in labels)
    span = bound.span if bound is not None and on_latency else workflow.span
    if problem.latency is not None:
        what = f"latency {'<' if problem.strict else '<='} {problem.latency:g}s"
        message = f"no placement of '{workflow.name}' meets {what} on this cluster"
    else:
        message = f"no placement of '{workflow.name}' fits this cluster"
    return Diagnostic.error(
        "MK0507",
        span,
        message,
        *notes,
        hint="relax the bound, allow other devices, or plan for a larger cluster (--cluster FILE)",
    )


def _note(label: str, what: str, ops: tuple[str, ...]) -> str:
    names = _names(ops)
    if label == "latency":
        return f"in conflict: {what}, within which {names} must end"
    if label.startswith(("energy", "cost", "gpus-held")):
        return f"in conflict: {what}"
    if label.startswith("fused:"):
        return f"in conflict: {what}: {names} share one node and device"
    if label.startswith("devices:"):
        return f"in conflict: {what}"
    return f"in conflict: {what}, needed by {names}"


def _names(ops: tuple[str, ...]) -> str:
    shown = list(ops[:SHOWN_OPS])
    if len(ops) > SHOWN_OPS:
        shown.append(f"{len(ops) - SHOWN_OPS} more")
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _above(value: float) -> str:
    """The smallest number of 3 significant digits at or above `value`."""
    if value <= 0:
        return "0"
    step = 10.0 ** (math.floor(math.log10(value)) - 2)
    return f"{math.ceil(value / step - 1e-9) * step:.3g}"
