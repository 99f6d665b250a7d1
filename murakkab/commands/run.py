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

This module is the command line and the order of the steps; the steps live in
`murakkab/report/`: `settings.py` (flags over stored settings, the run directory),
`backend.py` (`--executors`, `--backend`, `--ray-address`, running the plan) and
`execute.py` (the run with progress, its outputs, what is printed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.report import MAX_RETRIES
from murakkab.report.backend import backend_missing as _backend_missing  # tests patch it here
from murakkab.report.backend import check_executors, join_ray
from murakkab.report.execute import EXIT_FAILED, execute, finish, write_outputs
from murakkab.report.settings import (
    choose_run_dir,
    prepare_run_dir,
    reason,
    retries_arg,
    run_settings,
)
from murakkab.source import SourceFile

if TYPE_CHECKING:
    from murakkab.driver import Compilation
    from murakkab.plan import Plan


def register(commands: Any, command: Any) -> None:
    from murakkab.cli import add_cost_options
    from murakkab.commands.plan import add_plan_options

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
        'mkc run --describe "Summarise the talk." --input video:video=media/lecture.mp4',
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
        "--describe",
        metavar="DESCRIPTION",
        help="plan the job from a description (as `mkc plan`; inputs as NAME:TYPE=VALUE),"
        " keep the planned file as the run directory's job.mk, then run it",
    )
    parser.add_argument(
        "-p",
        "--pipeline",
        metavar="PIPELINE",
        help="passes after lowering, as for compile (default: default)",
    )
    add_cost_options(parser)
    add_plan_options(parser, describe=True)
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
        type=retries_arg,
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
    from murakkab.backends.support import op_count
    from murakkab.cli import UsageError, report
    from murakkab.plan import NoWorkflow
    from murakkab.report.inputs import InputError, parse_inputs

    if args.describe is not None:
        status = _describe(args, sources)
        if status is not None:
            return status
    settings = run_settings(args)
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
    table = check_executors(settings["executors"], settings["executors_root"])
    missing = _backend_missing(settings["backend"])
    if missing is not None:
        print(f"mkc run: error: {missing}", file=sys.stderr)
        return EXIT_FAILED
    joined = join_ray(settings, args)
    try:
        run_dir = choose_run_dir(args, plan.workflow, Path(settings["file"]))
        notes = prepare_run_dir(args, run_dir, plan, {**settings, "inputs": inputs})
        if not args.quiet:
            for note in _request_notes(compilation, settings, plan):
                print(f"mkc run: note: {note}", file=sys.stderr)
        quiet = args.quiet or args.json
        if table is None:  # the stdlib's executors: their model files, built once
            from murakkab.report.assets import prepare

            prepare(plan, quiet)
        result, crash, started = execute(plan, inputs, table, run_dir, settings, compilation, quiet)
    finally:
        if joined:
            importlib.import_module("ray").shutdown()
    run_report, skipped = write_outputs(run_dir, plan, result, compilation, started)
    if crash is not None:  # a bug: the partial run is kept, then `mkc` reports it
        raise crash
    notes = [] if args.quiet else notes + skipped
    return finish(args, run_report, notes, run_dir, op_count(plan))


def _describe(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int | None:
    """`--describe`: plan the job into the run directory's job.mk and run that file
    (None), or the exit status when it cannot be planned."""
    from murakkab.cli import UsageError
    from murakkab.commands.plan import PlanFailed, plan_job
    from murakkab.report.rundir import RUNS

    if args.file is not None or args.resume is not None:
        given = "FILE" if args.file is not None else "--resume"
        raise UsageError(f"--describe plans the job: drop {given}")
    for flag in args.input:
        if "=" not in flag:
            raise UsageError(f"--input {flag}: --describe runs the job: give NAME:TYPE=VALUE")
    # Every run directory lies one level under runs/, so the planned file's imports,
    # relative to it, are the same for the one chosen once the workflow has a name.
    where = Path(args.run_dir or RUNS / "planned") / "job.mk"
    try:
        planned = plan_job(args, sources, where, args.describe)
    except PlanFailed as error:
        return error.report("mkc run")
    run_dir = choose_run_dir(args, planned.written.workflow, where)
    try:
        (run_dir / "job.mk").write_text(planned.written.text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{run_dir}: cannot write the planned job.mk ({reason(error)})") from None
    args.file, args.run_dir = str(run_dir / "job.mk"), str(run_dir)
    args.input = [_untyped(flag) for flag in args.input]
    if not args.quiet:
        for note in planned.notes + list(planned.written.notes):
            print(f"mkc run: note: {note}", file=sys.stderr)
        print(f"mkc run: planned {args.file} ({planned.planner})", file=sys.stderr)
    return None


def _untyped(flag: str) -> str:
    """`NAME:TYPE=VALUE` as `NAME=VALUE`: the planned file declares the type."""
    head, eq, value = flag.partition("=")
    return f"{head.partition(':')[0]}{eq}{value}"


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
