"""From a description to a checked `.mk` file: the planners and what they share.

`plan_default` runs the default planner (`search.py`); the LLM planner (`llm.py`)
falls back to it. Either way the file is written by `emit.py` and type-checked by
the frontend, the same checks as `mkc check`, before anyone sees it (`write`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.ir.types import Type
from murakkab.planner.clauses import Clause, split_clauses
from murakkab.planner.emit import Request, Written, emit
from murakkab.planner.library import Library
from murakkab.planner.search import (
    FLOOR,
    Input,
    Plan,
    PlanningError,
    Scores,
    SearchStats,
    candidates,
    score,
    search,
)

HOW_TO_ADD = (
    "to add one, declare a capability in a stdlib module and implement it"
    " (docs/executors.md), or put a workflow that does it in the library (--library DIR)"
)
DEFAULT = "default planner: type-directed search, {scorer} similarity"


@dataclass
class Planned:
    plan: Plan
    written: Written
    planner: str  # which planner produced the file, in words
    scores: Scores
    stats: SearchStats
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """What `mkc plan` was asked for."""

    description: str
    inputs: tuple[Input, ...]
    where: Path  # where the file will be written: its imports are relative to it
    request: Request = Request()
    outputs: tuple[Type, ...] | None = None
    name: str | None = None


def prepare(job: Job, library: Library) -> Scores:
    """The description's clauses scored against the library; uncoverable clauses
    are a PlanningError that names the closest executors."""
    clauses = split_clauses(job.description)
    if not clauses:
        raise PlanningError("the description is empty: say what the job should do")
    scores = score(job.description, clauses, library, job.inputs)
    uncovered = [i for i in range(len(clauses)) if scores.best(i) < FLOOR]
    if uncovered:
        raise PlanningError(
            "no executor or workflow does " + " or ".join(_quoted(clauses[i]) for i in uncovered),
            tuple(line for i in uncovered for line in _closest(scores, i, job.inputs))
            + (HOW_TO_ADD,),
        )
    return scores


def plan_default(
    job: Job, library: Library, alternatives: int = 1, instead_of: str = ""
) -> Planned:
    """The default planner's file; `instead_of` says why it stands in for the LLM planner."""
    scores = prepare(job, library)
    plan, stats = search(job.inputs, scores, job.outputs, alternatives)
    if plan is None:
        raise PlanningError(
            "no dataflow from the inputs covers every clause"
            + (f" and ends in {' or '.join(map(str, job.outputs))}" if job.outputs else ""),
            _unwired(job, scores) + (HOW_TO_ADD,),
        )
    planner = DEFAULT.format(scorer=scores.scorer) + (f" ({instead_of})" if instead_of else "")
    written = write(plan, job, planner, library)
    return Planned(plan, written, planner, scores, stats, list(library.notes))


def write(plan: Plan, job: Job, planner: str, library: Library) -> Written:
    """The plan as a checked file; a file that does not check is a bug in the planner
    (the LLM planner catches it to retry)."""
    taken = [s.name for s in library.signatures]
    written = emit(plan, job.description, planner, job.where, job.request, job.name, taken)
    problems = check_text(written.text, job.where)
    if problems:
        first = problems[0]
        raise RuntimeError(f"the planned file does not check: {first.code} {first.message}")
    return written


def check_text(text: str, where: Path) -> list[Diagnostic]:
    """What `mkc check` says about `text` as if it were the file `where`."""
    from murakkab.frontend.check import check_program
    from murakkab.frontend.loader import load_text

    try:
        check_program(load_text(str(where), text))
    except DiagnosticError as error:
        return list(error.diagnostics)
    return []


def _quoted(clause: Clause) -> str:
    return f'"{clause.text}"'


def _closest(scores: Scores, clause: int, inputs: tuple[Input, ...]) -> tuple[str, ...]:
    top = candidates(scores, clause, inputs)[:3]
    shown = ", ".join(f"{c.signature.name} ({c.similarity:.2f})" for c in top)
    return (f"closest to {_quoted(scores.clauses[clause])}: {shown}; a match needs {FLOOR:g}",)


def _unwired(job: Job, scores: Scores) -> tuple[str, ...]:
    given = ", ".join(f"{i.name}: {i.type}" for i in job.inputs) or "none"
    lines = [f"inputs: {given}"]
    for index, clause in enumerate(scores.clauses):
        shown = []
        for c in candidates(scores, index, job.inputs)[:3]:
            usable = "" if c.usable else ", nothing here makes its inputs"
            shown.append(f"{c.signature.interface()} ({c.similarity:.2f}{usable})")
        lines.append(f"{_quoted(clause)}: " + "; ".join(shown))
    return tuple(lines)
