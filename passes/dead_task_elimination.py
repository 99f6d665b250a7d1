"""dead-task-elimination: drop ops whose results nothing reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.ir.core import Module, Op, Operand, Region, Workflow, operand_values


@dataclass(frozen=True)
class DeadTaskEliminationPass:
    """Does: removes ops (in regions too) whose result is not used.
    Requires: a verified module at any level.
    Ensures: every remaining op's result is read by an op, a yield or the return.
    """

    name: ClassVar[str] = "dead-task-elimination"

    def apply(self, module: Module, ctx: PassContext) -> Module:
        return module.replace(workflows=tuple(self._workflow(w, ctx) for w in module.workflows))

    def _workflow(self, workflow: Workflow, ctx: PassContext) -> Workflow:
        ops = _prune(workflow.ops, workflow.result, workflow.name, ctx)
        return workflow.replace(ops=ops)


def _prune(ops: tuple[Op, ...], result: Operand, where: str, ctx: PassContext) -> tuple[Op, ...]:
    """Walk backwards: an op is live if a later live op, or the block's result, reads it."""
    live = {v.name for v in operand_values(result)}
    kept: list[Op] = []
    for op in reversed(ops):
        if op.result.name not in live:
            ctx.decide("dead-task-elimination", workflow=where, removed=op.result.name, op=op.name)
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
