"""Tables and JSON for `mkc fleet plan` and `mkc simulate`."""

from __future__ import annotations

import json
from typing import Any

from murakkab.backends.sim.result import PolicyResult
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.fleet.experiment import Experiment
from murakkab.fleet.formulation import Load, Prediction
from murakkab.fleet.plan import FleetPlan
from murakkab.source import SourceFile, Span
from murakkab.table import align

BASELINE = "static"


def render_plan(
    experiment: Experiment, plan: FleetPlan, prediction: Prediction, hour: int, load: Load
) -> str:
    lines = [
        f"fleet plan for hour {hour} of {experiment.trace.name} "
        f"({experiment.inventory.describe()})",
        "",
    ]
    rows = [("workflow", "mean req/s", "peak req/s")]
    rows += [
        (w, f"{load.mean_rps[w]:.1f}", f"{load.peak_rps[w]:.1f}") for w in sorted(load.mean_rps)
    ]
    lines += align(rows, right=(1, 2), indent="  ") + ["", "SLO classes"]
    lines += [f"  {c.id}: {c.describe()}" for c in experiment.classes] + ["", "LLM instances"]
    pools = [("pool", "model", "gpu", "tp", "load tok/s", "instances", "gpus")]
    for pool, count in sorted(plan.llm.items(), key=lambda item: item[0].key):
        s = pool.serving
        pools.append(
            (
                pool.owner or "shared",
                s.model,
                s.device,
                str(s.profile.tp),
                f"{s.load_tps:.0f}",
                str(count),
                str(count * s.gpus),
            )
        )
    lines += align(pools, right=(3, 4, 5, 6), indent="  ") + ["", "tool pools"]
    tools = [("pool", "stage", "device", "count")]
    tools += [
        (
            t.owner or "shared",
            t.executor,
            t.device,
            _count(n, "core" if t.device == "cpu" else "GPU"),
        )
        for t, n in sorted(plan.tools.items(), key=lambda item: item[0].key)
    ]
    lines += align(tools, right=(3,), indent="  ") + ["", "routing"]
    routes = [("class", "share", "configuration", "serving", "tools on", "quality", "p90 s")]
    for cls_id, chosen in sorted(plan.routes.items()):
        for route, fraction in sorted(chosen, key=lambda item: -item[1]):
            routes.append(
                (
                    cls_id,
                    f"{fraction:.1%}",
                    route.config.label,
                    route.serving.key,
                    route.tool_device,
                    f"{route.config.quality:.1%}",
                    f"{route.latency_p90:.2f}",
                )
            )
    for cls_id, fraction in sorted(plan.unserved.items()):
        routes.append(
            (
                cls_id,
                f"{fraction:.1%}",
                "(unserved: the inventory cannot carry it)",
                "-",
                "-",
                "-",
                "-",
            )
        )
    lines += align(routes, right=(1, 5, 6), indent="  ") + [""]
    gpus = ", ".join(f"{n} {g.upper()}" for g, n in prediction.gpus.items()) or "no GPUs"
    lines.append(
        f"predicted per hour: {gpus}, {prediction.cores} cores, {prediction.energy_kwh:,.1f} kWh, "
        f"${prediction.cost_usd:,.2f}, mean quality {prediction.quality:.1%}"
    )
    lines.append(
        f"solver: {plan.solver}, {plan.status} in {plan.solve_s:.2f} s, "
        f"objective {experiment.goal.objective}"
    )
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines) + "\n"


def plan_json(
    experiment: Experiment, plan: FleetPlan, prediction: Prediction, hour: int, load: Load
) -> dict[str, Any]:
    return {
        "hour": hour,
        "load": {"mean_rps": load.mean_rps, "peak_rps": load.peak_rps},
        "classes": [
            {
                "id": c.id,
                "share": c.share,
                "min_quality": c.min_quality,
                "max_latency_s": c.max_latency_s,
            }
            for c in experiment.classes
        ],
        "llm": [
            {
                "owner": p.owner,
                "model": p.serving.model,
                "device": p.serving.device,
                "tp": p.serving.profile.tp,
                "load_tps": p.serving.load_tps,
                "instances": n,
            }
            for p, n in sorted(plan.llm.items(), key=lambda i: i[0].key)
        ],
        "tools": [
            {"owner": t.owner, "stage": t.executor, "device": t.device, "count": n}
            for t, n in sorted(plan.tools.items(), key=lambda i: i[0].key)
        ],
        "routes": {
            c: [
                {
                    "fraction": f,
                    "config": dict(r.config.knobs),
                    "serving": r.serving.key,
                    "tools_on": r.tool_device,
                    "latency_p90_s": r.latency_p90,
                }
                for r, f in rs
            ]
            for c, rs in sorted(plan.routes.items())
        },
        "unserved": plan.unserved,
        "predicted": {
            "gpus": prediction.gpus,
            "cores": prediction.cores,
            "energy_kwh_per_hour": prediction.energy_kwh,
            "cost_usd_per_hour": prediction.cost_usd,
            "quality": prediction.quality,
        },
        "solver": {"name": plan.solver, "status": plan.status, "seconds": plan.solve_s},
        "notes": plan.notes,
    }


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def ratio_line(result: PolicyResult, base: PolicyResult) -> str:
    """`POLICY: gpus 2.9x, energy 3.8x, cost 4.6x, slo 99.7%` (ratios: baseline / policy)."""
    return (
        f"{result.policy}: gpus {_ratio(base.peak_gpus, result.peak_gpus)}, "
        f"energy {_ratio(base.energy_kwh, result.energy_kwh)}, "
        f"cost {_ratio(base.cost_usd, result.cost_usd)}, "
        f"slo {result.slo_attainment:.1%}"
    )


