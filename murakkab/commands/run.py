"""`mkc run`: compile a job, execute its plan, report predicted versus measured (issue #5).

The run directory (`runs/<YYYYmmdd-HHMMSS>-<workflow>/`, or `--run-dir`) keeps
everything a run made: `job.mk`, `plan.json`, `plan.py`, `run.json` (the
settings and inputs, what `--resume` reads), `trace.json`, `report.txt`,
`schedule.png`, `schedule.html` and `cache/`, the content-addressed result
cache. A failed or interrupted run keeps its partial trace and its cache, so
`mkc run --resume DIR` recomputes only what did not finish (docs/run.md).

Exit status: 0 the run succeeded, 1 it failed (or the job has errors), 2 bad
command line, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.source import SourceFile

if TYPE_CHECKING:
    from murakkab.driver import Compilation
    from murakkab.plan import Plan
    from murakkab.report.run_report import RunReport
    from murakkab.runtime.trace import OpTrace, RunResult

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def register(commands: Any, command: Any) -> None:
    from murakkab.cli import add_cost_options

    parser = command(
        commands,
        "run",
        "compile a job and run it: live progress, the result, predicted vs measured, a chart",
        run_job,
        "mkc run examples/math_reflect.mk",
        "mkc run examples/video_qa.mk --input videos=clip.mp4 --input query='Who waves?'",
        "mkc run examples/code_gen_debate.mk --input problem=@problem.txt --json",
        "mkc run examples/video_qa.mk --executors tests.fake_executors --run-dir /tmp/vqa",
        "mkc run --resume runs/20250101-120000-video_qa   # after a failure or Ctrl-C",
        "mkc run examples/math_reflect.mk --backend ray --ray-address auto",
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="a .mk job file (with --resume: the same one)"
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow input: text as is, list<...> as a JSON list or one item"
        " (repeat the flag to add items), @FILE reads the value from a file;"
        " inputs left out take the file's `run` request",
    )
    parser.add_argument("--slo", action="append", default=[], metavar="SLO", help="as for compile")
    parser.add_argument(
        "-p",
        "--pipeline",
        metavar="PIPELINE",
        help="passes after lowering, as for compile (default: default)",
    )
    add_cost_options(parser)
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        help="local: the embedded runtime (default); ray: Ray tasks (pip install 'murakkab[ray]')",
    )
    parser.add_argument(
        "--ray-address", metavar="ADDR", help="the Ray cluster to join (default: a local one)"
    )
    parser.add_argument(
        "--executors",
        metavar="MODULE",
        help="a module whose EXECUTORS dict replaces implementations, e.g. tests.fake_executors",
    )
    parser.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="extra attempts per implementation before its fallbacks (default 2)",
    )
    parser.add_argument(
        "--run-dir",
        metavar="DIR",
        help="where the run keeps its files (default runs/<time>-<workflow>); an existing"
        " run directory is resumed from its cache",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="run again in RUN_DIR with its settings and inputs; finished ops come from its cache",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (result and report) to stdout"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and no report on stderr"
    )


# ---- the command ------------------------------------------------------------------------


def run_job(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import UsageError, report
    from murakkab.report.inputs import InputError, parse_inputs
    from murakkab.report.rundir import prepare

    settings = _settings(args)
    if settings["file"] is None:
        raise UsageError("the following arguments are required: FILE (or --resume RUN_DIR)")
    compilation = _compile(settings, sources)
    try:
        plan = _plan(compilation, settings)
    finally:
        report(compilation.warnings, sources)
    try:
        inputs = parse_inputs(plan, args.input, settings["inputs"])
    except InputError as error:
        raise UsageError(str(error)) from None
    table = _check_executors(settings["executors"])
    missing = _backend_missing(settings["backend"])
    if missing is not None:
        print(f"mkc run: error: {missing}", file=sys.stderr)
        return EXIT_FAILED
    run_dir = _run_dir(args, plan.workflow)
    notes = prepare(run_dir, plan, Path(settings["file"]), {**settings, "inputs": inputs})
    quiet = args.quiet or args.json
    result, crash = _execute(plan, inputs, table, run_dir, settings, compilation, quiet)
    run_report, skipped = _write_outputs(run_dir, plan, result, compilation)
    if crash is not None:  # a bug: the partial run is kept, then `mkc` reports it
        raise crash
    notes = [] if args.quiet else notes + skipped
    return _finish(args, run_report, notes, run_dir, op_count(plan))


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The command line over what `--resume RUN_DIR` stored in its run.json."""
    from murakkab.cli import UsageError
    from murakkab.report.rundir import read_settings

    stored: dict[str, Any] = {}
    if args.resume is not None:
        if args.run_dir is not None:
            raise UsageError("--resume already names the run directory; drop --run-dir")
        try:
            stored = read_settings(Path(args.resume))
        except ValueError as error:
            raise UsageError(f"--resume {args.resume}: {error}") from error

    def pick(name: str, given: Any, default: Any) -> Any:
        return given if given not in (None, []) else stored.get(name, default)

    job = pick("file", args.file, None)
    if args.resume is not None and args.file is None and job and not Path(job).exists():
        job = str(Path(args.resume) / "job.mk")  # the job moved: run the copy the run kept
    return {
        "file": job,
        "slo": pick("slo", args.slo, []),
        "pipeline": pick("pipeline", args.pipeline, "default"),
        # What MKC_CLUSTER / MKC_PROFILE_DB named is stored too: a resumed run
        # plans for the same cluster and profiles, whatever its environment.
        "cluster": _absolute(pick("cluster", args.cluster, os.environ.get("MKC_CLUSTER") or None)),
        "db": _absolute(pick("db", args.db, os.environ.get("MKC_PROFILE_DB") or None)),
        "assume": pick("assume", args.assume, []),
        "backend": pick("backend", args.backend, "local"),
        "ray_address": pick("ray_address", args.ray_address, None),
        "executors": pick("executors", args.executors, None),
        "retries": pick("retries", args.retries, 2),
        "inputs": stored.get("inputs", {}),
    }


