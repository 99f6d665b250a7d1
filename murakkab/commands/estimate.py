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
        "mkc estimate examples/video_qa.mk -p default   # the plan mkc compile chooses",
    )
    parser.add_argument("file", metavar="FILE", help="a .mk job file")
    parser.add_argument("--slo", action="append", default=[], metavar="SLO", help="as for compile")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "-p",
        "--pipeline",
        default="none",
        metavar="PIPELINE",
        help="passes to run first: none (default: the job as written) or default (as compiled)",
    )
    add_cost_options(parser)


def run_estimate(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import report
    from murakkab.cost.report import estimate_json, render_estimate
    from murakkab.cost.workflow import estimate_workflow
    from murakkab.driver import Compilation, CostOptions, PipelineOptions, compile_file
    from murakkab.ir.core import Request, Workflow

    compilation = Compilation(sources=sources)
    cost = CostOptions(args.db, args.cluster, tuple(args.assume))
    try:
        pipeline = PipelineOptions(args.pipeline)
        compile_file(Path(args.file), "estimate", args.slo, None, compilation, cost, pipeline)
    finally:
        report(compilation.warnings, sources)
    module, context, program = compilation.module, compilation.context, compilation.program
    assert module is not None and context is not None and program is not None
    # One estimate per request (its arguments size the inputs); a workflow that
    # no request runs is estimated under the assumptions alone.
    runs: list[tuple[Workflow, Request | None]] = [
        (workflow, request)
        for request in module.requests
        if (workflow := module.workflow(request.workflow)) is not None
    ]
    requested = {request.workflow for request in module.requests}
    runs += [(w, None) for w in module.workflows if w.name not in requested]
    estimates = [
        (estimate_workflow(w, program.catalogue, context, r.args if r else None), r)
        for w, r in runs
    ]
    if args.json:
        data = {
            "estimates": [
                {**estimate_json(e), "request": None if r is None else list(r.args)}
                for e, r in estimates
            ],
            "notes": list(compilation.notes),
        }
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for estimate, request in estimates:
        sys.stdout.write(render_estimate(estimate, request))
    for note in compilation.notes:
        print(f"note: {note}")
    return 0
