"""Executing and recording one `mkc run`: the plan run with live progress, a trace
kept of every op that finished (so a failed or interrupted run keeps it), the
run directory's outputs written, and the result, report and exit status told.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from murakkab.driver import Compilation
    from murakkab.plan import Plan
    from murakkab.report.run_report import RunReport
    from murakkab.runtime.trace import OpTrace, RunResult

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


class Collector:
    """Keeps the last trace of every op the runtime reports, so that a failed or
    interrupted run still has the trace of what finished; forwards to the display."""

    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.traces: dict[str, OpTrace] = {}
        self.started: dict[str, OpTrace] = {}  # every op that started, finished or not
        self.lock = threading.Lock()

    def __call__(self, kind: str, trace: OpTrace) -> None:
        if kind in ("end", "cached", "failed"):
            with self.lock:
                self.traces[trace.step] = trace
        elif kind == "start":
            with self.lock:
                self.started.setdefault(trace.step, copy.copy(trace))
        self.forward(kind, trace)

    def abandoned(self, result: RunResult) -> list[OpTrace]:
        """Ops that started and have no finished trace in `result`: the run stopped
        (Ctrl-C) while they ran, and they left no result."""
        finished = {trace.step for trace in result.traces}
        with self.lock:
            return [t for step, t in self.started.items() if step not in finished]

    def partial(self, workflow: str, status: str, error: str, wall_s: float) -> RunResult:
        from murakkab.runtime.trace import RunResult

        with self.lock:
            traces = sorted(self.traces.values(), key=lambda t: (t.start, t.step))
        return RunResult(workflow, None, traces, wall_s, status, error)


def execute(
    plan: Plan,
    inputs: dict[str, Any],
    table: dict[str, Any] | None,
    run_dir: Path,
    settings: dict[str, Any],
    compilation: Compilation,
    quiet: bool,
) -> tuple[RunResult, Exception | None, list[OpTrace]]:
    """Run the plan; a failed or interrupted run is a result too (the backends
    return one). An unexpected exception (a bug) comes back beside the partial
    result, to be raised after the run directory has what finished. Last, the
    ops abandoned: started, never finished."""
    from murakkab.backends.support import op_count
    from murakkab.cluster import Cluster
    from murakkab.report.backend import backend_run
    from murakkab.report.progress import RunProgress
    from murakkab.runtime.options import RunOptions

    context = compilation.context
    assert context is not None
    started = time.monotonic()
    crash: Exception | None = None
    with RunProgress(plan.workflow, op_count(plan), enabled=not quiet) as progress:
        collector = Collector(progress.on_event)
        options = RunOptions(
            executors=table,
            cache_dir=run_dir / "cache",
            retries=settings["retries"],
            on_event=collector,
            cluster=context.hardware if isinstance(context.hardware, Cluster) else None,
        )
        try:
            result = backend_run(plan, inputs, options, settings)
        except KeyboardInterrupt:
            elapsed = time.monotonic() - started
            result = collector.partial(plan.workflow, "interrupted", "interrupted", elapsed)
        except Exception as error:  # noqa: BLE001 - re-raised by the caller
            elapsed = time.monotonic() - started
            message = f"internal error: {type(error).__name__}: {error}"
            result, crash = collector.partial(plan.workflow, "failed", message, elapsed), error
    result.run_dir = str(run_dir)
    result.backend = settings["backend"]
    return result, crash, collector.abandoned(result)


def write_outputs(
    run_dir: Path,
    plan: Plan,
    result: RunResult,
    compilation: Compilation,
    abandoned: list[OpTrace],
) -> tuple[RunReport, list[str]]:
    """The trace, report and chart written into the run directory: the report, and
    notes on what could not be written."""
    from murakkab.report.rundir import write_outputs as write_run_outputs

    module = compilation.module
    assert module is not None
    request = next((r for r in module.requests if r.workflow == plan.workflow), None)
    estimate = compilation.estimates.get(plan.workflow)
    slo = None if request is None else request.slo
    return write_run_outputs(run_dir, plan, result, estimate, slo, abandoned)


def finish(
    args: argparse.Namespace, report: RunReport, notes: list[str], run_dir: Path, planned: int
) -> int:
    """Print the result, the report and what happened; the exit status."""
    from murakkab.report.render import render_report, report_json

    files = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    if args.json:
        json.dump({**report_json(report), "files": files}, sys.stdout, indent=2, default=repr)
        sys.stdout.write("\n")
    elif report.status == "ok":
        value = report.result
        text = value if isinstance(value, str) else json.dumps(value, indent=2, default=repr)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if not args.quiet and not args.json:
        sys.stderr.write(render_report(report))
    for note in notes:
        print(f"mkc run: note: {note}", file=sys.stderr)
    resume = f"mkc run --resume {run_dir}"
    if report.status == "interrupted":
        done = sum(1 for row in report.rows if row.status in ("ok", "cached", "fallback"))
        print(
            f"mkc run: interrupted after {done} of {planned} op(s); the trace and"
            f" cache are in {run_dir}; resume with: {resume}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if report.status != "ok":
        print(f"mkc run: error: {report.error}", file=sys.stderr)
        print(
            f"mkc run: the partial trace and the cache are in {run_dir};"
            f" after fixing the cause, resume with: {resume}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if not args.quiet and not args.json:
        print(f"mkc run: run dir {run_dir}", file=sys.stderr)
    return EXIT_OK
