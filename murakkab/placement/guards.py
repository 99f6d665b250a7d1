"""What the placement pass refuses before it searches, and how it writes `--dump-smt`.

- MK0508: the module is logical (no op has its device and implementation chosen
  yet): placement needs `model-substitution` before it.
- MK0509: `--dump-smt FILE` cannot be written (a folder, a folder that does not
  exist, no permission), or nothing would write it (no placement pass in the
  pipeline: `dump_smt_unused`, for the driver). It is located on the flag's
  value, like `-p` and `--db` errors, and checked before the search, so that a
  bad path does not cost the solver's budget first.

The dump is written atomically (a temporary file beside it, then `os.replace`),
so a failure never leaves half of it; a target that is not a regular file
(`/dev/null`, a pipe) is written to as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.ir.core import Domain, Workflow
from murakkab.source import SourceFile, Span

FLAG = "--dump-smt"
DUMP_HINT = "name a file in a folder that exists, e.g. --dump-smt placement.smt2"


def not_physical(workflow: Workflow) -> Diagnostic:
    """MK0508 at the workflow's first op that model-substitution has not configured."""
    for op in workflow.walk():
        if op.region is not None:
            continue
        open_knobs = [name for name, value in op.attrs if isinstance(value, Domain)]
        if op.name == "nl.task":
            why = "is not bound to an executor"
        elif op.device is None or op.attr("impl") is None:
            why = "has no device and implementation chosen"
        elif open_knobs:
            why = f"still has a choice to make ({', '.join(open_knobs)})"
        else:
            continue
        message = f"placement needs physical IR: task '{op.result.name}' ({op.name}) {why}"
        return _not_physical(op.span, message)
    return _not_physical(workflow.span, f"placement needs physical IR: @{workflow.name} is logical")


def _not_physical(span: Span, message: str) -> Diagnostic:
    return Diagnostic.error("MK0508", span, message, hint="run model-substitution before placement")


def check_dump_target(path: str) -> None:
    """MK0509 when `path` plainly cannot be written: a folder, or in no folder."""
    target = Path(path)
    if target.is_dir():
        raise _cannot_write(path, "it is a folder")
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise _cannot_write(path, f"{folder} {what}")


def write_dump(path: str, text: str) -> None:
    """Write the SMT-LIB dump atomically; MK0509 when it cannot be written."""
    target = Path(path)
    try:
        if target.exists() and not target.is_file():
            with target.open("w", encoding="utf-8") as stream:
                stream.write(text)
            return
        temporary = target.with_name(f".{target.name}.mkc-tmp")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise _cannot_write(path, error.strerror or type(error).__name__) from None


def dump_smt_unused(path: str) -> DiagnosticError:
    """MK0509 for the driver: `--dump-smt` given, but no placement pass would write it."""
    return _cannot_write(
        path,
        "the pipeline has no placement pass",
        hint="--dump-smt needs the placement pass in the pipeline (-p default, or add placement)",
    )


def _cannot_write(path: str, reason: str, hint: str = DUMP_HINT) -> DiagnosticError:
    source = SourceFile.of(FLAG, path)
    width = max(1, len(source.line(1)))
    span = Span(FLAG, 1, 1, 1, 1 + width)
    message = f"cannot write the placement problem to {path}: {reason}"
    return DiagnosticError([Diagnostic.error("MK0509", span, message, hint=hint)], {FLAG: source})
