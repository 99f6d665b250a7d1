"""Write a plan as a formatted, editable `.mk` job file.

The file holds the imports it needs (stdlib modules, and library files by a path
relative to the file itself), one workflow whose docstring is the description,
one task per step with a comment that says why the planner chose it, and a `run`
request with the inputs' values and the SLOs (left out, with a note, when an input
has no value). The text goes through the formatter, so it reads like `mkc fmt`
output.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from murakkab.frontend import ast
from murakkab.frontend.format import format_bound, format_file
from murakkab.frontend.parse import decode_source, parse_source
from murakkab.frontend.resolve import format_literal
from murakkab.frontend.strings import quote
from murakkab.ir.types import ListType, Type
from murakkab.planner.search import Arg, Items, Lit, Plan, Ref, Step

# The grammar's keywords: no task or workflow may be named one.
KEYWORDS = frozenset(
    "import workflow task return yield parallel repeat from as with using on optional "
    "capability kind knob in run slo minimize maximize true false list record".split()
)
# What a step's result is called, by the short name of what it calls.
RESULT_NAMES = {
    "scene_detect": "scenes",
    "frame_extract": "frames",
    "transcribe": "transcript",
    "detect_objects": "objects",
    "read_text": "screen_text",
    "summarize": "summary",
    "compare": "comparison",
    "write_tests": "tests",
    "run_tests": "report",
    "solve": "solution",
    "revise": "revision",
    "rank": "ranked",
    "execute": "output",
    "embed": "embeddings",
    "fetch": "page",
    "debate": "solution",
    "self_reflect": "answer",
    "chat": "reply",
}
_STOP = frozenset(
    "a an and are as at be by do does each for from how i in into is it its me my of "
    "on or please the their them then these this those to two what when where which "
    "who why with".split()
)


@dataclass(frozen=True)
class Written:
    text: str  # the formatted file
    workflow: str
    notes: tuple[str, ...]  # what the user should know (no run request, ...)


@dataclass(frozen=True)
class Request:
    """The SLOs of the `run` request, as written after `--slo`."""

    bounds: tuple[ast.SloBoundExpr, ...] = ()
    objective: ast.ObjectiveExpr | None = None


def emit(
    plan: Plan,
    description: str,
    planner: str,
    where: Path,
    request: Request = Request(),
    name: str | None = None,
    taken: Sequence[str] = (),
) -> Written:
    """The job file for `plan`, to be written at `where` (imports are relative to it)."""
    workflow = name or workflow_name(description, taken)
    names = _result_names(plan)
    lines = [
        "# Planned by `mkc plan` from the workflow's description; edit it freely.",
        f"# Planner: {' '.join(planner.split())}.",  # one line, whatever a model name holds
    ]
    lines += _imports(plan.steps, where)
    params = ", ".join(f"{i.name}: {i.type}" for i in plan.inputs)
    lines += ["", f"workflow {workflow}({params}) -> {plan.result_type()} {{", quote(description)]
    for step in plan.steps:
        lines.append(f"# {_why(step, plan, names)}")
        lines.append(f"task {names[step.result]} = {step.signature.name}({_args(step, names)})")
        if step.signature.models:
            # The optimizer picks the model for the SLOs and the cluster (a GPU model
            # on a GPU cluster, a local one on a CPU machine): offer all the executor's.
            models = ", ".join(quote(m) for m in step.signature.models)
            lines[-1] += f" with model in {{{models}}}"
    lines += [f"return {names[plan.result]}", "}"]
    notes = []
    if all(i.value is not None for i in plan.inputs):
        lines += ["", _run(workflow, plan, request)]
    else:
        missing = ", ".join(i.name for i in plan.inputs if i.value is None)
        notes.append(
            f"no `run` request: no value for {missing}; give one with --input NAME:TYPE=VALUE,"
            " or give the values to `mkc run FILE --input NAME=VALUE`"
        )
    text = "\n".join(lines) + "\n"
    formatted = format_file(parse_source(decode_source(text.encode("utf-8"), str(where))))
    return Written(formatted, workflow, tuple(notes))


def workflow_name(description: str, taken: Sequence[str] = ()) -> str:
    """A name from the description's first content words: "summarize_talk_video"."""
    words = [w for w in re.findall(r"[a-z][a-z0-9]*", description.lower()) if w not in _STOP]
    base = "_".join(words[:3]) or "planned"
    if base in KEYWORDS:
        base += "_job"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _result_names(plan: Plan) -> dict[str, str]:
    """Readable, distinct names for the steps' results. Steps that would share a
    name take the one input they derive from as a suffix (`answer_first`)."""
    inputs = [i.name for i in plan.inputs]
    sources: dict[str, set[str]] = {name: {name} for name in inputs}
    for step in plan.steps:
        sources[step.result] = {i for n in step.reads() for i in sources.get(n, ())}
    bases = [_base_name(step) for step in plan.steps]
    taken = set(inputs) | KEYWORDS
    names: dict[str, str] = {}
    for step, base in zip(plan.steps, bases):
        origin = sources[step.result]
        name = (
            f"{base}_{next(iter(origin))}" if bases.count(base) > 1 and len(origin) == 1 else base
        )
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        names[step.result] = unique
    return names


