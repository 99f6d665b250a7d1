"""`mkc explain`: why the compiler chose what it chose, from the decision log.

Per workflow: the plan (objective, whether it is proven optimal, predictions
against each SLO bound with their slack), the part configurations searched or
ruled out and why; per op the chosen candidate and each rejected one with the
whole plan's predictions had it been chosen; then the placement (status,
bound and gap, each op's device, node, GPUs and start, and the plans with
fewer and more GPUs with why they lose); then what the other passes decided
(bindings with their scores, fusion groups, operating points...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from murakkab.source import SourceFile

SHOWN_REJECTED = 4  # per op; --all shows every candidate


def register(commands: Any, command: Any) -> None:
    from murakkab.cli import add_cost_options

    parser = command(
        commands,
        "explain",
        "explain the compiler's choices: candidates, predictions, why each was rejected",
        run_explain,
        "mkc explain examples/video_qa.mk",
        "mkc explain examples/video_qa.mk --cluster examples/clusters/cloud_a100_h100.toml",
        "mkc explain examples/code_gen_debate.mk --slo 'minimize energy' --json",
    )
    parser.add_argument("file", metavar="FILE", help="a .mk job file")
    parser.add_argument("--slo", action="append", default=[], metavar="SLO", help="as for compile")
    parser.add_argument(
        "-p", "--pipeline", default="default", metavar="PIPELINE", help="as for compile"
    )
    parser.add_argument(
        "--all", action="store_true", help="every rejected candidate, not the best few"
    )
    parser.add_argument("--json", action="store_true", help="the decision log as JSON")
    add_cost_options(parser)


def run_explain(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import report
    from murakkab.driver import Compilation, CostOptions, PipelineOptions, compile_file

    compilation = Compilation(sources=sources)
    cost = CostOptions(args.db, args.cluster, tuple(args.assume))
    try:
        compile_file(
            Path(args.file),
            "estimate",
            args.slo,
            None,
            compilation,
            cost,
            PipelineOptions(_with_alternatives(args.pipeline)),
        )
    finally:
        report(compilation.warnings, sources)
    decisions = compilation.pass_context.decisions if compilation.pass_context else []
    if args.json:
        json.dump({"decisions": decisions, "notes": list(compilation.notes)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render(decisions, compilation.notes, args.all))
    return 0


def _with_alternatives(spec: str) -> str:
    """The default pipeline with the placement pass searching the plans with fewer
    and more GPUs, which only explain shows (a compile skips that search)."""
    from murakkab.passes import PIPELINES

    if spec.strip() != "default":
        return spec
    return ",".join(
        "placement{explain=true}" if name == "placement" else name
        for name in PIPELINES["default"].split(",")
    )


def render(decisions: list[dict[str, Any]], notes: tuple[str, ...], everything: bool) -> str:
    lines: list[str] = []
    chosen = [d for d in decisions if d.get("pass") == "model-substitution"]
    for plan in (d for d in chosen if d.get("kind") == "plan"):
        lines += _plan(plan)
        for op in (
            d for d in chosen if d.get("kind") == "op" and d["workflow"] == plan["workflow"]
        ):
            lines += _op(op, everything)
        lines.append("")
    for placed in (d for d in decisions if d.get("pass") == "placement"):
        if placed.get("kind") == "placement":
            lines += _placement(placed, decisions)
            lines.append("")
    others = [d for d in decisions if d.get("pass") not in ("model-substitution", "placement")]
    if others:
        lines.append("other passes")
        lines += [f"  {d['pass']}: {_brief(d)}" for d in others]
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def _plan(plan: dict[str, Any]) -> list[str]:
    predicted = plan["predicted"]
    quality = predicted["quality"]
    lines = [
        f"workflow {plan['workflow']}: {plan['status']} plan for {plan['objective']}",
        f"  predicted: latency {predicted['latency_s']:.4g} s,"
        f" cost {predicted['cost_usd']:.4g} usd, energy {predicted['energy_j']:.4g} J, quality "
        + ("unknown" if quality is None else f"{quality:.1%}"),
    ]
    for bound, slack in plan["slack"].items():
        lines.append(f"  slo {bound}: slack {'-' if slack is None else format(slack, '.4g')}")
    for part, config in plan["configuration"].items():
        knobs = ", ".join(f"{k}={v}" for k, v in config.items())
        lines.append(f"  configuration{' of ' + part if part else ''}: {knobs}")
    for rejected in plan["rejected_configurations"]:
        lines.append(f"    not {rejected['configuration']}: {rejected['why']}")
    return lines


def _op(op: dict[str, Any], everything: bool) -> list[str]:
    lines = [
        f"  op {op['op']}: {op['chosen']}",
        f"    latency {op['latency']:.4g} s, cost {op['cost']:.4g} usd,"
        f" energy {op['energy']:.4g} J",
    ]
    rejected = sorted(
        op["rejected"], key=lambda r: (r["why"] != "violates the SLO", r["candidate"])
    )
    shown = rejected if everything else rejected[:SHOWN_REJECTED]
    for r in shown:
        p = r["predicted"]
        lines.append(
            f"    rejected {r['candidate']}: {r['why']} (plan: {p['latency_s']:.4g} s,"
            f" {p['cost_usd']:.4g} usd, {p['energy_j']:.4g} J)"
        )
    if len(rejected) > len(shown):
        lines.append(f"    ... {len(rejected) - len(shown)} more (--all)")
    return lines


def _placement(plan: dict[str, Any], decisions: list[dict[str, Any]]) -> list[str]:
    """The placement pass's records for one workflow: the plan, then its instances,
    ops and the alternatives with fewer and more GPUs."""
    workflow = plan["workflow"]
    mine = [d for d in decisions if d.get("pass") == "placement" and d["workflow"] == workflow]
    slo = f" ({plan['slo']})" if plan.get("slo") else ""
    bound = plan["bound"]
    proof = plan.get("proof")
    if proof == "bound":
        why = f"it meets the lower bound {bound:.4g}"
    elif proof:
        why = f"proved optimal by {proof}"
    else:
        why = f"not proved optimal: lower bound {bound:.4g}, gap {_percent(plan['gap'])}"
    lines = [
        f"placement of {workflow}: {plan['status']} for {plan['objective']}",
        f"  found by {plan['solver']}; {why}",
        f"  {plan['gpus']} GPU(s) held, latency {plan['latency_s']:.4g} s{slo},"
        f" energy {plan['energy_j']:.4g} J, cost {plan['cost_usd']:.4g} usd",
    ]
    for d in (d for d in mine if d["kind"] == "instance"):
        ids = ",".join(str(i) for i in d["gpu_ids"])
        lines.append(
            f"  instance {d['instance']}: {d['node']} GPU {ids}, serving {', '.join(d['ops'])}"
        )
    for d in (d for d in mine if d["kind"] == "placed"):
        where = f" on {d['node']}" if d["node"] else ""
        ids = ",".join(str(i) for i in d["gpu_ids"])
        gpus = f" GPU {ids}" if ids and not d["mode"].startswith("calls ") else ""
        was = f" (was {d['was']})" if d.get("was") else ""
        lines.append(
            f"  op {d['op']}: {d['mode']}{where}{gpus},"
            f" {d['start_s']:.4g} s -> {d['end_s']:.4g} s{was}"
        )
    for d in (d for d in mine if d["kind"] == "alternative"):
        which = "fewer GPUs" if d["which"] == "fewer-gpus" else "more GPUs"
        held = f" ({d['gpus']})" if d["gpus"] is not None else ""
        changes = ", ".join(f"{op} {mode}" for op, mode in d["changes"].items())
        lines.append(f"  rejected {which}{held}: {d['why']}" + (f" [{changes}]" if changes else ""))
    return lines


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1%}"


def _brief(decision: dict[str, Any]) -> str:
    fields = {k: v for k, v in decision.items() if k not in ("pass", "candidates", "rejected")}
    text = ", ".join(f"{k}={v}" for k, v in fields.items())
    return text if len(text) <= 160 else text[:157] + "..."
