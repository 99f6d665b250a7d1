"""Is a module well formed for its level? (DESIGN.md §1; the rules are listed in docs/ir.md.)

Passes trust what the verifier guarantees instead of re-checking it, and the
pass manager runs it after every pass with `--verify-each`. It also guarantees
the module has a textual form: a module that verifies prints to text that
parses back to an equal module (names the grammar accepts, finite numbers,
constants typed by their literal).

Codes: MK0402 undefined or duplicate value, MK0403 type error, MK0404
structural error (regions, attributes, names), MK0405 level violation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from murakkab.diagnostics import Diagnostic, sorted_diagnostics
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
    Value,
    Workflow,
)
from murakkab.ir.types import ListType, Type, is_assignable, join, literal_type
from murakkab.source import Span

_RANK = {Level.LOGICAL: 0, Level.PHYSICAL: 1, Level.PLACED: 2}

# What the grammar (grammar/mkir.lark) accepts for each kind of name.
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NAMES = {
    "value": re.compile(r"[A-Za-z_][A-Za-z0-9_.]*"),
    "op": re.compile(rf"{_IDENT}(\.{_IDENT})*"),
    "device": re.compile(rf"{_IDENT}(:{_IDENT})?"),
    "workflow": re.compile(_IDENT),
    "attribute": re.compile(_IDENT),
}


@dataclass(frozen=True)
class _FlowShape:
    """Operand and region-argument counts of a `flow.*` op, and its iteration-count attr."""

    operands: int
    region_args: int
    count: str


_FLOW = {
    "flow.parallel": _FlowShape(operands=0, region_args=0, count="agents"),
    "flow.repeat": _FlowShape(operands=1, region_args=1, count="rounds"),
}


def _is_count(value: AttrValue | None) -> bool:
    if isinstance(value, Domain):
        return bool(value.values) and all(_is_count(item) for item in value.values)
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_str(value: AttrValue | None) -> bool:
    return isinstance(value, str)


def _is_number(value: AttrValue | None) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _not_flow(op_name: str) -> bool:
    return not op_name.startswith("flow.")


@dataclass(frozen=True)
class _Required:
    """From `level` on, ops named `applies` carry attribute `attr` satisfying `valid`."""

    level: Level
    applies: Callable[[str], bool]
    attr: str
    valid: Callable[[AttrValue | None], bool]
    expected: str


_REQUIRED = (
    _Required(Level.LOGICAL, "nl.task".__eq__, "description", _is_str, "a string"),
    _Required(Level.LOGICAL, "flow.parallel".__eq__, "agents", _is_count, "a positive int"),
    _Required(Level.LOGICAL, "flow.parallel".__eq__, "knob", _is_str, "a string"),
    _Required(Level.LOGICAL, "flow.repeat".__eq__, "rounds", _is_count, "a positive int"),
    _Required(Level.LOGICAL, "flow.repeat".__eq__, "knob", _is_str, "a string"),
    _Required(Level.PHYSICAL, _not_flow, "impl", _is_str, "a string"),
    _Required(Level.PLACED, _not_flow, "start", _is_number, "a number"),
)


def verify_module(module: Module) -> list[Diagnostic]:
    """Every problem found, sorted by location; an empty list means the module is valid."""
    out: list[Diagnostic] = []
    seen: set[str] = set()
    for workflow in module.workflows:
        if workflow.name in seen:
            out.append(
                Diagnostic.error("MK0402", workflow.span, f"@{workflow.name} is defined twice")
            )
        seen.add(workflow.name)
        _WorkflowVerifier(module.level, out).run(workflow)
    for request in module.requests:
        target = module.workflow(request.workflow)
        if target is None:
            message = f"run of unknown workflow @{request.workflow}"
            out.append(Diagnostic.error("MK0402", request.span, message))
        elif len(request.args) != len(target.params):
            message = (
                f"@{target.name} takes {len(target.params)} argument(s), not {len(request.args)}"
            )
            out.append(Diagnostic.error("MK0403", request.span, message))
        if not all(_finite(arg) for arg in request.args):
            out.append(Diagnostic.error("MK0404", request.span, "non-finite number in arguments"))
    return sorted_diagnostics(out)


class _WorkflowVerifier:
    """Walks one workflow in program order with the scope of values visible at each op."""

    def __init__(self, level: Level, out: list[Diagnostic]):
        self.rank = _RANK[level]
        self.out = out
        self.defined: set[str] = set()

    def error(self, code: str, span: Span, message: str) -> None:
        self.out.append(Diagnostic.error(code, span, message))

    def run(self, workflow: Workflow) -> None:
        span = workflow.span
        self.check_name("workflow", workflow.name, span)
        scope: dict[str, Type] = {}
        for param in workflow.params:
            self.define(param, scope, span)
        for op in workflow.ops:
            self.op(op, scope)
        self.operand(workflow.result, scope, span)
        if not is_assignable(workflow.result.type, workflow.result_type):
            message = f"returns {workflow.result.type} where {workflow.result_type} is declared"
            self.error("MK0403", span, message)
        if self.rank > 0 and workflow.result_type.contains_any():
            self.error("MK0405", span, f"result type {workflow.result_type} still contains any")
        self.knobs(workflow)

    def define(self, value: Value, scope: dict[str, Type], span: Span) -> None:
        self.check_name("value", value.name, span)
        if value.name in self.defined:
            self.error("MK0402", span, f"%{value.name} is defined twice")
        if self.rank > 0 and value.type.contains_any():
            self.error("MK0405", span, f"%{value.name}: {value.type} still contains any")
        self.defined.add(value.name)
        scope[value.name] = value.type

    def op(self, op: Op, scope: dict[str, Type]) -> None:
        for operand in op.operands:
            self.operand(operand, scope, op.span)
        self.structure(op)
        self.attrs(op)
        if op.region is not None:
            inner = dict(scope)
            for arg in op.region.args:
                self.define(arg, inner, op.span)
            for inner_op in op.region.ops:
                self.op(inner_op, inner)
            self.operand(op.region.result, inner, op.span)
        self.define(op.result, scope, op.span)

    def operand(self, operand: Operand, scope: dict[str, Type], span: Span) -> None:
        if isinstance(operand, Value):
            defined = scope.get(operand.name)
            if defined is None:
                self.error("MK0402", span, f"%{operand.name} is not defined before this use")
            elif defined != operand.type:
                message = f"%{operand.name} is used as {operand.type} but defined as {defined}"
                self.error("MK0403", span, message)
        elif isinstance(operand, Const):
            if operand.type != literal_type(operand.value):
                message = f"constant of type {operand.type}; its literal has type"
                self.error("MK0403", span, f"{message} {literal_type(operand.value)}")
            if not _finite(operand.value):
                self.error("MK0404", span, "non-finite number in a constant")
            if isinstance(operand.value, tuple):
                message = "a constant list is a ListOperand of constants: it prints the same"
                self.error("MK0404", span, message)
        else:
            self.list_operand(operand, scope, span)

    def list_operand(self, operand: ListOperand, scope: dict[str, Type], span: Span) -> None:
        for item in operand.items:
            self.operand(item, scope, span)
        expected = ListType(join([item.type for item in operand.items]))
        if operand.type != expected:
            self.error("MK0403", span, f"list operand of type {operand.type}, expected {expected}")

    def structure(self, op: Op) -> None:
        """Regions and their types: only `flow.*` ops have one, shaped as `_FLOW` says."""
        self.check_name("op", op.name, op.span)
        if op.device is not None:
            self.check_name("device", op.device, op.span)
        shape = _FLOW.get(op.name)
        if shape is None:
            if op.region is not None:
                self.error("MK0404", op.span, f"{op.name} cannot have a region")
            return
        region = op.region
        if region is None:
            self.error("MK0404", op.span, f"{op.name} needs a region")
            return
        if len(op.operands) != shape.operands or len(region.args) != shape.region_args:
            message = f"{op.name} takes {shape.operands} operand(s) and"
            self.error("MK0404", op.span, f"{message} {shape.region_args} region argument(s)")
            return
        result_type, body_type = op.result.type, region.result.type
        if op.name == "flow.parallel" and result_type != ListType(body_type):
            message = f"{op.name} yields {body_type}, so its result type is list<{body_type}>"
            self.error("MK0403", op.span, message)
        if op.name == "flow.repeat":
            loop_types = (op.operands[0].type, region.args[0].type, body_type)
            if any(ty != result_type for ty in loop_types):
                message = "initial value, region argument, yield and result"
                self.error("MK0403", op.span, f"{op.name}: {message} must share one type")

    def attrs(self, op: Op) -> None:
        for name, value in op.attrs:
            self.check_name("attribute", name, op.span)
            if not _finite(value.values if isinstance(value, Domain) else value):
                self.error("MK0404", op.span, f"attribute {name} holds a non-finite number")
            if self.rank > 0 and isinstance(value, Domain):
                self.error("MK0405", op.span, f"knob {name} of {op.name} is still a domain")
        if self.rank > 0 and op.name == "nl.task":
            self.error("MK0405", op.span, "a natural-language task is not bound to an executor")
        if self.rank > 1 and _not_flow(op.name) and op.device is None:
            self.error("MK0405", op.span, f"{op.name} has no device")
        for rule in _REQUIRED:
            if _RANK[rule.level] > self.rank or not rule.applies(op.name):
                continue
            if not rule.valid(op.attr(rule.attr)):
                code = "MK0404" if rule.level is Level.LOGICAL else "MK0405"
                self.error(code, op.span, f"{op.name} needs attribute {rule.attr}: {rule.expected}")

    def knobs(self, workflow: Workflow) -> None:
        """One knob, one domain: ops sharing a `knob` name must agree on its values."""
        domains: dict[str, AttrValue | None] = {}
        for op in workflow.walk():
            knob = op.attr("knob")
            if not isinstance(knob, str):
                continue
            count = op.attr(_FLOW[op.name].count) if op.name in _FLOW else None
            first = domains.setdefault(knob, count)
            if first != count:
                self.error("MK0404", op.span, f"knob '{knob}' has two different domains")

    def check_name(self, kind: str, name: str, span: Span) -> None:
        if _NAMES[kind].fullmatch(name) is None:
            self.error("MK0404", span, f"{kind} name {name!r} cannot be written in the IR")


def _finite(value: Literal) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, tuple):
        return all(_finite(item) for item in value)
    return True
