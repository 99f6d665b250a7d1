"""`mkc plan`: a natural-language description and SLOs to an editable `.mk` job file.

The default planner (murakkab/planner/search.py) works offline; `--planner MODEL`
(or MKC_PLANNER_MODEL) asks an LLM first and falls back to the default planner.
The file names the planner that produced it; `--explain` shows the clauses, the
candidates and scores per clause, and the plans the search compared.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.source import SourceFile

if TYPE_CHECKING:
    from murakkab.ir.core import Literal
    from murakkab.ir.types import Type
    from murakkab.planner.emit import Request
    from murakkab.planner.library import Library
    from murakkab.planner.planning import Planned
    from murakkab.planner.search import Input

DEFAULT_LIBRARY = "examples"


def register(commands: Any, command: Any) -> None:
    parser = command(
        commands,
        "plan",
        "plan a job from a description: decompose, choose executors and workflows, write a .mk",
        run_plan,
        'mkc plan "Summarise the talk." --input video:video=media/lecture.mp4 -o talk.mk',
        'mkc plan "How many engines does the rocket have?" --input videos:list<video>=clip.mp4'
        ' --slo "latency < 30 s, cost < 2 usd"',
        'mkc plan "Write a function that sorts a list, write unit tests and run them." --explain',
        'mkc plan "Summarise it." --input doc:text --planner gpt-4o   # an LLM plans first',
    )
    add_plan_options(parser)
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the .mk file here (default: stdout)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the clauses, the candidates and scores per clause and the plans compared",
    )


def add_plan_options(parser: argparse.ArgumentParser, describe: bool = False) -> None:
    """The options `mkc plan` shares with `mkc run --describe`."""
    if not describe:
        parser.add_argument("description", metavar="DESCRIPTION", help="what the job should do")
        parser.add_argument(
            "--input",
            action="append",
            default=[],
            metavar="NAME:TYPE[=VALUE]",
            help="a workflow input, e.g. video:video=clip.mp4 or docs:list<text>; a value goes"
            " into the file's `run` request (a list as JSON or one item)",
        )
        parser.add_argument(
            "--slo", action="append", default=[], metavar="SLO", help="SLOs of the run request"
        )
    parser.add_argument(
        "--library",
        action="append",
        default=None,
        metavar="PATH",
        help="a directory of .mk workflows (or one .mk file) to compose; repeatable"
        " (default: examples/ when it exists; '' for none)",
    )
    parser.add_argument(
        "--result",
        metavar="TYPE",
        help="the type the job returns (default: any type that is not media)",
    )
    parser.add_argument("--name", metavar="NAME", help="the workflow's name (default: from words)")
    parser.add_argument(
        "--planner",
        metavar="MODEL",
        help="plan with an LLM first: a local GGUF model (smollm2-135m-instruct,"
        " qwen2.5-coder-0.5b-instruct) or a model of the OpenAI-compatible endpoint of"
        " MKC_LLM_BASE_URL; 'default' for the offline planner"
        " (default: MKC_PLANNER_MODEL, else the offline planner)",
    )


def run_plan(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import write_output

    where = Path(args.output) if args.output not in (None, "-") else Path("job.mk")
    try:
        planned = plan_job(args, sources, where, args.description)
    except PlanFailed as error:
        return error.report("mkc plan")
    if args.explain:
        from murakkab.planner.explain import explain

        print(explain(planned), end="")
    write_output(planned.written.text, args.output)
    for note in planned.notes + list(planned.written.notes):
        print(f"mkc plan: note: {note}", file=sys.stderr)
    shown = f"wrote {args.output}" if args.output not in (None, "-") else "planned"
    print(f"mkc plan: {shown} ({planned.planner})", file=sys.stderr)
    return 0


def plan_job(
    args: argparse.Namespace, sources: dict[str, SourceFile], where: Path, description: str
) -> Planned:
    """Plan `description` into a file to be written at `where`; a description
    that cannot be planned is a UsageError-like exit 1 with the planner's reasons."""
    from murakkab.cli import UsageError
    from murakkab.planner.planning import Job, plan_default
    from murakkab.planner.search import PlanningError

    inputs = tuple(parse_input(flag) for flag in args.input)
    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"--input {duplicate}: given twice")
    if not description.strip():
        raise UsageError("DESCRIPTION is empty: say what the job should do")
    if args.name is not None and not _is_name(args.name):
        raise UsageError(f"--name {args.name}: expected a name of letters, digits and _")
    request = parse_request(args.slo, sources)
    result = None if args.result is None else (parse_type(args.result, "--result"),)
    job = Job(description, inputs, where, request, result, args.name)
    library = load(args.library)
    if args.name is not None and library.get(args.name) is not None:
        raise UsageError(f"--name {args.name}: the library has a workflow of that name")
    model = _model(args.planner)
    try:
        if model is not None:
            from murakkab.planner.llm import plan_llm

            return plan_llm(job, library, model)
        return plan_default(job, library, alternatives=3 if getattr(args, "explain", False) else 1)
    except PlanningError as error:
        raise PlanFailed(str(error), error.lines) from None


