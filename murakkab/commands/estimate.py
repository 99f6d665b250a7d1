"""`mkc estimate`: predicted latency, cost, energy and quality of a job as written."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from murakkab.source import SourceFile


def register(commands: Any, command: Any) -> None:
    from murakkab.cli import add_cost_options

    parser = command(
        commands,
        "estimate",
        "predict each op's and the total latency, cost, energy and quality (pins and defaults)",
        run_estimate,
        "mkc estimate examples/video_qa.mk",
        "mkc estimate examples/video_qa.mk --cluster examples/clusters/cloud_a100_h100.toml",
        "mkc estimate examples/video_qa.mk --assume video_s=300 --assume load=saturation --json",
    )
    parser.add_argument("file", metavar="FILE", help="a .mk job file")
    parser.add_argument("--slo", action="append", default=[], metavar="SLO", help="as for compile")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    add_cost_options(parser)


def run_estimate(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import report
    from murakkab.cost.report import estimate_json, render_estimate
    from murakkab.driver import Compilation, CostOptions, compile_file

    compilation = Compilation(sources=sources)
    cost = CostOptions(args.db, args.cluster, tuple(args.assume))
    try:
        compile_file(Path(args.file), "estimate", args.slo, None, compilation, cost)
    finally:
        report(compilation.warnings, sources)
    module = compilation.module
    assert module is not None
    if args.json:
        data = {
            "workflows": [estimate_json(e) for e in compilation.estimates.values()],
            "notes": list(compilation.notes),
        }
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for name, estimate in compilation.estimates.items():
        request = next((r for r in module.requests if r.workflow == name), None)
        sys.stdout.write(render_estimate(estimate, request))
    for note in compilation.notes:
        print(f"note: {note}")
    return 0
