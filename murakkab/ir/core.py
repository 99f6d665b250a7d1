"""The dataflow IR: small immutable dataclasses; passes return new modules.

A `Module` holds workflows and the run requests made of them. A workflow is a
flat list of ops in topological order; `flow.parallel` and `flow.repeat` carry
one nested region each, so bounded iteration and N-way agents stay analysable:
their bound and N are ordinary knob attributes.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from murakkab.ir.types import Type
from murakkab.slo import SloSpec
from murakkab.source import Span

# An attribute or constant operand: a string, a number, a bool, or a list of them.
Literal = str | int | float | bool | tuple["Literal", ...]


class Level(enum.Enum):
    """DESIGN.md §1: what each level guarantees is checked by the verifier."""

    LOGICAL = "logical"
    PHYSICAL = "physical"
    PLACED = "placed"


@dataclass(frozen=True)
class Domain:
    """A knob constraint `name in {v1, v2}`: the optimizer picks one value."""

    values: tuple[Literal, ...]


AttrValue = Literal | Domain


@dataclass(frozen=True)
class Value:
    """A named SSA value: a workflow parameter, an op result or a region argument."""

    name: str
    type: Type


@dataclass(frozen=True)
class Const:
    """A literal operand, e.g. a question written into the workflow."""

    value: Literal
    type: Type


@dataclass(frozen=True)
class ListOperand:
    """Fan-in: several values gathered into one list argument `[%a, %b]`."""

    items: tuple[Operand, ...]
    type: Type


Operand = Value | Const | ListOperand


def operand_values(operand: Operand) -> Iterator[Value]:
    """Every SSA value an operand reads."""
    if isinstance(operand, Value):
        yield operand
    elif isinstance(operand, ListOperand):
        for item in operand.items:
            yield from operand_values(item)


@dataclass(frozen=True)
class Region:
    """The body of a `flow.*` op: its own ops, then the value it yields."""

    args: tuple[Value, ...]
    ops: tuple[Op, ...]
    result: Operand


@dataclass(frozen=True)
class Op:
    """`%result = name(operands) {attrs} @device : type { region }`."""

    name: str
    result: Value
    operands: tuple[Operand, ...]
    attrs: tuple[tuple[str, AttrValue], ...] = ()
    device: str | None = None
    region: Region | None = None
    span: Span = field(default=Span("<ir>", 1, 1, 1, 2), compare=False)

    def __post_init__(self) -> None:
        names = [name for name, _ in self.attrs]
        if names != sorted(set(names)):
            object.__setattr__(self, "attrs", tuple(sorted(dict(self.attrs).items())))

    def attr(self, name: str, default: AttrValue | None = None) -> AttrValue | None:
        return dict(self.attrs).get(name, default)

    def with_attrs(self, **updates: AttrValue | None) -> Op:
        merged = dict(self.attrs)
        for name, value in updates.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return self.replace(attrs=tuple(sorted(merged.items())))

    def replace(self, **changes: object) -> Op:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Workflow:
    name: str
    params: tuple[Value, ...]
    result_type: Type
    ops: tuple[Op, ...]
    result: Operand
    doc: str | None = None
    span: Span = field(default=Span("<ir>", 1, 1, 1, 2), compare=False)

    def replace(self, **changes: object) -> Workflow:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def walk(self) -> Iterator[Op]:
        """Every op, regions included, in program order."""
        yield from walk_ops(self.ops)


def walk_ops(ops: tuple[Op, ...]) -> Iterator[Op]:
    for op in ops:
        yield op
        if op.region is not None:
            yield from walk_ops(op.region.ops)


@dataclass(frozen=True)
class Request:
    """`run workflow(args) slo {...} minimize energy`: one request of a workflow."""

    workflow: str
    args: tuple[Literal, ...]
    slo: SloSpec
    span: Span = field(default=Span("<ir>", 1, 1, 1, 2), compare=False)

    def replace(self, **changes: object) -> Request:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Module:
    level: Level
    workflows: tuple[Workflow, ...]
    requests: tuple[Request, ...] = ()

    def replace(self, **changes: object) -> Module:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def workflow(self, name: str) -> Workflow | None:
        return next((w for w in self.workflows if w.name == name), None)
