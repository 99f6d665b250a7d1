"""`mkc run`: compile a job, execute its plan, report predicted versus measured (issue #5).

The run directory (`runs/<YYYYmmdd-HHMMSS>-<workflow>/`, or `--run-dir`) keeps
everything a run made: `job.mk`, `plan.json`, `plan.py`, `run.json` (the
settings and inputs, what `--resume` reads), `trace.json`, `report.txt`,
`schedule.png`, `schedule.html` and `cache/`, the content-addressed result
cache. A failed or interrupted run keeps its partial trace and its cache, so
`mkc run --resume DIR` recomputes only what did not finish (docs/run.md). A run
is written only into a new or empty directory, or a run directory of the same
job and workflow: nothing else is ever overwritten.

Every check that can fail on a user's mistake (inputs, `--executors`,
`--ray-address`, the run directory) runs before the run starts, and says which
flag is wrong. Exit status: 0 the run succeeded, 1 it failed (or the job has
errors, or no workflow), 2 bad command line, 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.report import MAX_RETRIES
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
        "--ray-address",
        metavar="ADDR",
        help="with --backend ray: the Ray cluster to join, HOST:PORT, ray://HOST:PORT or auto"
        " (default: a local Ray for the run); with --resume, '' drops the stored one",
    )
    parser.add_argument(
        "--executors",
        metavar="MODULE",
        help="a module whose EXECUTORS dict replaces implementations, e.g. tests.fake_executors"
        " (imported from the current directory first); with --resume, '' drops the stored one",
    )
    parser.add_argument(
        "--retries",
        type=_retries,
        metavar="N",
        help=f"extra attempts per implementation before its fallbacks, 0 to {MAX_RETRIES}"
        " (default 2)",
    )
    parser.add_argument(
        "--workflow",
        metavar="NAME",
        help="the workflow to run (default: the one the file's first `run` request names,"
        " else its first workflow)",
    )
    parser.add_argument(
        "--run-dir",
        metavar="DIR",
        help="where the run keeps its files (default runs/<time>-<workflow>): a new or empty"
        " directory, or a run directory of the same job and workflow, whose cache is reused;"
        " any other directory is refused",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="run again in RUN_DIR with its stored settings and inputs (flags given override"
        " them); finished ops come from its cache",
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
    from murakkab.plan import NoWorkflow
    from murakkab.report.inputs import InputError, parse_inputs

    settings = _settings(args)
    if settings["file"] is None:
        raise UsageError("the following arguments are required: FILE (or --resume RUN_DIR)")
    compilation = _compile(settings, sources)
    try:
        plan = _plan(compilation, settings)
    except NoWorkflow as error:
        if settings["workflow"] is None:
            print(f"mkc run: error: {settings['file']} defines no workflow to run", file=sys.stderr)
            return EXIT_FAILED
        if args.workflow:
            message = f"--workflow {args.workflow}: {settings['file']} {error}"
        else:
            message = (
                f"--resume {args.resume}: it is a run of workflow {settings['workflow']}, but"
                f" {settings['file']} now {error}"
            )
        raise UsageError(message) from None
    finally:
        report(compilation.warnings, sources)
    try:
        inputs = parse_inputs(plan, args.input, settings["inputs"])
    except InputError as error:
        raise UsageError(str(error)) from None
    table = _check_executors(settings["executors"], settings["executors_root"])
    missing = _backend_missing(settings["backend"])
    if missing is not None:
        print(f"mkc run: error: {missing}", file=sys.stderr)
        return EXIT_FAILED
    joined = _join_ray(settings, args)
    try:
        run_dir = _run_dir(args, plan.workflow, Path(settings["file"]))
        notes = _prepare(args, run_dir, plan, {**settings, "inputs": inputs})
        if not args.quiet:
            for note in _request_notes(compilation, settings, plan):
                print(f"mkc run: note: {note}", file=sys.stderr)
        quiet = args.quiet or args.json
        result, crash, started = _execute(
            plan, inputs, table, run_dir, settings, compilation, quiet
        )
    finally:
        if joined:
            importlib.import_module("ray").shutdown()
    run_report, skipped = _write_outputs(run_dir, plan, result, compilation, started)
    if crash is not None:  # a bug: the partial run is kept, then `mkc` reports it
        raise crash
    notes = [] if args.quiet else notes + skipped
    return _finish(args, run_report, notes, run_dir, op_count(plan))


def _retries(text: str) -> int:
    """`--retries N`: a whole number from 0 to MAX_RETRIES."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a whole number (0 to {MAX_RETRIES})"
        ) from None
    if not 0 <= value <= MAX_RETRIES:
        raise argparse.ArgumentTypeError(f"{value} is out of range: 0 to {MAX_RETRIES}")
    return value


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The command line over what `--resume RUN_DIR` stored in its run.json.

    A flag given replaces what was stored (a repeatable one, `--slo` or `--assume`,
    replaces the stored list as a whole); `''` for `--executors`, `--ray-address`,
    `--cluster`, `--db`, `--workflow`, `--slo` or `--assume` drops the stored value
    and leaves the default. `--input` replaces one stored input and keeps the others.
    """
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
        """The flag when given ('' drops the stored value), else the stored value."""
        if given is None:
            return stored.get(name, default)
        return None if given == "" else given

    def pick_list(name: str, given: list[str]) -> list[str]:
        if not given:
            return list(stored.get(name, []))
        return [item for item in given if item.strip()]

    job = args.file if args.file is not None else stored.get("file")
    if args.resume is not None and args.file is None and job and not Path(job).exists():
        job = str(Path(args.resume) / "job.mk")  # the job moved: run the copy the run kept
    executors = pick("executors", args.executors, None)
    if executors is None:
        root = None
    elif args.executors:
        root = os.getcwd()  # where `--executors` is imported from, stored for --resume
    else:  # stored: imported from where the first run was started
        root = stored.get("executors_root") or os.getcwd()

    def pick_path(name: str, given: str | None, variable: str) -> str | None:
        """A path flag; its default is what the environment variable names. What it
        named is stored too: a resumed run plans for the same cluster and profiles,
        whatever its environment."""
        if given is None and name in stored:
            return _absolute(stored[name])
        return _absolute(given or os.environ.get(variable) or None)

    return {
        "file": job,
        "workflow": pick("workflow", args.workflow, None),
        "slo": pick_list("slo", args.slo),
        "pipeline": pick("pipeline", args.pipeline, "default") or "default",
        "cluster": pick_path("cluster", args.cluster, "MKC_CLUSTER"),
        "db": pick_path("db", args.db, "MKC_PROFILE_DB"),
        "assume": pick_list("assume", args.assume),
        "backend": pick("backend", args.backend, "local"),
        "ray_address": pick("ray_address", args.ray_address, None),
        "executors": executors,
        "executors_root": root,
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
    """The plan of `--workflow` (default: the job's first `run` request's workflow,
    else its first workflow); `NoWorkflow` when the job has no such workflow."""
    from murakkab.backends import plan_of

    return plan_of(
        compilation,
        source=str(settings["file"]),
        pipeline=settings["pipeline"],
        workflow=settings["workflow"],
    )


def _request_notes(compilation: Compilation, settings: dict[str, Any], plan: Plan) -> list[str]:
    """Which `run` request runs, when the file has more than one and none was named."""
    module = compilation.module
    if settings["workflow"] is not None or module is None or len(module.requests) < 2:
        return []
    names = list(dict.fromkeys(r.workflow for r in module.requests))
    count = len(module.requests)
    if len(names) == 1:
        return [
            f"{settings['file']} has {count} `run` requests of {plan.workflow}; this runs the"
            " first one's inputs (give others with --input NAME=VALUE)"
        ]
    return [
        f"{settings['file']} has {count} `run` requests ({', '.join(names)}); this runs the"
        f" first, {plan.workflow} (run another with --workflow NAME)"
    ]


# ---- the run directory ------------------------------------------------------------------


def _run_dir(args: argparse.Namespace, workflow: str, job: Path) -> Path:
    """The run directory: a new one under runs/, or `--run-dir` / `--resume` when it
    is new, empty or a run of this same job and workflow (anything else is refused,
    so that no file the user has is overwritten)."""
    from murakkab.cli import UsageError
    from murakkab.report.rundir import check_reusable, new_run_dir

    given = args.resume or args.run_dir
    if given is None:
        try:
            return new_run_dir(workflow)
        except OSError as error:
            message = f"cannot make a run directory under runs/ ({_reason(error)}); pass --run-dir"
            raise UsageError(message) from error
    flag = f"--resume {given}" if args.resume else f"--run-dir {given}"
    path = Path(given)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag}: exists and is not a directory")
    try:
        check_reusable(path, job, workflow)
    except ValueError as error:
        raise UsageError(f"{flag}: {error}") from error
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{flag}: cannot make the directory ({_reason(error)})") from error
    return path


def _prepare(
    args: argparse.Namespace, run_dir: Path, plan: Plan, settings: dict[str, Any]
) -> list[str]:
    """The run's settings, job and plan, written before it starts."""
    from murakkab.cli import UsageError
    from murakkab.report.rundir import prepare

    try:
        return prepare(run_dir, plan, Path(settings["file"]), settings)
    except OSError as error:
        given = args.resume or args.run_dir
        flag = f"--resume {given}" if args.resume else f"--run-dir {given}"
        where = flag if given is not None else f"{run_dir} (pass --run-dir to write elsewhere)"
        raise UsageError(f"{where}: cannot write the run's files ({_reason(error)})") from error


