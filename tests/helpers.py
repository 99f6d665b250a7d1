"""Small helpers shared by the unit tests."""

from __future__ import annotations

from murakkab.diagnostics import DiagnosticError
from murakkab.frontend.check import check_program
from murakkab.frontend.loader import load_text
from murakkab.frontend.lower import lower_program
from murakkab.ir.core import Module


def lower_text(text: str, name: str = "test.mk") -> Module:
    return lower_program(check_program(load_text(name, text)))


def error_codes(text: str, name: str = "test.mk") -> list[str]:
    """The codes of the errors the frontend reports for `text` (empty if it compiles)."""
    try:
        lower_text(text, name)
    except DiagnosticError as error:
        return [d.code for d in error.diagnostics if d.severity.value == "error"]
    return []


def warning_codes(text: str) -> list[str]:
    return [d.code for d in check_program(load_text("test.mk", text)).warnings]