def _absolute(path: str | None) -> str | None:
    """Paths stored for --resume must not depend on the directory it runs from."""
    return None if path is None else str(Path(path).resolve())


def _compile(settings: dict[str, Any], sources: dict[str, SourceFile]) -> Compilation:
    from murakkab.cli import report
    from murakkab.driver import Compilation, CostOptions, PipelineOptions, compile_file

    compilation = Compilation(sources=sources)
    cost = CostOptions(settings["db"], settings["cluster"], tuple(settings["assume"]))
    try:
        compile_file(
            Path(settings["file"]),
            "estimate",
            settings["slo"],
            None,
            compilation,
            cost,
            PipelineOptions(settings["pipeline"]),
        )
    except BaseException:
        report(compilation.warnings, sources)
        compilation.warnings.clear()
        raise
    return compilation


def _plan(compilation: Compilation, settings: dict[str, Any]) -> Plan:
    """The plan of the job's first `run` request (or its first workflow)."""
    from murakkab.backends import plan_of

    return plan_of(compilation, source=str(settings["file"]), pipeline=settings["pipeline"])


# ---- the run directory ------------------------------------------------------------------


def _run_dir(args: argparse.Namespace, workflow: str) -> Path:
    from murakkab.cli import UsageError
    from murakkab.report.rundir import new_run_dir

    given = args.resume or args.run_dir
    if given is None:
        try:
            return new_run_dir(workflow)
        except OSError as error:
            message = f"cannot make a run directory under runs/ ({error}); pass --run-dir"
            raise UsageError(message) from error
    path = Path(given)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--run-dir {given}: exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- running ------------------------------------------------------------------------------


class _Collector:
    """Keeps the last trace of every op the runtime reports, so that a failed or
    interrupted run still has the trace of what finished; forwards to the display."""

    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.traces: dict[str, OpTrace] = {}
        self.lock = threading.Lock()

    def __call__(self, kind: str, trace: OpTrace) -> None:
        if kind in ("end", "cached", "failed"):
            with self.lock:
                self.traces[trace.step] = trace
        self.forward(kind, trace)

    def partial(self, workflow: str, status: str, error: str, wall_s: float) -> RunResult:
        from murakkab.runtime.trace import RunResult

        with self.lock:
            traces = sorted(self.traces.values(), key=lambda t: (t.start, t.step))
        return RunResult(workflow, None, traces, wall_s, status, error)


