"""The `.mk` abstract syntax tree: frozen dataclasses, each with its source span.

The AST mirrors what the user wrote (raw SLO numbers and units, dotted names);
the checker resolves it and `lower` turns it into IR. The AST is never the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from murakkab.source import UNKNOWN_SPAN, Span

LiteralValue = str | int | float | bool


def _span() -> Span:
    return field(default=UNKNOWN_SPAN, compare=False)


# ---- types -------------------------------------------------------------------


@dataclass(frozen=True)
class TypeName:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ListTypeExpr:
    element: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class RecordTypeExpr:
    fields: tuple[tuple[str, TypeExpr], ...]
    span: Span = _span()


TypeExpr = TypeName | ListTypeExpr | RecordTypeExpr

# ---- expressions -------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Lit:
    value: LiteralValue
    text: str  # as written, for the formatter
    span: Span = _span()


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = _span()


Expr = Ref | Lit | ListExpr

# ---- task constraints ----------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """`in {1, 5, 10}` (is_set) or `= 2`."""

    values: tuple[Lit, ...]
    is_set: bool
    span: Span = _span()


@dataclass(frozen=True)
class Constraint:
    knob: str
    domain: Domain
    span: Span = _span()


@dataclass(frozen=True)
class WithClause:
    constraints: tuple[Constraint, ...]
    span: Span = _span()


@dataclass(frozen=True)
class UsingClause:
    """`using model "gemma-3-27b"`: a pin, sugar for `with model = "..."`."""

    knob: str
    value: Lit
    span: Span = _span()


@dataclass(frozen=True)
class OnClause:
    """`on gpu`, `on cpu`, `on gpu "a100"`."""

    device: str
    model: str | None
    span: Span = _span()


@dataclass(frozen=True)
class OptionalClause:
    span: Span = _span()


Clause = WithClause | UsingClause | OnClause | OptionalClause

# ---- task expressions ----------------------------------------------------------


@dataclass(frozen=True)
class NamedCall:
    callee: str  # dotted: "video.scene_detect", "scene_detect" or a workflow name
    args: tuple[Expr, ...]
    callee_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class NlCall:
    """`"Extract frames from the scenes."(scenes)`: bound by the optimizer."""

    description: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ParallelBlock:
    knob: str
    domain: Domain
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class RepeatBlock:
    knob: str
    domain: Domain
    init: Expr
    var: str
    body: tuple[Stmt, ...]
    var_span: Span = _span()
    span: Span = _span()


TaskExpr = NamedCall | NlCall | ParallelBlock | RepeatBlock

# ---- statements ------------------------------------------------------------------


@dataclass(frozen=True)
class TaskStmt:
    name: str
    annotation: TypeExpr | None
    expr: TaskExpr
    clauses: tuple[Clause, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class ReturnStmt:
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class YieldStmt:
    expr: Expr
    span: Span = _span()


Stmt = TaskStmt | ReturnStmt | YieldStmt

# ---- top-level items -------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    params: tuple[Param, ...]
    result: TypeExpr
    doc: str | None
    body: tuple[Stmt, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class KnobDecl:
    name: str
    type: TypeExpr | None
    values: tuple[Lit, ...] | None
    default: Lit | None
    span: Span = _span()


@dataclass(frozen=True)
class CapabilityDef:
    name: str
    params: tuple[Param, ...]
    result: TypeExpr
    doc: str | None
    kind: str | None
    hardware: tuple[str, ...]
    knobs: tuple[KnobDecl, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class ImportModule:
    path: tuple[str, ...]  # stdlib.video -> ("stdlib", "video")
    span: Span = _span()


@dataclass(frozen=True)
class ImportFile:
    path: str
    span: Span = _span()


@dataclass(frozen=True)
class SloBoundExpr:
    """A bound as written: `latency < 30 s`, `cost < $2`, `quality >= good`."""

    metric: str
    op: str
    number: str | None
    unit: str | None
    tier: str | None
    dollar: bool = False
    metric_span: Span = _span()
    value_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class ObjectiveExpr:
    direction: str
    metric: str
    span: Span = _span()


@dataclass(frozen=True)
class RunStmt:
    workflow: str
    args: tuple[Expr, ...]
    bounds: tuple[SloBoundExpr, ...]
    objective: ObjectiveExpr | None
    name_span: Span = _span()
    span: Span = _span()


Item = ImportModule | ImportFile | WorkflowDef | CapabilityDef | RunStmt


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True)
class MkFile:
    name: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = ()


@dataclass(frozen=True)
class CliSlo:
    """What one `--slo` flag says: bounds and at most one objective."""

    bounds: tuple[SloBoundExpr, ...]
    objectives: tuple[ObjectiveExpr, ...]
