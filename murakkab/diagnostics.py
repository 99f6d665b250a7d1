"""Diagnostics as data: collected per phase, raised once, rendered with a caret.

Codes are stable and grouped: MK00xx input/files, MK01xx syntax, MK02xx names and
types, MK03xx SLOs, MK04xx textual IR and the verifier, MK05xx passes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from murakkab.source import SourceFile, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    span: Span
    message: str
    notes: tuple[str, ...] = ()
    hint: str | None = None

    @staticmethod
    def error(
        code: str, span: Span, message: str, *notes: str, hint: str | None = None
    ) -> Diagnostic:
        return Diagnostic(Severity.ERROR, code, span, message, tuple(notes), hint)

    @staticmethod
    def warning(
        code: str, span: Span, message: str, *notes: str, hint: str | None = None
    ) -> Diagnostic:
        return Diagnostic(Severity.WARNING, code, span, message, tuple(notes), hint)


class DiagnosticError(Exception):
    """Raised at a phase boundary when the phase collected at least one error."""

    def __init__(
        self, diagnostics: Sequence[Diagnostic], sources: dict[str, SourceFile] | None = None
    ):
        super().__init__(f"{len(diagnostics)} diagnostic(s)")
        self.diagnostics = tuple(diagnostics)
        # Text to show under the diagnostics when the caller never got a SourceFile
        # (e.g. a file that is not valid UTF-8).
        self.sources = dict(sources or {})


@dataclass
class DiagnosticBag:
    """Collects the diagnostics of one phase."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(
        self, code: str, span: Span, message: str, *notes: str, hint: str | None = None
    ) -> None:
        self.add(Diagnostic.error(code, span, message, *notes, hint=hint))

    def warning(
        self, code: str, span: Span, message: str, *notes: str, hint: str | None = None
    ) -> None:
        self.add(Diagnostic.warning(code, span, message, *notes, hint=hint))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def raise_if_errors(self) -> None:
        """The phase boundary: stop here if anything went wrong."""
        if self.has_errors:
            raise DiagnosticError(sorted_diagnostics(self.items))


def sorted_diagnostics(items: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(items, key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))


def render(diagnostic: Diagnostic, sources: dict[str, SourceFile]) -> str:
    """`file:line:col: error[MKnnnn]: message`, the source line, a caret, notes, hint."""
    span = diagnostic.span
    lines = [f"{span}: {diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    source = sources.get(span.file)
    if source is not None:
        text, column = _window(_printable(source.line(span.line)), span.column)
        if text.strip():
            gutter = str(span.line)
            width = max(1, span.end_column - span.column) if span.end_line == span.line else 1
            width = min(width, max(1, len(text) - column + 1))
            lines.append(f" {gutter} | {text}")
            lines.append(f" {' ' * len(gutter)} | {' ' * (column - 1)}{'^' * width}")
    lines.extend(f"  = note: {note}" for note in diagnostic.notes)
    if diagnostic.hint is not None:
        lines.append(f"  = hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile]) -> str:
    return "\n".join(render(d, sources) for d in diagnostics)


SHOWN_WIDTH = 120


def _window(text: str, column: int) -> tuple[str, int]:
    """A long line is cut to the part around the column, so the caret stays on screen."""
    if len(text) <= SHOWN_WIDTH:
        return text, column
    start = max(0, min(column - 1 - SHOWN_WIDTH // 2, len(text) - SHOWN_WIDTH))
    prefix = "..." if start > 0 else ""
    end = start + SHOWN_WIDTH
    return prefix + text[start:end] + ("..." if end < len(text) else ""), column - start + len(
        prefix
    )


def _printable(text: str) -> str:
    """Keep the caret aligned: tabs and control characters become one visible cell each."""
    return "".join(c if c.isprintable() else " " for c in text)
