"""`mkc`: the murakkab compiler driver.

Exit status: 0 success, 1 the input has errors (diagnostics were printed),
2 bad command line, 70 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from murakkab import __version__
from murakkab.diagnostics import Diagnostic, DiagnosticError, render_all, sorted_diagnostics
from murakkab.source import SourceFile

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70


class UsageError(Exception):
    """A bad flag combination: reported like argparse does, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    sources: dict[str, SourceFile] = {}
    try:
        return int(args.run(args, sources))
    except DiagnosticError as error:
        report(error.diagnostics, {**error.sources, **sources})
        return EXIT_USER
    except UsageError as error:
        print(f"mkc {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mkc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mkc ... | head`): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - the last line of defence
        if args.debug:
            traceback.print_exc()
        detail = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        print(f"mkc: internal error, please report ({detail})", file=sys.stderr)
        if not args.debug:
            print("mkc: rerun with --debug for the traceback", file=sys.stderr)
        return EXIT_INTERNAL


def report(diagnostics: Sequence[Diagnostic], sources: dict[str, SourceFile]) -> None:
    if diagnostics:
        print(render_all(sorted_diagnostics(diagnostics), sources), file=sys.stderr)


# ---- commands ------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.driver import Compilation, compile_file

    status = EXIT_OK
    for path in args.files:
        compilation = Compilation(sources=sources)
        try:
            compile_file(Path(path), stop_after="lower", compilation=compilation)
        except DiagnosticError as error:
            report(list(error.diagnostics) + compilation.warnings, {**error.sources, **sources})
            status = EXIT_USER
            continue
        report(compilation.warnings, sources)
        module = compilation.module
        assert module is not None
        print(
            f"{path}: ok ({len(module.workflows)} workflow(s), {len(module.requests)} request(s))"
        )
    return status


def cmd_compile(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.driver import (
        FRONT_STAGES,
        Compilation,
        CostOptions,
        PipelineOptions,
        compile_file,
    )
    from murakkab.ir.core import Module
    from murakkab.ir.printer import print_module
    from murakkab.passes.manager import parse_pipeline

    sources["-p"] = SourceFile.of("-p", args.pipeline)
    stages = FRONT_STAGES + tuple(p.name for p in parse_pipeline(args.pipeline)) + ("estimate",)
    if args.stop_after not in stages:
        raise UsageError(f"unknown stage '{args.stop_after}'; stages are {', '.join(stages)}")
    with_ir = stages[2:]
    if args.print_ir_after is not None and args.print_ir_after not in ("all",) + with_ir:
        raise UsageError(
            f"no IR after '{args.print_ir_after}'; IR exists after {', '.join(with_ir)} (or all)"
        )
    if args.emit == "plan" and args.stop_after != stages[-1]:
        raise UsageError(f"--emit plan needs every stage; drop --stop-after {args.stop_after}")
    if args.backend is not None and args.emit != "plan":
        raise UsageError("--backend chooses what --emit plan writes; add --emit plan")

    def observe(stage: str, module: Module) -> None:
        if args.print_ir_after in ("all", stage):
            print(f"# IR after {stage}", file=sys.stderr)
            print(print_module(module, debuginfo=args.debuginfo), end="", file=sys.stderr)

    compilation = Compilation(sources=sources)
    cost = CostOptions(args.db, args.cluster, tuple(args.assume))
    pipeline = PipelineOptions(args.pipeline, args.verify_each, args.dump_smt)
    try:
        compile_file(
            Path(args.file), args.stop_after, args.slo, observe, compilation, cost, pipeline
        )
    finally:
        report(compilation.warnings, sources)
    if args.time_passes:
        print(render_pass_times(compilation.pass_times), end="", file=sys.stderr)
    if args.emit == "plan":
        from murakkab.backends import emit, plan_of
        from murakkab.plan import NoWorkflow

        try:
            plan = plan_of(compilation, source=args.file, pipeline=args.pipeline)
        except NoWorkflow as error:
            raise UsageError(f"--emit plan: {args.file} {error}, so it has no plan") from None
        write_output(emit(plan, args.backend or "python"), args.output)
    elif args.emit is not None:
        if compilation.module is None:
            stopped = args.stop_after
            raise UsageError(f"--emit ir needs IR, which exists only after 'lower' ({stopped=})")
        write_output(print_module(compilation.module, debuginfo=args.debuginfo), args.output)
    if compilation.estimates and not args.quiet:
        from murakkab.cost.report import render_summary

        print(render_summary(compilation), end="", file=sys.stderr)
    return EXIT_OK


def render_pass_times(times: list[tuple[str, float]]) -> str:
    from murakkab.table import align

    total = sum(seconds for _, seconds in times)
    rows = [["pass", "ms"]] + [[name, f"{seconds * 1000:.1f}"] for name, seconds in times]
    rows.append(["total", f"{total * 1000:.1f}"])
    return "\n".join(align(rows, right=(1,))) + "\n"


def cmd_opt(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.catalogue import stdlib_catalogue
    from murakkab.frontend.parse import read_source
    from murakkab.ir.parser import parse_module
    from murakkab.ir.printer import print_module
    from murakkab.ir.signatures import check_signatures
    from murakkab.ir.verifier import verify_module
    from murakkab.passes.manager import parse_pipeline, run_pipeline

    sources["-p"] = SourceFile.of("-p", args.pipeline or "")
    pipeline = parse_pipeline(args.pipeline or "")
    source = read_source(Path(args.file), args.file)
    sources[source.name] = source
    module = parse_module(source)
    problems = verify_module(module) or check_signatures(module, stdlib_catalogue())
    if problems:
        raise DiagnosticError(problems)
    context = None
    if pipeline:
        from murakkab.cost.annotate import resolve_tiers
        from murakkab.cost.context import cost_context
        from murakkab.passes.base import PassContext

        cost = cost_context(args.db, args.cluster, args.assume, sources)
        module, _ = resolve_tiers(module, stdlib_catalogue(), cost)
        context = PassContext(stdlib_catalogue(), cost)
    module = run_pipeline(module, pipeline, context, verify_each=args.verify_each)
    write_output(print_module(module, debuginfo=args.debuginfo), args.output)
    return EXIT_OK


def cmd_fmt(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.frontend.format import format_file
    from murakkab.frontend.parse import parse_source, read_source

    status = EXIT_OK
    for path in args.files:
        source = read_source(Path(path), path)
        sources[source.name] = source
        formatted = format_file(parse_source(source))
        if formatted == source.text:
            continue
        if args.check:
            diff = difflib.unified_diff(
                source.text.splitlines(True),
                formatted.splitlines(True),
                path,
                f"{path} (formatted)",
            )
            sys.stdout.writelines(diff)
            status = EXIT_USER
        else:
            write_output(formatted, path, flag=None)
            print(f"formatted {path}", file=sys.stderr)
    return status


def write_output(text: str, output: str | None, flag: str | None = "-o") -> None:
    """stdout, or a file replaced atomically so a failure never leaves half of it.

    Only regular files are replaced: `-o /dev/null` or a pipe is written to as it is.
    A file that cannot be written (a directory, a missing folder, no permission) is
    a `UsageError` naming `flag` and the file (just the file when `flag` is None).
    """
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()  # before the summary on stderr, when both go to one pipe
        return
    target = Path(output)
    temporary = target.with_name(f".{target.name}.mkc-tmp")
    try:
        if target.exists() and not target.is_file():
            with target.open("w", encoding="utf-8") as stream:
                stream.write(text)
            return
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        where = f"{flag} {output}" if flag else output
        reason = error.strerror or str(error)
        raise UsageError(f"{where}: cannot write it ({reason})") from None


# ---- argument parsing ---------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mkc",
        description="murakkab: compile compound AI workflows (.mk jobs) against SLOs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
            "mkc check examples/video_qa.mk",
            "mkc compile examples/video_qa.mk --slo 'cost<2' --emit ir",
            "mkc opt tests/golden/ir/video_qa.mkir",
            "mkc fmt --check examples/*.mk",
        ),
    )
    parser.add_argument("--version", action="version", version=f"mkc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.set_defaults(command=None, debug=False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = _command(
        commands,
        "check",
        "parse and check job files",
        cmd_check,
        "mkc check examples/video_qa.mk",
        "mkc check examples/*.mk",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help=".mk job files")

    compile_ = _command(
        commands,
        "compile",
        "compile a job file to IR or to a plan",
        cmd_compile,
        "mkc compile examples/video_qa.mk --emit ir",
        "mkc compile examples/video_qa.mk --slo 'latency < 20 s, minimize cost' --emit ir",
        "mkc compile examples/math_reflect.mk --stop-after check",
        "mkc compile examples/video_qa.mk --print-ir-after all -o /dev/null",
        "mkc compile examples/video_qa.mk --emit plan -o plan.py",
        "mkc compile examples/video_qa.mk --emit plan --backend ray -o plan_ray.py",
    )
    compile_.add_argument("file", metavar="FILE", help="a .mk job file")
    compile_.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="SLO",
        help="an SLO such as 'cost<2', 'latency < 30 s, quality >= good' or 'minimize energy'; "
        "repeatable; overrides the file's bound on the same metric",
    )
    compile_.add_argument(
        "--emit",
        choices=("ir", "plan"),
        help="what to write: the IR of the last stage run, or a plan (a program, --backend)",
    )
    compile_.add_argument(
        "--backend",
        choices=("python", "ray"),
        help="the program --emit plan writes: a standalone Python plan (default) or a Ray "
        "plan (docs/backends.md)",
    )
    compile_.add_argument(
        "--stop-after",
        default="estimate",
        metavar="STAGE",
        help="parse, check, lower, a pass of the pipeline, or estimate (default)",
    )
    compile_.add_argument(
        "-p",
        "--pipeline",
        default="default",
        metavar="PIPELINE",
        help="passes after lowering: a named pipeline (default, none) or 'a,b{opt=v}'",
    )
    compile_.add_argument(
        "--verify-each", action="store_true", help="verify the IR after every pass"
    )
    compile_.add_argument(
        "--dump-smt",
        metavar="FILE",
        help="write the placement pass's Z3 problem to FILE as SMT-LIB 2",
    )
    compile_.add_argument(
        "--time-passes", action="store_true", help="print each pass's time to stderr"
    )
    compile_.add_argument(
        "-q", "--quiet", action="store_true", help="no summary of the predictions on stderr"
    )
    add_cost_options(compile_)
    compile_.add_argument(
        "--print-ir-after", metavar="NAME", help="print the IR after a stage (or 'all') to stderr"
    )
    compile_.add_argument(
        "--debuginfo", action="store_true", help="print source locations in the IR"
    )
    compile_.add_argument(
        "-o", "--output", metavar="OUT", help="write the output here instead of stdout"
    )

    opt = _command(
        commands,
        "opt",
        "run passes on textual IR (no -p: parse, verify and re-print)",
        cmd_opt,
        "mkc opt tests/golden/ir/video_qa.mkir",
        "mkc opt module.mkir -p dead-task-elimination",
    )
    opt.add_argument("file", metavar="FILE.mkir", help="textual IR")
    opt.add_argument(
        "-p", "--pipeline", metavar="PIPELINE", help="comma-separated passes, e.g. 'a,b{opt=1}'"
    )
    opt.add_argument("--verify-each", action="store_true", help="run the verifier after every pass")
    add_cost_options(opt)
    opt.add_argument("--debuginfo", action="store_true", help="print source locations in the IR")
    opt.add_argument("-o", "--output", metavar="OUT", help="write the IR here instead of stdout")

    fmt = _command(
        commands,
        "fmt",
        "format job files in place, canonically",
        cmd_fmt,
        "mkc fmt examples/video_qa.mk",
        "mkc fmt --check examples/*.mk",
    )
    fmt.add_argument("files", nargs="+", metavar="FILE", help=".mk job files")
    from murakkab.commands import cluster, estimate, explain, fleet, plan, profile, profiles, run

    estimate.register(commands, _command)
    explain.register(commands, _command)
    profiles.register(commands, _command)
    profile.register(commands, _command)
    plan.register(commands, _command)
    run.register(commands, _command)
    cluster.register(commands, _command)
    fleet.register(commands, _command)
    fmt.add_argument(
        "--check", action="store_true", help="change nothing; show a diff and exit 1 if unformatted"
    )
    return parser


Command = Callable[[argparse.Namespace, dict[str, SourceFile]], int]


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    run: Command,
    *examples: str,
) -> argparse.ArgumentParser:
    command = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks of internal errors",
    )
    command.set_defaults(command=name, run=run)
    return command


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    """Where predictions come from; shared by `compile` and `estimate`."""
    parser.add_argument(
        "--cluster", metavar="FILE", help="cluster spec (TOML); default: this machine"
    )
    parser.add_argument(
        "--db", metavar="PATH", help="profile store (default: $MKC_PROFILE_DB or the user cache)"
    )
    parser.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an estimate assumption, e.g. video_s=120 or load=saturation; repeatable",
    )


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


if __name__ == "__main__":  # pragma: no cover
    # `python -m murakkab.cli`: run the imported module's main, not this second
    # copy of it, so that exceptions raised by other modules (UsageError) are the
    # classes this module catches.
    from murakkab.cli import main as imported_main

    sys.exit(imported_main())