def _reason(error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    return f"{reason}: {error.filename}" if error.filename else reason


# ---- running ------------------------------------------------------------------------------


class _Collector:
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


def _execute(
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
    from murakkab.cluster import Cluster
    from murakkab.report.progress import RunProgress
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


def _check_executors(module: str | None, root: str | None) -> dict[str, Any] | None:
    """`--executors MODULE`, imported now: a module that does not import, or whose
    EXECUTORS is not a table of functions, is a usage error, not a failed run.
    Like `python -m`, `root` (the directory the run was first started from) is
    searched first."""
    from murakkab.cli import UsageError
    from murakkab.runtime.options import executors_of

    if module is None:
        return None
    if root is not None and root not in sys.path:
        if not (root == os.getcwd() and "" in sys.path):
            sys.path.insert(0, root)
    try:
        table = dict(executors_of(module))
    except ImportError as error:
        raise UsageError(f"--executors {module}: cannot import it ({error})") from error
    except ValueError as error:
        raise UsageError(f"--executors {module}: {error}") from error
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the module's own code failed
        detail = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        raise UsageError(f"--executors {module}: importing it failed ({detail})") from error
    for key, value in table.items():
        if not isinstance(key, str) or not callable(value):
            raise UsageError(
                f"--executors {module}: EXECUTORS[{key!r}] is a {type(value).__name__}, not a"
                " function(Call) (keys are capabilities, e.g. 'llm.answer')"
            )
    return table


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


def _join_ray(settings: dict[str, Any], args: argparse.Namespace) -> bool:
    """`--ray-address`, checked and joined before anything is written, so that a
    bad address is a usage error (and never stored), and joining is not counted
    in the run's latency. True when this process joined and must leave after."""
    from murakkab.cli import UsageError

    address = settings["ray_address"]
    if settings["backend"] != "ray":
        if args.ray_address:
            raise UsageError("--ray-address needs --backend ray")
        return False
    if address is None:
        return False  # the backend starts a local Ray, sized for the plan
    from murakkab.backends.support import ray_address_problem

    problem = ray_address_problem(address)
    if problem is not None:
        raise UsageError(problem)
    ray = importlib.import_module("ray")
    if ray.is_initialized():
        return False
    init_options = importlib.import_module("murakkab.backends.ray.support").init_options
    try:
        ray.init(address=address, **init_options(settings["executors_root"]))
    except Exception as error:  # noqa: BLE001 - Ray says why in its own exception types
        detail = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        message = f"--ray-address {address}: cannot join a Ray cluster there ({detail})"
        raise UsageError(message) from None
    return True


def _backend_run(plan: Plan, inputs: dict[str, Any], options: Any, settings: dict[str, Any]) -> Any:
    if settings["backend"] == "ray":
        run_ray = importlib.import_module("murakkab.backends.ray").run_ray
        return run_ray(plan, inputs, options, address=settings["ray_address"])
    from murakkab.runtime.engine import run_plan

    return run_plan(plan, inputs, options)


def op_count(plan: Plan) -> int:
    """How many op calls the plan makes: leaf steps times the copies and rounds around them."""

    def count(steps: Any) -> int:
        return sum((step.count or 1) * count(step.body) if step.is_flow else 1 for step in steps)

    return count(plan.steps)


# ---- results ------------------------------------------------------------------------------


def _write_outputs(
    run_dir: Path,
    plan: Plan,
    result: RunResult,
    compilation: Compilation,
    abandoned: list[OpTrace],
) -> tuple[RunReport, list[str]]:
    from murakkab.report.rundir import write_outputs

    module = compilation.module
    assert module is not None
    request = next((r for r in module.requests if r.workflow == plan.workflow), None)
    estimate = compilation.estimates.get(plan.workflow)
    slo = None if request is None else request.slo
    return write_outputs(run_dir, plan, result, estimate, slo, abandoned)


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
