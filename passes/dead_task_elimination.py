"""dead-task-elimination: drop ops whose results nothing reads.

With `drop-optional=true` it also drops the optional tasks (`optional = true`)
that are read only as items of list operands (`llm.answer(%q, [%frames,
%transcript])`), taking them out of those lists. Whether an optional task is
worth its cost is the optimizer's choice against the SLO; the option is for
hand-written pipelines that want the smallest workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.ir.core import (
    ListOperand,
    Module,
    Op,
    Operand,
    Region,
    Value,
    Workflow,
    operand_values,
    walk_ops,
)
from murakkab.ir.types import ListType, join

NAME = "dead-task-elimination"


@dataclass(frozen=True)
class DeadTaskEliminationPass:
    """Does: removes ops (in regions too) whose result is not used; optional list items on request.
    Requires: a verified module at any level.
    Ensures: every remaining op's result is read by an op, a yield or the return.
    """

    name: ClassVar[str] = NAME
    drop_optional: bool = False

    def apply(self, module: Module, ctx: PassContext) -> Module:
        return module.replace(workflows=tuple(self._workflow(w, ctx) for w in module.workflows))

    def _workflow(self, workflow: Workflow, ctx: PassContext) -> Workflow:
        if self.drop_optional:
            workflow = _drop_optional(workflow, ctx)
        ops = _prune(workflow.ops, workflow.result, workflow.name, ctx)
        return workflow.replace(ops=ops)


def _prune(ops: tuple[Op, ...], result: Operand, where: str, ctx: PassContext) -> tuple[Op, ...]:
    """Walk backwards: an op is live if a later live op, or the block's result, reads it."""
    live = {v.name for v in operand_values(result)}
    kept: list[Op] = []
    for op in reversed(ops):
        if op.result.name not in live:
            ctx.decide(NAME, workflow=where, removed=op.result.name, op=op.name)
            continue
        if op.region is not None:
            inner = _prune(op.region.ops, op.region.result, where, ctx)
            op = op.replace(region=Region(op.region.args, inner, op.region.result))
            for inner_op in inner:
                live.update(
                    v.name for operand in inner_op.operands for v in operand_values(operand)
                )
        live.update(v.name for operand in op.operands for v in operand_values(operand))
        kept.append(op)
    return tuple(reversed(kept))


def _drop_optional(workflow: Workflow, ctx: PassContext) -> Workflow:
    """Drop optional ops read only inside list operands, until none is left: dropping
    one may leave another optional op read only inside lists."""
    while True:
        dropped = _droppable(workflow)
        if not dropped:
            return workflow
        for op in walk_ops(workflow.ops):
            if op.result.name in dropped:
                readers = sorted(dropped[op.result.name])
                ctx.decide(
                    NAME,
                    workflow=workflow.name,
                    removed=op.result.name,
                    op=op.name,
                    reason="optional",
                    lists_of=readers,
                )
        workflow = workflow.replace(ops=_without(workflow.ops, set(dropped)))


def _droppable(workflow: Workflow) -> dict[str, set[str]]:
    """Optional ops whose every read is an item of some op's list operand, with the ops
    that read them so; a direct operand, a yield or the return keeps an op."""
    in_lists: dict[str, set[str]] = {}
    pinned = {v.name for v in operand_values(workflow.result)}
    for op in walk_ops(workflow.ops):
        for operand in op.operands:
            if isinstance(operand, ListOperand):
                for value in operand_values(operand):
                    in_lists.setdefault(value.name, set()).add(op.result.name)
            else:
                pinned.update(v.name for v in operand_values(operand))
        if op.region is not None:
            pinned.update(v.name for v in operand_values(op.region.result))
    return {
        op.result.name: in_lists[op.result.name]
        for op in walk_ops(workflow.ops)
        if op.attr("optional") is True
        and op.result.name in in_lists
        and op.result.name not in pinned
    }


def _without(ops: tuple[Op, ...], dropped: set[str]) -> tuple[Op, ...]:
    """`ops` less the dropped ones, whose results leave every list operand."""
    kept: list[Op] = []
    for op in ops:
        if op.result.name in dropped:
            continue
        op = op.replace(operands=tuple(_strip(o, dropped) for o in op.operands))
        if op.region is not None:
            region = op.region
            op = op.replace(
                region=Region(region.args, _without(region.ops, dropped), region.result)
            )
        kept.append(op)
    return tuple(kept)


def _strip(operand: Operand, dropped: set[str]) -> Operand:
    """A list operand without the dropped values; its type is the join of what is left
    (the verifier's rule), `list<any>` when nothing is."""
    if not isinstance(operand, ListOperand):
        return operand
    items = tuple(
        _strip(item, dropped)
        for item in operand.items
        if not (isinstance(item, Value) and item.name in dropped)
    )
    return ListOperand(items, ListType(join([item.type for item in items])))
