"""Shared resolution helpers: AST type expressions and literals to IR types."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.ir.types import (
    ANY,
    PRIMITIVES,
    STRING_LIKE,
    ListType,
    PrimType,
    Type,
    is_assignable,
    literal_type,
    record,
)


def resolve_type(texpr: ast.TypeExpr, diagnostics: DiagnosticBag) -> Type:
    """An AST type as an IR type; unknown names are reported and become `any`."""
    if isinstance(texpr, ast.ListTypeExpr):
        return ListType(resolve_type(texpr.element, diagnostics))
    if isinstance(texpr, ast.RecordTypeExpr):
        fields: dict[str, Type] = {}
        for name, field_type in texpr.fields:
            if name in fields:
                diagnostics.error("MK0207", texpr.span, f"record field '{name}' is declared twice")
            fields[name] = resolve_type(field_type, diagnostics)
        return record(fields)
    if texpr.name in PRIMITIVES:
        return PrimType(texpr.name)
    diagnostics.error(
        "MK0215",
        texpr.span,
        f"unknown type '{texpr.name}'",
        *did_you_mean(texpr.name, PRIMITIVES),
        hint="types are " + ", ".join(PRIMITIVES) + ", list<T> and record{name: T, ...}",
    )
    return ANY


def literal_fits(value: object, target: Type) -> bool:
    """Literals are more flexible than values: a string may name a video file."""
    if target == ANY:
        return True
    if isinstance(value, str) and isinstance(target, PrimType):
        return target.name in STRING_LIKE
    if isinstance(value, tuple) and isinstance(target, ListType):
        return all(literal_fits(v, target.element) for v in value)
    return is_assignable(literal_type(value), target)


def did_you_mean(name: str, candidates: Iterable[str]) -> tuple[str, ...]:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return ()
    return ("did you mean " + " or ".join(f"'{c}'" for c in close) + "?",)


def format_literal(value: object) -> str:
    """A literal as the user would write it, for messages."""
    from murakkab.frontend.strings import quote

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_literal(v) for v in value) + "]"
    return str(value)
