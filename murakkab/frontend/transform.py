"""Lark parse tree -> `.mk` AST. One method per grammar rule or alias."""

from __future__ import annotations

import math
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.frontend.strings import ESCAPE_HINT, StringEscapeError, quote, unescape
from murakkab.source import UNKNOWN_SPAN, Span, token_span

# Larger numbers lose integer precision as floats and print unreadably.
MAX_NUMBER = 10**15


@v_args(meta=True)
class AstBuilder(Transformer[Token, Any]):
    """Builds AST nodes; bad string escapes are reported, not raised."""

    def __init__(self, file: str, diagnostics: DiagnosticBag):
        super().__init__(visit_tokens=False)
        self.file = file
        self.diagnostics = diagnostics

    # ---- helpers ---------------------------------------------------------------

    def span(self, meta: Meta) -> Span:
        if meta.empty:
            return UNKNOWN_SPAN
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, token: Token) -> Span:
        return token_span(self.file, token)

    def _string(self, token: Token) -> str:
        try:
            return unescape(str(token)[1:-1])
        except StringEscapeError as exc:
            self.diagnostics.error(
                "MK0103",
                exc.span(self.tspan(token)),
                f"invalid escape sequence in string: {exc.sequence}",
                hint=ESCAPE_HINT,
            )
            return str(token)[1:-1]

    # ---- items ---------------------------------------------------------------------

    def start(self, meta: Meta, items: list[ast.Item]) -> list[ast.Item]:
        return items

    def import_module(self, meta: Meta, children: list[Any]) -> ast.ImportModule:
        return ast.ImportModule(tuple(children[0].split(".")), self.span(meta))

    def import_file(self, meta: Meta, children: list[Token]) -> ast.ImportFile:
        return ast.ImportFile(self._string(children[0]), self.span(meta))

    def dotted_name(self, meta: Meta, names: list[Token]) -> str:
        return ".".join(str(n) for n in names)

    def workflow_def(self, meta: Meta, children: list[Any]) -> ast.WorkflowDef:
        name, params, result, doc, *body = children
        return ast.WorkflowDef(
            str(name),
            tuple(params or ()),
            result,
            doc,
            tuple(body),
            self.tspan(name),
            self.span(meta),
        )

    def docstring(self, meta: Meta, children: list[Token]) -> str:
        return self._string(children[0])

    def params(self, meta: Meta, children: list[Any]) -> list[ast.Param]:
        return [c for c in children if c is not None]

    def param(self, meta: Meta, children: list[Any]) -> ast.Param:
        return ast.Param(str(children[0]), children[1], self.span(meta))

    # ---- types ---------------------------------------------------------------------

    def type_name(self, meta: Meta, children: list[Token]) -> ast.TypeName:
        return ast.TypeName(str(children[0]), self.span(meta))

    def list_type(self, meta: Meta, children: list[Any]) -> ast.ListTypeExpr:
        return ast.ListTypeExpr(children[0], self.span(meta))

    def record_type(self, meta: Meta, children: list[Any]) -> ast.RecordTypeExpr:
        return ast.RecordTypeExpr(tuple(children[0] or ()), self.span(meta))

    def fields(self, meta: Meta, children: list[Any]) -> list[tuple[str, ast.TypeExpr]]:
        return [c for c in children if c is not None]

    def field(self, meta: Meta, children: list[Any]) -> tuple[str, ast.TypeExpr]:
        return (str(children[0]), children[1])

    # ---- statements ----------------------------------------------------------------

    def task_stmt(self, meta: Meta, children: list[Any]) -> ast.TaskStmt:
        name, annotation, expr, *clauses = children
        return ast.TaskStmt(
            str(name), annotation, expr, tuple(clauses), self.tspan(name), self.span(meta)
        )

    def return_stmt(self, meta: Meta, children: list[Any]) -> ast.ReturnStmt:
        return ast.ReturnStmt(children[0], self.span(meta))

    def yield_stmt(self, meta: Meta, children: list[Any]) -> ast.YieldStmt:
        return ast.YieldStmt(children[0], self.span(meta))

    def named_call(self, meta: Meta, children: list[Any]) -> ast.NamedCall:
        span = self.span(meta)
        callee_span = Span(
            span.file, span.line, span.column, span.line, span.column + len(children[0])
        )
        return ast.NamedCall(children[0], tuple(children[1] or ()), callee_span, span)

    def nl_call(self, meta: Meta, children: list[Any]) -> ast.NlCall:
        return ast.NlCall(self._string(children[0]), tuple(children[1] or ()), self.span(meta))

    def args(self, meta: Meta, children: list[Any]) -> list[ast.Expr]:
        return [c for c in children if c is not None]

    def parallel_block(self, meta: Meta, children: list[Any]) -> ast.ParallelBlock:
        knob, domain, body = children
        return ast.ParallelBlock(str(knob), domain, body, self.span(meta))

    def repeat_block(self, meta: Meta, children: list[Any]) -> ast.RepeatBlock:
        knob, domain, init, var, body = children
        return ast.RepeatBlock(
            str(knob), domain, init, str(var), body, self.tspan(var), self.span(meta)
        )

    def block(self, meta: Meta, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(children)

    # ---- clauses -------------------------------------------------------------------

    def with_clause(self, meta: Meta, children: list[ast.Constraint]) -> ast.WithClause:
        return ast.WithClause(tuple(children), self.span(meta))

    def using_clause(self, meta: Meta, children: list[Token]) -> ast.UsingClause:
        knob, value = children
        text = self._string(value)
        lit = ast.Lit(text, quote(text), self.tspan(value))
        return ast.UsingClause(str(knob), lit, self.span(meta))

    def on_clause(self, meta: Meta, children: list[Any]) -> ast.OnClause:
        device, model = children
        return ast.OnClause(
            str(device), None if model is None else self._string(model), self.span(meta)
        )

    def optional_clause(self, meta: Meta, children: list[Token]) -> ast.OptionalClause:
        return ast.OptionalClause(self.span(meta))

    def constraint(self, meta: Meta, children: list[Any]) -> ast.Constraint:
        return ast.Constraint(str(children[0]), children[1], self.span(meta))

    def domain_set(self, meta: Meta, children: list[Any]) -> ast.Domain:
        return ast.Domain(tuple(c for c in children if c is not None), True, self.span(meta))

    def domain_value(self, meta: Meta, children: list[Any]) -> ast.Domain:
        return ast.Domain((children[0],), False, self.span(meta))

    # ---- expressions ---------------------------------------------------------------

    def ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref(str(children[0]), self.span(meta))

    def list_expr(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(c for c in children if c is not None), self.span(meta))

    def string(self, meta: Meta, children: list[Token]) -> ast.Lit:
        value = self._string(children[0])
        # Canonical text: "\u0041" and "A" are the same literal.
        return ast.Lit(value, quote(value), self.span(meta))

    def number(self, meta: Meta, children: list[Token]) -> ast.Lit:
        text = str(children[0])
        value: int | float = int(text) if text.lstrip("-").isdigit() else float(text)
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            self.diagnostics.error(
                "MK0106",
                self.span(meta),
                f"number {text[:40]} is out of range",
                hint="numbers are limited to ±1e15",
            )
            value = 0
        return ast.Lit(value, text, self.span(meta))

    def true(self, meta: Meta, children: list[Token]) -> ast.Lit:
        return ast.Lit(True, "true", self.span(meta))

    def false(self, meta: Meta, children: list[Token]) -> ast.Lit:
        return ast.Lit(False, "false", self.span(meta))

    # ---- capabilities --------------------------------------------------------------

    def capability_def(self, meta: Meta, children: list[Any]) -> ast.CapabilityDef:
        name, params, result, doc, *items = children
        kinds = [i for i in items if isinstance(i, _Kind)]
        for extra in kinds[1:]:
            self.diagnostics.error(
                "MK0219", extra.span, f"capability '{name}' declares its kind twice"
            )
        hardware = [h for i in items if isinstance(i, _Hardware) for h in i.devices]
        knobs = [i for i in items if isinstance(i, ast.KnobDecl)]
        return ast.CapabilityDef(
            str(name),
            tuple(params or ()),
            result,
            doc,
            kinds[-1].kind if kinds else None,
            tuple(hardware),
            tuple(knobs),
            self.tspan(name),
            self.span(meta),
        )

    def kind_decl(self, meta: Meta, children: list[Token]) -> _Kind:
        return _Kind(str(children[0]), self.span(meta))

    def hardware_decl(self, meta: Meta, children: list[Token]) -> _Hardware:
        return _Hardware(tuple(str(c) for c in children))

    def knob_decl(self, meta: Meta, children: list[Any]) -> ast.KnobDecl:
        name, type_, values, default = children
        return ast.KnobDecl(str(name), type_, values, default, self.span(meta))

    def knob_set(self, meta: Meta, children: list[Any]) -> tuple[ast.Lit, ...]:
        return tuple(c for c in children if c is not None)

    def knob_default(self, meta: Meta, children: list[ast.Lit]) -> ast.Lit:
        return children[0]

    # ---- requests and SLOs ---------------------------------------------------------

    def run_stmt(self, meta: Meta, children: list[Any]) -> ast.RunStmt:
        name, args, bounds, objective = children
        return ast.RunStmt(
            str(name),
            tuple(args or ()),
            tuple(bounds or ()),
            objective,
            self.tspan(name),
            self.span(meta),
        )

    def slo_clause(self, meta: Meta, children: list[ast.SloBoundExpr]) -> list[ast.SloBoundExpr]:
        return children

    def slo_bound(self, meta: Meta, children: list[Any]) -> ast.SloBoundExpr:
        metric, op, (number, unit, tier, dollar, value_span) = children
        return ast.SloBoundExpr(
            str(metric),
            str(op),
            number,
            unit,
            tier,
            dollar,
            self.tspan(metric),
            value_span,
            self.span(meta),
        )

    def slo_number(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        dollar, number, unit = children
        return (str(number), unit, None, dollar is not None, self.span(meta))

    def slo_tier(self, meta: Meta, children: list[Token]) -> tuple[Any, ...]:
        return (None, None, str(children[0]), False, self.span(meta))

    def unit(self, meta: Meta, children: list[Token]) -> str:
        return str(children[0])

    def minimize(self, meta: Meta, children: list[Token]) -> ast.ObjectiveExpr:
        return ast.ObjectiveExpr("minimize", str(children[0]), self.span(meta))

    def maximize(self, meta: Meta, children: list[Token]) -> ast.ObjectiveExpr:
        return ast.ObjectiveExpr("maximize", str(children[0]), self.span(meta))

    def cli_slo(self, meta: Meta, children: list[Any]) -> ast.CliSlo:
        bounds = tuple(c for c in children if isinstance(c, ast.SloBoundExpr))
        objectives = tuple(c for c in children if isinstance(c, ast.ObjectiveExpr))
        return ast.CliSlo(bounds, objectives)


class _Kind:
    def __init__(self, kind: str, span: Span):
        self.kind = kind
        self.span = span


class _Hardware:
    def __init__(self, devices: tuple[str, ...]):
        self.devices = devices