def _base_name(step: Step) -> str:
    short = step.signature.name.rsplit(".", 1)[-1]
    if short in RESULT_NAMES:
        return RESULT_NAMES[short]
    result = str(step.signature.result)
    if result == "code":
        return "solution"
    if step.signature.kind == "workflow" or short in ("answer", "generate"):
        return "answer" if result == "text" else short
    return short


def _imports(steps: tuple[Step, ...], where: Path) -> list[str]:
    lines = []
    for step in steps:
        signature = step.signature
        path = signature.path
        if path is not None:
            line = f"import {quote(_import_path(path, where))}"
        else:
            line = f"import {signature.origin}"
        if line not in lines:
            lines.append(line)
    return sorted(lines, key=lambda line: (line.startswith('import "'), line))


def _import_path(library_file: Path, where: Path) -> str:
    """Relative to the file when both lie under the working directory (the pair moves
    together), else absolute."""
    cwd = Path.cwd().resolve()
    target, home = library_file.resolve(), where.resolve().parent
    if target.is_relative_to(cwd) and home.is_relative_to(cwd):
        return Path(os.path.relpath(target, home)).as_posix()
    return target.as_posix()


def _args(step: Step, names: dict[str, str]) -> str:
    return ", ".join(_arg(arg, names) for arg in step.args)


def _arg(arg: Arg, names: dict[str, str]) -> str:
    if isinstance(arg, Ref):
        return names.get(arg.name, arg.name)
    if isinstance(arg, Items):
        return "[" + ", ".join(names.get(i.name, i.name) for i in arg.items) + "]"
    assert isinstance(arg, Lit)
    return quote(arg.text)


def _why(step: Step, plan: Plan, names: dict[str, str]) -> str:
    signature = step.signature
    source = f" (from {signature.origin})" if signature.path is not None else ""
    if step.how == "covers" and step.clause is not None:
        clause = _short(plan.clauses[step.clause].text)
        return f"{signature.name}{source} does {clause} ({step.similarity:.2f} similar)"
    reads = ", ".join(names.get(n, n) for n in step.reads())
    head = f"{signature.name}{source}"
    if step.how == "llm":
        return f"{head}: {' '.join(step.note.split()) or 'chosen by the LLM planner'}"
    if step.how == "joins":
        return f"{head}: joins {reads} into one result"
    return f"{head}: turns {reads} into {_kind(signature.result)} for the next step"


def _kind(type_: Type) -> str:
    return f"{type_.element}s" if isinstance(type_, ListType) else str(type_)


def _short(text: str, limit: int = 44) -> str:
    text = text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
    return f'"{text}"'


def _run(workflow: str, plan: Plan, request: Request) -> str:
    args = ", ".join(format_literal(i.value) for i in plan.inputs if i.value is not None)
    line = f"run {workflow}({args})"
    if request.bounds:
        line += "\n    slo " + ", ".join(format_bound(b) for b in request.bounds)
    if request.objective is not None:
        line += f"\n    {request.objective.direction} {request.objective.metric}"
    return line
