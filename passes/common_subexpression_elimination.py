"""common-subexpression-elimination: compute each value once.

Two ops compute the same value when they have the same name, device and result
type, equal operands (after the replacements made before them) and equal
attributes (the cost model's `est_*` annotations aside), and neither has a
region. The first is kept, with its span; every use of the second (in later
ops, nested regions, region results and the workflow result) reads the first.

Scopes: each block (the workflow's ops, or one `flow.parallel`/`flow.repeat`
region) has its own table, so an op is merged only with an identical op of the
same block; replacements made in a block reach into the regions nested in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.catalogue import Catalogue
from murakkab.ir.core import (
    AttrValue,
    Domain,
    ListOperand,
    Literal,
    Module,
    Op,
    Operand,
    Region,
    Value,
)
from murakkab.ir.types import Type

NAME = "common-subexpression-elimination"

# Capability kinds whose result is a sample from a model, not a function of the inputs.
_SAMPLED_KINDS = ("llm", "composition")

# A hashable identity of an op, built by `_key`.
_Key = tuple[str, str | None, Type, tuple[Operand, ...], tuple[tuple[str, object], ...]]


@dataclass(frozen=True)
class CommonSubexpressionEliminationPass:
    """Does: replaces an op identical to an earlier op of the same block by that op's result.
    Requires: a verified module at any level (sampled ops merge only as explained below).
    Ensures: no two region-free ops of one block agree on name, device, type, operands and attrs.

    LLM calls (and compositions of them, and `nl.task`, which may be bound to one)
    sample their output: two identical calls are two independent draws, and a
    workflow that asks twice (self-consistency, debaters, drafts to compare) means
    to get two answers. Merging them would silently change what the workflow
    computes, so it happens only where the draw is deterministic (`temperature = 0`
    on the op) or the user accepts one draw for both (`merge-llm=true`). Ops the
    catalogue does not know are treated as sampled too: nothing says they are not.
    """

    name: ClassVar[str] = NAME
    merge_llm: bool = False

    def apply(self, module: Module, ctx: PassContext) -> Module:
        workflows = []
        for workflow in module.workflows:
            block = _Rewriter(self.merge_llm, ctx, workflow.name)
            ops = block.run(workflow.ops)
            result = _substitute(workflow.result, block.renamed)
            workflows.append(workflow.replace(ops=ops, result=result))
        return module.replace(workflows=tuple(workflows))


class _Rewriter:
    """Rewrites one workflow's blocks; `renamed` maps a removed result to the kept one."""

    def __init__(self, merge_llm: bool, ctx: PassContext, workflow: str):
        self.merge_llm = merge_llm
        self.catalogue: Catalogue = ctx.catalogue
        self.ctx = ctx
        self.workflow = workflow
        self.renamed: dict[str, Value] = {}

    def run(self, ops: tuple[Op, ...]) -> tuple[Op, ...]:
        """The ops of one block, with a table of its own: blocks never share one."""
        seen: dict[_Key, Value] = {}
        kept: list[Op] = []
        for op in ops:
            op = op.replace(operands=tuple(_substitute(o, self.renamed) for o in op.operands))
            if op.region is not None:
                kept.append(op.replace(region=self.region(op.region)))
                continue
            if not self.mergeable(op):
                kept.append(op)
                continue
            key = _key(op)
            first = seen.get(key)
            if first is None:
                seen[key] = op.result
                kept.append(op)
                continue
            self.renamed[op.result.name] = first
            self.ctx.decide(
                NAME, workflow=self.workflow, kept=first.name, removed=op.result.name, op=op.name
            )
        return tuple(kept)

    def region(self, region: Region) -> Region:
        ops = self.run(region.ops)
        return Region(region.args, ops, _substitute(region.result, self.renamed))

    def mergeable(self, op: Op) -> bool:
        capability = self.catalogue.lookup(op.name)
        sampled = capability is None or capability.kind in _SAMPLED_KINDS
        return not sampled or self.merge_llm or _is_zero(op.attr("temperature"))


def _is_zero(value: AttrValue | None) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _key(op: Op) -> _Key:
    attrs = tuple((n, _tagged(v)) for n, v in op.attrs if not n.startswith("est_"))
    return (op.name, op.device, op.result.type, op.operands, attrs)


def _tagged(value: AttrValue) -> object:
    """`true` and `1` compare equal in Python; in an attribute they are different values."""
    if isinstance(value, Domain):
        return ("domain", tuple(_tagged(v) for v in value.values))
    return _tagged_literal(value)


def _tagged_literal(value: Literal) -> object:
    if isinstance(value, tuple):
        return tuple(_tagged_literal(v) for v in value)
    return (isinstance(value, bool), value)


def _substitute(operand: Operand, renamed: dict[str, Value]) -> Operand:
    """`operand` reading kept values; a kept value has the removed one's type."""
    if isinstance(operand, Value):
        return renamed.get(operand.name, operand)
    if isinstance(operand, ListOperand):
        items = tuple(_substitute(item, renamed) for item in operand.items)
        return ListOperand(items, operand.type)
    return operand
