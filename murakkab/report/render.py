"""The run report as text (report.txt, stderr) and as JSON (`mkc run --json`)."""

from __future__ import annotations

from typing import Any

from murakkab.report.run_report import OpRow, RunReport, SloCheck, Total
from murakkab.table import align, render_table

HEADER = (
    "step",
    "impl",
    "device",
    "status",
    "pred s",
    "meas s",
    "pred J",
    "meas J",
    "energy",
    "pred usd",
    "meas usd",
    "tries",
)


def render_report(report: RunReport) -> str:
    """The report as text: the op table, the totals, the SLO checks and notes."""
    head = f"run {report.workflow}: {report.status} in {report.wall_s:.4g} s ({report.backend})"
    if report.run_dir:
        head += f", run dir {report.run_dir}"
    lines = [head, render_table(HEADER, [_cells(row) for row in report.rows]).rstrip("\n")]
    lines.append("")
    lines.extend(align(_total_cells(report.totals), right=(1, 2)))
    for check in report.slo:
        lines.append(f"slo {check.bound}: {check.verdict}{_slo_detail(check)}")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines) + "\n"


def _cells(row: OpRow) -> tuple[object, ...]:
    p = row.predicted
    return (
        row.step,
        row.impl or None,
        row.device,
        row.status,
        p.get("latency_s"),
        row.latency,
        p.get("energy_j"),
        row.energy,
        row.energy_source or None,
        p.get("cost_usd"),
        row.cost,
        row.attempts if row.status not in ("not run", "abandoned") else None,
    )


def _total_cells(totals: tuple[Total, ...]) -> list[list[str]]:
    rows = [["total", "predicted", "measured", ""]]
    for t in totals:
        name = f"{t.metric} {t.unit}".strip()
        rows.append([name, _value(t.metric, t.predicted), _value(t.metric, t.measured), t.note])
    return rows


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric == "quality":
        return f"{value:.1%}"
    return f"{value:.4g}"


def _slo_detail(check: SloCheck) -> str:
    unit = {"latency": " s", "cost": " usd", "energy": " J"}.get(check.metric, "")
    if check.verdict == "not measured":
        if check.metric == "quality" and check.predicted is not None:
            return f" (needs ground truth; predicted {check.predicted:.1%})"
        return ""
    assert check.measured is not None
    if check.verdict == "not checked":
        reason = check.reason or "the run did not finish"
        return f" ({reason}; measured {check.measured:.4g}{unit})"
    return f" (measured {check.measured:.4g}{unit})"


def report_json(report: RunReport) -> dict[str, Any]:
    """The report as JSON-able data (what `mkc run --json` prints)."""
    return {
        "workflow": report.workflow,
        "status": report.status,
        "error": report.error,
        "result": report.result,
        "backend": report.backend,
        "run_dir": report.run_dir,
        "wall_s": report.wall_s,
        "ops": [_op_json(row) for row in report.rows],
        "totals": {
            t.metric: {"unit": t.unit, "predicted": t.predicted, "measured": t.measured}
            | ({"note": t.note} if t.note else {})
            for t in report.totals
        },
        "slo": [
            {
                "bound": c.bound,
                "metric": c.metric,
                "verdict": c.verdict,
                "measured": c.measured,
                "predicted": c.predicted,
            }
            | ({"reason": c.reason} if c.reason else {})
            for c in report.slo
        ],
        "critical_path": list(report.critical_path),
        "notes": list(report.notes),
    }


def _op_json(row: OpRow) -> dict[str, Any]:
    measured = None
    if row.status != "not run":
        measured = {
            "start_s": row.start,
            "end_s": row.end,
            "latency_s": row.latency,
            "energy_j": row.energy,
            "energy_source": row.energy_source,
            "cost_usd": row.cost,
        }
    return {
        "step": row.step,
        "op": row.op,
        "impl": row.impl,
        "device": row.device,
        "lane": row.lane,
        "status": row.status,
        "attempts": row.attempts,
        "fallback_from": row.fallback_from,
        "error": row.error,
        "predicted": dict(row.predicted),
        "measured": measured,
    }
