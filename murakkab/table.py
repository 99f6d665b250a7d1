"""Plain aligned text tables for the CLI: columns two spaces apart."""

from __future__ import annotations

from collections.abc import Sequence


def align(rows: Sequence[Sequence[str]], right: Sequence[int] = (), indent: str = "") -> list[str]:
    """Rows of cells padded to their column's width; columns in `right` are
    right-aligned; trailing spaces are dropped."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def render_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A header, a rule and the rows; numeric columns right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        bool(rows) and all(_is_number(row[i]) for row in rows if row[i] is not None)
        for i in range(len(header))
    ]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(header)]
    rule = ["-" * width for width in widths]
    right = [i for i, is_number in enumerate(numeric) if is_number]
    return "\n".join(align([list(header), rule, *cells], right)) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