def _ratio(base: float, value: float) -> str:
    return f"{base / value:.1f}x" if value > 0 else "-"


def render_results(experiment: Experiment, results: list[PolicyResult]) -> str:
    hours = experiment.trace.minutes / 60
    lines = [
        f"mkc simulate: {hours:g} h of {experiment.trace.name}, "
        f"{experiment.inventory.describe()}, objective {experiment.goal.objective}",
        "",
    ]
    rows = [
        (
            "policy",
            "peak GPUs",
            "GPU-hours",
            "energy kWh",
            "cost usd",
            "SLO met",
            "plans",
            "plan s",
            "sim s",
        )
    ]
    for r in results:
        rows.append(
            (
                r.policy,
                str(r.peak_gpus),
                f"{r.gpu_hours:,.0f}",
                f"{r.energy_kwh:,.0f}",
                f"{r.cost_usd:,.0f}",
                f"{r.slo_attainment:.2%}",
                str(r.plans),
                f"{r.plan_s:.1f}",
                f"{r.simulate_s:.1f}",
            )
        )
    lines += align(rows, right=tuple(range(1, 9)), indent="  ") + ["", "per SLO class"]
    classes = [
        ("policy", "class", "requests", "met", "unserved", "p50 s", "p90 s", "p99 s", "bound s")
    ]
    for r in results:
        for cls_id, c in r.classes.items():
            bound = "-" if c.bound_s is None else f"{c.bound_s:.2f}"
            classes.append(
                (
                    r.policy,
                    cls_id,
                    f"{c.requests:,}",
                    f"{c.attainment:.2%}",
                    f"{c.unserved:,}",
                    f"{c.p50_s:.1f}",
                    f"{c.p90_s:.1f}",
                    f"{c.p99_s:.1f}",
                    bound,
                )
            )
    lines += align(classes, right=tuple(range(2, 9)), indent="  ")
    for r in results:
        lines += [f"note: {r.policy}: {note}" for note in r.notes]
    base = next((r for r in results if r.policy == BASELINE), None)
    if base is not None:
        lines += ["", "against the static fleet (static / policy):"]
        lines += [ratio_line(r, base) for r in results]
    return "\n".join(lines) + "\n"


def results_json(results: list[PolicyResult]) -> list[dict[str, Any]]:
    return [
        {
            "policy": r.policy,
            "peak_gpus": r.peak_gpus,
            "peak_gpus_by_type": r.peak_gpus_by_type(),
            "gpu_hours": r.gpu_hours,
            "gpu_hours_by_type": r.gpu_hours_by_type(),
            "energy_kwh": r.energy_kwh,
            "cost_usd": r.cost_usd,
            "slo_attainment": r.slo_attainment,
            "classes": {
                k: {
                    "requests": c.requests,
                    "met": c.met,
                    "unserved": c.unserved,
                    "p50_s": c.p50_s,
                    "p90_s": c.p90_s,
                    "p99_s": c.p99_s,
                    "bound_s": c.bound_s,
                }
                for k, c in r.classes.items()
            },
            "plans": r.plans,
            "replans": r.replans,
            "scale_events": r.scale_events,
            "plan_s": r.plan_s,
            "simulate_s": r.simulate_s,
            "notes": r.notes,
        }
        for r in results
    ]


def sweep_steps(text: str, sources: dict[str, SourceFile]) -> tuple[str, list[int]]:
    """`h100=0:500:100` -> ("h100", [0, 100, ..., 500])."""
    sources["--sweep"] = SourceFile.of("--sweep", text)
    gpu, _, spec = text.partition("=")
    parts = spec.split(":")
    if (
        not gpu.strip()
        or len(parts) != 3
        or not all(p.strip().isdigit() for p in parts)
        or int(parts[2]) == 0
    ):
        span = Span("--sweep", 1, 1, 1, len(text) + 1)
        raise DiagnosticError(
            [
                Diagnostic.error(
                    "MK0906",
                    span,
                    f"expected GPU=START:STOP:STEP, found {text!r}",
                    hint="e.g. --sweep h100=0:500:100",
                )
            ]
        )
    start, stop, step = (int(p) for p in parts)
    return gpu.strip().lower(), list(range(start, stop + 1, step))


def render_sweep(gpu: str, policy: str, rows: list[tuple[int, PolicyResult]], as_json: bool) -> str:
    if as_json:
        data = [{gpu: count, **results_json([r])[0]} for count, r in rows]
        return json.dumps(data, indent=2) + "\n"
    types = sorted({t for _, r in rows for t in r.peak_gpus_by_type()})
    header = (
        f"{gpu} available",
        *[f"peak {t}" for t in types],
        *[f"{t} GPU-h" for t in types],
        "energy kWh",
        "cost usd",
        "SLO met",
    )
    table = [header]
    for count, r in rows:
        peaks, hours = r.peak_gpus_by_type(), r.gpu_hours_by_type()
        table.append(
            (
                str(count),
                *[str(peaks.get(t, 0)) for t in types],
                *[f"{hours.get(t, 0.0):,.0f}" for t in types],
                f"{r.energy_kwh:,.0f}",
                f"{r.cost_usd:,.0f}",
                f"{r.slo_attainment:.2%}",
            )
        )
    lines = [f"sweep of available {gpu.upper()}s, policy {policy}", ""]
    lines += align(table, right=tuple(range(len(header))), indent="  ")
    return "\n".join(lines) + "\n"