class PlanFailed(Exception):
    """The description cannot be planned: `mkc` prints why and exits 1."""

    def __init__(self, message: str, lines: tuple[str, ...]):
        super().__init__(message)
        self.lines = lines

    def report(self, command: str) -> int:
        print(f"{command}: error: {self}", file=sys.stderr)
        for line in self.lines:
            print(f"  {line}", file=sys.stderr)
        return 1


def load(directories: list[str] | None) -> Library:
    from murakkab.cli import UsageError
    from murakkab.planner.library import load_library

    if directories is None:
        default = Path(DEFAULT_LIBRARY)
        return load_library((default,) if default.is_dir() else ())
    paths = tuple(Path(d) for d in directories if d)
    for path in paths:
        if not path.is_dir() and not (path.is_file() and path.suffix == ".mk"):
            raise UsageError(f"--library {path}: not a directory or a .mk file")
    return load_library(paths)


def _model(flag: str | None) -> str | None:
    """The LLM to plan with: --planner, else MKC_PLANNER_MODEL; None: the default planner."""
    from murakkab.planner.llm import configured_model

    chosen = flag.strip() if flag is not None else configured_model(os.environ)
    return None if chosen in (None, "", "default") else chosen


def parse_input(flag: str) -> Input:
    """`NAME:TYPE[=VALUE]`: the name and type of a workflow input, and its value."""
    from murakkab.cli import UsageError
    from murakkab.planner.search import Input

    head, eq, value = flag.partition("=")
    name, colon, type_text = head.partition(":")
    name, type_text = name.strip(), type_text.strip()
    if not colon or not _is_name(name) or not type_text:
        raise UsageError(
            f"--input {flag}: expected NAME:TYPE[=VALUE] with NAME of letters, digits and _"
            " (not a keyword), e.g. video:video=clip.mp4"
        )
    type_ = parse_type(type_text, f"--input {flag}")
    return Input(name, type_, _value(flag, name, value, type_) if eq else None)


def _value(flag: str, name: str, text: str, type_: Type) -> Literal:
    """The value as `mkc run --input` reads it (a list as JSON or one item), as a literal."""
    from murakkab.cli import UsageError
    from murakkab.ir.types import ListType
    from murakkab.report.inputs import InputError, input_value

    try:
        value = input_value(name, text, str(type_))
    except InputError as error:
        detail = str(error).removeprefix(f"--input {name}: ")
        if isinstance(type_, ListType):
            detail = f"'{text}' is not a {type_}: {detail}"
        raise UsageError(f"--input {flag}: {detail}") from None
    return _literal(value)


def _literal(value: Any) -> Literal:
    return tuple(_literal(item) for item in value) if isinstance(value, list) else value


def _is_name(text: str) -> bool:
    from murakkab.planner.emit import KEYWORDS

    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) is not None and text not in KEYWORDS


def parse_type(text: str, flag: str) -> Type:
    """A type as the language writes it: `video`, `list<text>`."""
    from murakkab.cli import UsageError
    from murakkab.ir.types import PRIMITIVES, ListType, prim

    text = text.strip()
    if text.startswith("list<") and text.endswith(">"):
        return ListType(parse_type(text[5:-1], flag))
    if text in PRIMITIVES and text != "any":
        return prim(text)
    known = ", ".join(p for p in PRIMITIVES if p != "any")
    raise UsageError(f"{flag}: unknown type '{text}'; types are {known} and list<T>")


def parse_request(flags: list[str], sources: dict[str, SourceFile]) -> Request:
    """The `--slo` flags as the run request's bounds and objective (checked like
    compile's: a bad one is a diagnostic that points into the flag)."""
    from murakkab.driver import parse_slo_flags
    from murakkab.frontend.parse import decode_source, parse_cli_slo
    from murakkab.planner.emit import Request

    parse_slo_flags(flags, sources)  # raises the diagnostics of a bad flag
    bounds: dict[str, Any] = {}
    objective = None
    for flag in flags:
        parsed = parse_cli_slo(decode_source(flag.encode("utf-8", "surrogateescape"), "--slo"))
        bounds.update((b.metric, b) for b in parsed.bounds)
        objective = parsed.objectives[-1] if parsed.objectives else objective
    return Request(tuple(bounds.values()), objective)
