"""Source text and spans: where every AST node and IR op came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SourceFile:
    """A named piece of text the user wrote: a file, a flag value, or a string."""

    name: str
    text: str
    _line_starts: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @staticmethod
    def of(name: str, text: str) -> SourceFile:
        starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                starts.append(index + 1)
        return SourceFile(name, text, tuple(starts))

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its newline."""
        if not 1 <= number <= len(self._line_starts):
            return ""
        start = self._line_starts[number - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        low, high = 0, len(self._line_starts) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self._line_starts[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        return low + 1, offset - self._line_starts[low] + 1


@dataclass(frozen=True, order=True)
class Span:
    """A half-open source range; lines and columns are 1-based, end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(file: str, line: int, column: int) -> Span:
        return Span(file, line, column, line, column + 1)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def merge(self, other: Span) -> Span:
        first, last = min(self, other), max(self, other, key=lambda s: (s.end_line, s.end_column))
        return Span(first.file, first.line, first.column, last.end_line, last.end_column)


UNKNOWN_SPAN = Span("<unknown>", 1, 1, 1, 2)


def token_span(file: str, token: Any) -> Span:
    """The span of a lark token (anything with line/column/end_line/end_column)."""
    line, column = token.line or 1, token.column or 1
    end_column = token.end_column or column + len(token)
    return Span(file, line, column, token.end_line or line, end_column)


def display_name(path: Path) -> str:
    """A path as the user would recognise it: relative to the cwd when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
