"""IR text -> `Module`, the inverse of `print_module` (docs/ir.md).

Any input parses or raises `DiagnosticError` with a located MK0401 (syntax) or
MK0402 (a `%value` nothing defines: uses carry no type, so the parser looks it
up). Every op gets a span: its `loc(...)` if the text has one, else its place
in the IR text, so verifier errors point somewhere useful either way.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn, TypeVar

from lark import Lark, Token, Transformer, UnexpectedInput, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedToken, VisitError
from lark.tree import Meta

from murakkab import slo
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.frontend.strings import ESCAPE_HINT, StringEscapeError, unescape
from murakkab.grammar import grammar_text
from murakkab.ir.core import (
    AttrValue,
    Const,
    Domain,
    Level,
    ListOperand,
    Literal,
    Module,
    Op,
    Operand,
    Region,
    Request,
    Value,
    Workflow,
    walk_ops,
)
from murakkab.ir.types import ListType, PrimType, RecordType, Type, join, literal_type, prim
from murakkab.source import SourceFile, Span, token_span

# Above the `.mk` limit (64), so a module lowered from any valid job re-parses,
# and low enough that lark's recursive Transformer stays within Python's stack.
MAX_DEPTH = 128
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"?|#[^\n]*')
# A reference's type until the workflow's definitions are known.
_PENDING = PrimType("<pending>")
T = TypeVar("T")

_TERMINAL_WORDS = {
    "VALUE": "a %value",
    "SYMBOL": "an @workflow",
    "DEVICE": "a @device",
    "OPNAME": "an op name",
    "NAME": "a name",
    "INT": "an integer",
    "NUMBER": "a number",
    "STRING": "a string",
    "CMP": "a comparison (<, <=, >, >=)",
    "OBJECTIVE": "'minimize' or 'maximize'",
    "$END": "end of input",
}


@functools.cache
def ir_parser() -> Lark:
    return Lark(
        grammar_text("mkir"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,  # as for the .mk parser: LALR tables from the temp dir
    )


def parse_module(source: SourceFile) -> Module:
    """Parse a whole IR text."""
    _check_depth(source)
    try:
        tree = ir_parser().parse(source.text)
    except UnexpectedInput as error:
        raise DiagnosticError([_syntax_diagnostic(source, error)]) from None
    try:
        module: Module = IrBuilder(source.name).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, DiagnosticError):
            raise error.orig_exc from None
        raise
    return module


class _RegionArg(NamedTuple):
    """`%prev = %init` in an operand list: a region argument and its initial operand."""

    name: str
    init: Operand | Literal


def _fail(code: str, span: Span, message: str, hint: str | None = None) -> NoReturn:
    raise DiagnosticError([Diagnostic.error(code, span, message, hint=hint)])


@v_args(meta=True)
class IrBuilder(Transformer[Token, Any]):
    """One method per grammar rule or alias; references are typed per workflow."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file
        self.uses: list[tuple[str, Span]] = []  # %value uses of the workflow being built

    def span(self, meta: Meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, token: Token) -> Span:
        return token_span(self.file, token)

    def _unique(self, pairs: list[tuple[Token, Any]], what: str) -> tuple[tuple[str, Any], ...]:
        """Named things in text order; a name given twice is an error, not a silent overwrite."""
        for index, (name, _) in enumerate(pairs):
            if any(str(other) == str(name) for other, _ in pairs[:index]):
                _fail("MK0401", self.tspan(name), f"{what} '{name}' is given twice")
        return tuple((str(name), value) for name, value in pairs)

    # ---- module and workflows ---------------------------------------------------

    def start(self, meta: Meta, children: list[Any]) -> Module:
        level_token, *items = children
        try:
            level = Level(str(level_token))
        except ValueError:
            hint = "the levels are " + ", ".join(level.value for level in Level)
            _fail("MK0401", self.tspan(level_token), f"unknown level '{level_token}'", hint)
        workflows = tuple(item for item in items if isinstance(item, Workflow))
        requests = tuple(item for item in items if isinstance(item, Request))
        return Module(level, workflows, requests)

    def workflow(self, meta: Meta, children: list[Any]) -> Workflow:
        name, params, result_type, doc, *body = children
        *ops, result = body
        definitions = {p.name: p.type for p in params}
        for op in walk_ops(tuple(ops)):
            region_args = op.region.args if op.region is not None else ()
            for value in (op.result, *region_args):
                definitions.setdefault(value.name, value.type)
        for used, span in self.uses:
            if used not in definitions:
                _fail("MK0402", span, f"undefined value %{used}")
        self.uses = []
        return Workflow(
            str(name)[1:],
            tuple(params),
            result_type,
            tuple(_resolve_op(op, definitions) for op in ops),
            _resolve(_operand(result), definitions),
            doc,
            self.span(meta),
        )

    def params(self, meta: Meta, children: list[Value | None]) -> list[Value]:
        return [param for param in children if param is not None]

    def param(self, meta: Meta, children: list[Any]) -> Value:
        return Value(str(children[0])[1:], children[1])

    def doc(self, meta: Meta, children: list[Token]) -> str:
        return self._string(children[0])

    # ---- ops ----------------------------------------------------------------------

    def op(self, meta: Meta, children: list[Any]) -> Op:
        result, name, *args, attrs, device, result_type, loc, region = children
        args = [arg for arg in args if arg is not None]
        arg_names = [arg.name for arg in args if isinstance(arg, _RegionArg)]
        leading = all(isinstance(arg, _RegionArg) for arg in args[: len(arg_names)])
        if arg_names and (region is None or not leading):
            message = "region arguments bind the leading operands of an op with a region"
            _fail("MK0401", self.span(meta), message)
        operands = [_operand(arg.init if isinstance(arg, _RegionArg) else arg) for arg in args]
        if region is not None:
            region_ops, region_result = region
            region_args = tuple(Value(arg, result_type) for arg in arg_names)
            region = Region(region_args, region_ops, region_result)
        return Op(
            str(name),
            Value(str(result)[1:], result_type),
            tuple(operands),
            self._unique(attrs or [], "attribute"),
            str(device)[1:] if device is not None else None,
            region,
            loc if loc is not None else self.span(meta),
        )

    def region_arg(self, meta: Meta, children: list[Any]) -> _RegionArg:
        return _RegionArg(str(children[0])[1:], children[1])

    def region(self, meta: Meta, children: list[Any]) -> tuple[tuple[Op, ...], Operand]:
        *ops, result = children
        return tuple(ops), _operand(result)

    def attrs(self, meta: Meta, children: list[Any]) -> list[tuple[Token, AttrValue]]:
        return children

    def attr_value(self, meta: Meta, children: list[Any]) -> tuple[Token, AttrValue]:
        return children[0], children[1]

    def attr_domain(self, meta: Meta, children: list[Any]) -> tuple[Token, AttrValue]:
        name, *values = children
        return name, Domain(tuple(value for value in values if value is not None))

    def loc(self, meta: Meta, children: list[Token]) -> Span:
        file, line, column = children
        return Span.point(self._string(file), int(line), int(column))

    # ---- operands and types ---------------------------------------------------------

    def ref(self, meta: Meta, children: list[Token]) -> Value:
        name = str(children[0])[1:]
        self.uses.append((name, self.tspan(children[0])))
        return Value(name, _PENDING)

    def operand_list(self, meta: Meta, children: list[Any]) -> ListOperand:
        items = tuple(_operand(item) for item in children if item is not None)
        return ListOperand(items, _PENDING)

    def type_name(self, meta: Meta, children: list[Token]) -> Type:
        try:
            return prim(str(children[0]))
        except ValueError:
            _fail("MK0401", self.tspan(children[0]), f"unknown type '{children[0]}'")

    def list_type(self, meta: Meta, children: list[Type]) -> Type:
        return ListType(children[0])

    def record_type(self, meta: Meta, children: list[Any]) -> Type:
        fields = [field for field in children if field is not None]
        return RecordType(self._unique(fields, "record field"))

    def field(self, meta: Meta, children: list[Any]) -> tuple[Token, Type]:
        return children[0], children[1]

    # ---- literals ---------------------------------------------------------------------

    def literal_list(self, meta: Meta, children: list[Any]) -> Literal:
        return tuple(item for item in children if item is not None)

    def string(self, meta: Meta, children: list[Token]) -> str:
        return self._string(children[0])

    def number(self, meta: Meta, children: list[Token]) -> int | float:
        text = str(children[0])
        try:
            value = float(text) if any(mark in text for mark in ".eE") else int(text)
        except ValueError:  # an int longer than Python's int/str conversion limit
            value = math.inf
        if isinstance(value, float) and not math.isfinite(value):
            _fail("MK0401", self.tspan(children[0]), f"number {text:.24} is out of range")
        return value

    def boolean(self, meta: Meta, children: list[Token]) -> bool:
        return str(children[0]) == "true"

    def _string(self, token: Token) -> str:
        try:
            return unescape(str(token)[1:-1])
        except StringEscapeError as exc:
            message = f"invalid escape sequence in string: {exc.sequence}"
            _fail("MK0401", exc.span(self.tspan(token)), message, ESCAPE_HINT)

    # ---- requests ---------------------------------------------------------------------

    def request(self, meta: Meta, children: list[Any]) -> Request:
        name, *args, bounds, objective = children
        spec = slo.SloSpec(bounds or (), objective)
        literals = tuple(arg for arg in args if arg is not None)
        return Request(str(name)[1:], literals, spec, self.span(meta))

    def slo_bounds(self, meta: Meta, children: list[slo.SloBound]) -> tuple[slo.SloBound, ...]:
        for index, bound in enumerate(children):
            if any(other.metric == bound.metric for other in children[:index]):
                _fail("MK0401", bound.span, f"a second bound on {bound.metric}")
        return tuple(children)

    def slo_number(self, meta: Meta, children: list[Token]) -> slo.SloBound:
        metric, op, number, unit = children
        self._check_bound(metric, op)
        canonical = slo.CANONICAL_UNIT[metric]
        if unit is not None and unit != canonical:
            hint = f"write {metric} in {canonical}" if canonical else "write quality as a fraction"
            _fail("MK0401", self.tspan(unit), f"the IR writes no unit '{unit}' for {metric}", hint)
        value = _checked(self.tspan(number), slo.canonical_value, metric, number, None)
        if not math.isfinite(value):
            _fail("MK0401", self.tspan(number), f"number {number} is out of range")
        return slo.SloBound(str(metric), str(op), value=value, span=self.span(meta))

    def slo_tier(self, meta: Meta, children: list[Token]) -> slo.SloBound:
        metric, op, tier = children
        self._check_bound(metric, op)
        if tier not in slo.TIERS:
            hint = "the tiers are " + ", ".join(slo.TIERS)
            _fail("MK0401", self.tspan(tier), f"unknown tier '{tier}'", hint)
        return slo.SloBound(str(metric), str(op), tier=str(tier), span=self.span(meta))

    def _check_bound(self, metric: Token, op: Token) -> None:
        if metric not in slo.CANONICAL_UNIT:
            known = ", ".join(slo.CANONICAL_UNIT)
            _fail("MK0401", self.tspan(metric), f"unknown metric '{metric}'", f"use {known}")
        _checked(self.tspan(op), slo.check_operator, str(metric), str(op))

    def objective(self, meta: Meta, children: list[Token]) -> slo.Objective:
        direction, metric = str(children[0]), str(children[1])
        _checked(self.span(meta), slo.check_objective, direction, metric)
        return slo.Objective(direction, metric, self.span(meta))