def _execute(
    plan: Plan,
    inputs: dict[str, Any],
    table: dict[str, Any] | None,
    run_dir: Path,
    settings: dict[str, Any],
    compilation: Compilation,
    quiet: bool,
) -> tuple[RunResult, Exception | None]:
    """Run the plan; a failed or interrupted run is a result too. An unexpected
    exception (a bug) comes back beside the partial result, to be raised after
    the run directory has what finished."""
    from murakkab.cluster import Cluster
    from murakkab.executors import ExecutorError
    from murakkab.report.progress import RunProgress
    from murakkab.runtime.invoke import StepFailed
    from murakkab.runtime.options import RunOptions

    context = compilation.context
    assert context is not None
    started = time.monotonic()
    crash: Exception | None = None
    with RunProgress(plan.workflow, op_count(plan), enabled=not quiet) as progress:
        collector = _Collector(progress.on_event)
        options = RunOptions(
            executors=table,
            cache_dir=run_dir / "cache",
            retries=settings["retries"],
            on_event=collector,
            cluster=context.hardware if isinstance(context.hardware, Cluster) else None,
        )
        try:
            result = _backend_run(plan, inputs, options, settings)
        except (StepFailed, ExecutorError) as error:
            result = _failed(error, collector, plan, time.monotonic() - started)
        except KeyboardInterrupt:
            elapsed = time.monotonic() - started
            result = collector.partial(plan.workflow, "interrupted", "interrupted", elapsed)
        except Exception as error:  # noqa: BLE001 - re-raised by the caller
            elapsed = time.monotonic() - started
            message = f"internal error: {type(error).__name__}: {error}"
            result, crash = collector.partial(plan.workflow, "failed", message, elapsed), error
    result.run_dir = str(run_dir)
    result.backend = settings["backend"]
    return result, crash


def _check_executors(module: str | None) -> dict[str, Any] | None:
    """`--executors MODULE`, imported now: a bad module is a usage error, not a failed run.
    Like `python -m`, the current directory is searched first."""
    from murakkab.cli import UsageError
    from murakkab.runtime.options import executors_of

    if module is None:
        return None
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return dict(executors_of(module))
    except ImportError as error:
        raise UsageError(f"--executors {module}: cannot import it ({error})") from error
    except ValueError as error:
        raise UsageError(f"--executors {module}: {error}") from error


def _backend_missing(backend: str) -> str | None:
    """Why `--backend` cannot run here, checked before anything is written."""
    if backend != "ray":
        return None
    if importlib.util.find_spec("ray") is None:
        return '--backend ray needs Ray, which is not installed: pip install "murakkab[ray]"'
    try:
        module = importlib.import_module("murakkab.backends.ray")
    except ImportError as error:
        return f"--backend ray is not available in this build of murakkab ({error})"
    if not callable(getattr(module, "run_ray", None)):
        return "--backend ray is not available in this build of murakkab (no run_ray)"
    return None


def _backend_run(plan: Plan, inputs: dict[str, Any], options: Any, settings: dict[str, Any]) -> Any:
    if settings["backend"] == "ray":
        run_ray = importlib.import_module("murakkab.backends.ray").run_ray
        return run_ray(plan, inputs, options, address=settings["ray_address"])
    from murakkab.runtime.engine import run_plan

    return run_plan(plan, inputs, options)


def _failed(error: BaseException, collector: _Collector, plan: Plan, wall_s: float) -> RunResult:
    """The run as far as it got: the runtime's own partial result when the error
    carries one, else the traces the events reported, plus the failed op's."""
    from murakkab.runtime.trace import OpTrace, RunResult

    message = str(getattr(error, "message", "") or error) or type(error).__name__
    carried = getattr(error, "result", None) or getattr(error, "trace", None)
    if isinstance(carried, RunResult):
        carried.status, carried.error = "failed", carried.error or message
        return carried
    result = collector.partial(plan.workflow, "failed", message, wall_s)
    if isinstance(carried, OpTrace) and carried.step not in {t.step for t in result.traces}:
        result.traces.append(carried)
    return result


def op_count(plan: Plan) -> int:
    """How many op calls the plan makes: leaf steps times the copies and rounds around them."""

    def count(steps: Any) -> int:
        return sum((step.count or 1) * count(step.body) if step.is_flow else 1 for step in steps)

    return count(plan.steps)


# ---- results ------------------------------------------------------------------------------


def _write_outputs(
    run_dir: Path, plan: Plan, result: RunResult, compilation: Compilation
) -> tuple[RunReport, list[str]]:
    from murakkab.report.rundir import write_outputs

    module = compilation.module
    assert module is not None
    request = next((r for r in module.requests if r.workflow == plan.workflow), None)
    estimate = compilation.estimates.get(plan.workflow)
    return write_outputs(run_dir, plan, result, estimate, None if request is None else request.slo)


def _finish(
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
