"""`mkc estimate` output: a table per workflow, totals, the critical path, SLO checks."""

from __future__ import annotations

from typing import Any

from murakkab.cost.workflow import OpEstimate, WorkflowEstimate
from murakkab.ir.core import Request
from murakkab.slo import format_bound
from murakkab.table import render_table

HEADER = (
    "op",
    "task",
    "impl",
    "device",
    "x",
    "start s",
    "latency s",
    "cost usd",
    "energy J",
    "source",
)


def render_estimate(estimate: WorkflowEstimate, request: Request | None) -> str:
    rows = [_row(e) for e in estimate.ops]
    total = estimate.total
    lines = [f"workflow {estimate.workflow}", render_table(HEADER, rows)]
    quality = "unknown" if total.quality is None else f"{total.quality:.1%}"
    path = " -> ".join(estimate.critical_path)
    lines.append(
        f"total: latency {total.latency_s:.4g} s (critical path: {path}),"
        f" cost {total.cost_usd:.4g} usd, energy {total.energy_j:.4g} J, quality {quality}"
        f" [{total.provenance}]"
    )
    lines.extend(f"note: {note}" for note in _notes(estimate))
    if request is not None:
        lines.extend(_slo_checks(estimate, request))
    return "\n".join(lines) + "\n"


def estimate_json(estimate: WorkflowEstimate) -> dict[str, Any]:
    total = estimate.total
    return {
        "workflow": estimate.workflow,
        "total": {
            "latency_s": total.latency_s,
            "cost_usd": total.cost_usd,
            "energy_j": total.energy_j,
            "quality": total.quality,
            "provenance": total.provenance,
        },
        "critical_path": list(estimate.critical_path),
        "workflow_profile": None if estimate.profile is None else estimate.profile.key,
        "ops": [
            {
                "name": e.name,
                "op": e.op,
                "impl": None if e.config is None or e.config.impl is None else e.config.impl.name,
                "device": None if e.config is None else e.config.device,
                "units": None if e.config is None else e.config.units,
                "knobs": {} if e.config is None else dict(e.config.knobs),
                "copies": e.copies,
                "start_s": e.start_s,
                "latency_s": e.prediction.latency_s,
                "cost_usd": e.prediction.cost_usd,
                "energy_j": e.prediction.energy_j,
                "quality": e.prediction.quality,
                "provenance": e.prediction.provenance,
                "notes": list(e.prediction.notes),
            }
            for e in estimate.ops
        ],
    }


def _row(e: OpEstimate) -> tuple[object, ...]:
    config = e.config
    impl = None if config is None or config.impl is None else config.impl.name
    device = None if config is None else _device(config.device, config.units)
    p = e.prediction
    return (
        e.op,
        e.name,
        impl,
        device,
        e.copies,
        e.start_s,
        p.latency_s,
        p.cost_usd,
        p.energy_j,
        p.provenance,
    )


def _device(device: str, units: int) -> str:
    if device == "hosted":
        return "hosted"
    if device == "cpu":
        return f"cpu x{units}"
    return f"{device} x{units}"


def _notes(estimate: WorkflowEstimate) -> list[str]:
    notes = list(estimate.notes)
    for e in estimate.ops:
        if e.prediction.provenance in ("unbound", "extrapolated"):
            notes.extend(f"{e.name}: {n}" for n in e.prediction.notes)
    return notes


def _slo_checks(estimate: WorkflowEstimate, request: Request) -> list[str]:
    total = estimate.total
    measured = {"latency": total.latency_s, "cost": total.cost_usd, "energy": total.energy_j}
    if total.quality is not None:
        measured["quality"] = total.quality
    lines = []
    for bound in request.slo.bounds:
        text = format_bound(bound)
        if bound.value is None or bound.metric not in measured:
            why = "tier unresolved" if bound.value is None else "unknown"
            lines.append(f"slo: {text}: cannot check ({why})")
            continue
        value = measured[bound.metric]
        verdict = "met" if _holds(value, bound.op, bound.value) else "VIOLATED"
        lines.append(f"slo: {text}: {verdict} (predicted {value:.4g})")
    return lines


def _holds(value: float, op: str, limit: float) -> bool:
    return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]


def render_summary(compilation: Any) -> str:
    """The one-screen summary `mkc compile` ends with: per request, the predicted
    latency, cost, energy and quality against each SLO bound."""
    module = compilation.module
    lines = []
    plans = {}
    if compilation.pass_context is not None:
        plans = {
            d["workflow"]: d
            for d in compilation.pass_context.decisions
            if d.get("pass") == "model-substitution" and d.get("kind") == "plan"
        }
    for name, estimate in compilation.estimates.items():
        total = estimate.total
        quality = "unknown" if total.quality is None else f"{total.quality:.1%}"
        plan = plans.get(name)
        how = f"{plan['status']} for {plan['objective']}" if plan else "as written"
        lines.append(
            f"{name} ({how}): latency {total.latency_s:.3g} s, cost {total.cost_usd:.3g} usd,"
            f" energy {total.energy_j:.3g} J, quality {quality}"
        )
        request = next((r for r in module.requests if r.workflow == name), None)
        if request is not None:
            lines.extend("  " + line for line in _slo_checks(estimate, request))
    return "\n".join(lines) + ("\n" if lines else "")