def _checked(span: Span, check: Callable[..., T], *args: object) -> T:
    """Run one of murakkab.slo's checks; its SloValueError becomes a located MK0401."""
    try:
        return check(*args)
    except slo.SloValueError as exc:
        _fail("MK0401", span, str(exc), exc.hint)


def _operand(item: Operand | Literal) -> Operand:
    if isinstance(item, (Value, Const, ListOperand)):
        return item
    return Const(item, literal_type(item))


def _resolve(operand: Operand, definitions: dict[str, Type]) -> Operand:
    """Give every reference its definition's type, and every list the type of its items."""
    if isinstance(operand, Value):
        return Value(operand.name, definitions[operand.name])
    if isinstance(operand, ListOperand):
        items = tuple(_resolve(item, definitions) for item in operand.items)
        return ListOperand(items, ListType(join([item.type for item in items])))
    return operand


def _resolve_op(op: Op, definitions: dict[str, Type]) -> Op:
    region = op.region
    if region is not None:
        ops = tuple(_resolve_op(inner, definitions) for inner in region.ops)
        region = Region(region.args, ops, _resolve(region.result, definitions))
    operands = tuple(_resolve(operand, definitions) for operand in op.operands)
    return op.replace(operands=operands, region=region)


def _check_depth(source: SourceFile) -> None:
    """Reject nesting deeper than MAX_DEPTH before the recursive Transformer sees it."""
    text = _STRING_OR_COMMENT.sub(lambda m: " " * len(m.group()), source.text)
    depth = 0
    for offset, char in enumerate(text):
        if char in "([{" or (char == "<" and text.endswith("list", 0, offset)):
            depth += 1
            if depth > MAX_DEPTH:
                span = Span.point(source.name, *source.position(offset))
                _fail("MK0401", span, f"nesting is deeper than {MAX_DEPTH} levels")
        elif char in ")]}>":
            depth = max(0, depth - 1)


def _syntax_diagnostic(source: SourceFile, error: UnexpectedInput) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream or 0 :][:1]
        span = Span.point(source.name, line, column)
        if char == '"':
            return Diagnostic.error("MK0401", span, "unterminated string literal")
        shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
        notes = _expected_note(error.allowed or set())
        return Diagnostic.error("MK0401", span, f"unexpected character '{shown}'", *notes)
    token = error.token if isinstance(error, UnexpectedToken) else None
    notes = _expected_note(getattr(error, "expected", None) or set())
    if token is None or token.type == "$END":
        end = source.position(max(len(source.text) - 1, 0))
        return Diagnostic.error(
            "MK0401", Span.point(source.name, *end), "unexpected end of input", *notes
        )
    end_line, end_column = token.end_line or line, token.end_column or column + 1
    span = Span(source.name, line, column, end_line, end_column)
    return Diagnostic.error("MK0401", span, f"unexpected '{str(token)[:40]}'", *notes)


def _expected_note(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    words = sorted({_terminal_word(name) for name in names})
    return ("expected " + ", ".join(words),) if words else ()


def _terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = ir_parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower()
