"""Check `run` requests and SLO clauses, from `.mk` files and `--slo` flags alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.frontend.resolve import did_you_mean, literal_fits
from murakkab.ir.core import Literal
from murakkab.slo import (
    TIERS,
    UNITS,
    Objective,
    SloBound,
    SloSpec,
    SloValueError,
    canonical_value,
    check_objective,
    check_operator,
)

if TYPE_CHECKING:
    from murakkab.frontend.scope import WorkflowSig

METRICS = tuple(UNITS)
# Tiers are percentiles of a workflow's configurations (docs/profiles.md):
# of quality, and, mirrored, of latency.
TIERED = ("quality", "latency")


@dataclass(frozen=True)
class CheckedRequest:
    run: ast.RunStmt
    args: tuple[Literal, ...]
    slo: SloSpec


def check_runs(
    mk: ast.MkFile, workflows: dict[str, WorkflowSig], diagnostics: DiagnosticBag
) -> list[CheckedRequest]:
    return [
        _check_run(item, workflows, diagnostics)
        for item in mk.items
        if isinstance(item, ast.RunStmt)
    ]


def _check_run(
    run: ast.RunStmt, workflows: dict[str, WorkflowSig], diagnostics: DiagnosticBag
) -> CheckedRequest:
    args = tuple(_literal(arg, diagnostics) for arg in run.args)
    sig = workflows.get(run.workflow)
    if sig is None:
        diagnostics.error(
            "MK0202",
            run.name_span,
            f"unknown workflow '{run.workflow}'",
            *did_you_mean(run.workflow, workflows),
        )
    elif len(args) != len(sig.params):
        diagnostics.error(
            "MK0204",
            run.span,
            f"'{run.workflow}' takes {len(sig.params)} argument(s), got {len(args)}",
        )
    else:
        for index, (arg, value, (name, ptype)) in enumerate(zip(run.args, args, sig.params), 1):
            if value is not None and not literal_fits(value, ptype):
                diagnostics.error(
                    "MK0203",
                    arg.span,
                    f"argument {index} ({name}) of '{run.workflow}' expects {ptype}",
                )
    objectives = (run.objective,) if run.objective is not None else ()
    slo = check_slo(run.bounds, objectives, diagnostics)
    return CheckedRequest(run, tuple(a if a is not None else "" for a in args), slo)


def _literal(expr: ast.Expr, diagnostics: DiagnosticBag) -> Literal | None:
    if isinstance(expr, ast.Lit):
        return expr.value
    if isinstance(expr, ast.ListExpr):
        items = [_literal(item, diagnostics) for item in expr.items]
        return None if any(i is None for i in items) else tuple(i for i in items if i is not None)
    diagnostics.error(
        "MK0217",
        expr.span,
        f"'{expr.name}' is a name; run arguments are values",
        hint='write the value itself, e.g. "road_trip.mp4" or ["a.mp4", "b.mp4"]',
    )
    return None


def check_slo(
    bounds: Iterable[ast.SloBoundExpr],
    objectives: Iterable[ast.ObjectiveExpr],
    diagnostics: DiagnosticBag,
) -> SloSpec:
    """Canonical SLO bounds (one per metric) and the objective."""
    by_metric: dict[str, SloBound] = {}
    for expr in bounds:
        bound = _bound(expr, diagnostics)
        if bound is None:
            continue
        if bound.metric in by_metric:
            diagnostics.error(
                "MK0305",
                expr.span,
                f"'{bound.metric}' is bounded twice",
                f"first bound at {by_metric[bound.metric].span}",
                hint="keep one bound per metric",
            )
            continue
        by_metric[bound.metric] = bound
    chosen: Objective | None = None
    for objective in objectives:
        if chosen is not None:
            diagnostics.error(
                "MK0308", objective.span, "only one objective may be given", f"already: {chosen}"
            )
            continue
        chosen = _objective(objective, diagnostics)
    return SloSpec(tuple(by_metric[m] for m in sorted(by_metric)), chosen)


def _bound(expr: ast.SloBoundExpr, diagnostics: DiagnosticBag) -> SloBound | None:
    if expr.metric not in METRICS:
        diagnostics.error(
            "MK0301",
            expr.metric_span,
            f"unknown SLO metric '{expr.metric}'",
            *did_you_mean(expr.metric, METRICS),
            hint="metrics are " + ", ".join(METRICS),
        )
        return None
    try:
        check_operator(expr.metric, expr.op)
    except SloValueError as error:
        diagnostics.error("MK0303", expr.span, str(error), hint=error.hint)
        return None
    if expr.tier is not None:
        return _tier(expr, diagnostics)
    assert expr.number is not None
    unit = expr.unit
    if expr.dollar:
        if expr.metric != "cost" or unit not in (None, "usd"):
            diagnostics.error("MK0302", expr.value_span, "'$' marks a cost in usd")
            return None
        unit = "usd"
    if unit in ("%", "percent") and expr.metric != "quality":
        diagnostics.error(
            "MK0302",
            expr.value_span,
            f"'%' measures quality, not {expr.metric}",
            hint=_unit_hint(expr.metric),
        )
        return None
    try:
        value = canonical_value(expr.metric, expr.number, unit)
    except SloValueError as error:
        code = "MK0302" if "unit" in str(error) else "MK0304"
        diagnostics.error(code, expr.value_span, str(error), hint=error.hint)
        return None
    return SloBound(expr.metric, expr.op, value, None, expr.span)


def _tier(expr: ast.SloBoundExpr, diagnostics: DiagnosticBag) -> SloBound | None:
    if expr.metric not in TIERED:
        diagnostics.error(
            "MK0306",
            expr.value_span,
            f"{expr.metric} needs a number, not '{expr.tier}'",
            hint=_unit_hint(expr.metric),
        )
        return None
    if expr.tier not in TIERS:
        diagnostics.error(
            "MK0306",
            expr.value_span,
            f"unknown {expr.metric} tier '{expr.tier}'",
            *did_you_mean(expr.tier or "", TIERS),
            hint="tiers are "
            + ", ".join(TIERS)
            + "; or write a number: "
            + _unit_hint(expr.metric),
        )
        return None
    return SloBound(expr.metric, expr.op, None, expr.tier, expr.span)


def _objective(expr: ast.ObjectiveExpr, diagnostics: DiagnosticBag) -> Objective | None:
    if expr.metric not in METRICS:
        diagnostics.error(
            "MK0307",
            expr.span,
            f"unknown objective metric '{expr.metric}'",
            *did_you_mean(expr.metric, METRICS),
            hint="write minimize energy|cost|latency or maximize quality",
        )
        return None
    try:
        check_objective(expr.direction, expr.metric)
    except SloValueError as error:
        diagnostics.error("MK0307", expr.span, str(error), hint=error.hint)
        return None
    return Objective(expr.direction, expr.metric, expr.span)


def _unit_hint(metric: str) -> str:
    units = ", ".join(u for u in UNITS[metric] if u not in ("$",))
    return f"{metric} takes {units}"
