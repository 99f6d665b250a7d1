"""Rewriting every op of a workflow, regions included, with one function."""

from __future__ import annotations

from collections.abc import Callable

from murakkab.ir.core import Op, Region, Workflow


def map_ops(workflow: Workflow, rewrite: Callable[[Op], Op]) -> Workflow:
    """`workflow` with `rewrite` applied to each op, inner regions first."""
    return workflow.replace(ops=_map(workflow.ops, rewrite))


def _map(ops: tuple[Op, ...], rewrite: Callable[[Op], Op]) -> tuple[Op, ...]:
    out = []
    for op in ops:
        if op.region is not None:
            region = op.region
            op = op.replace(region=Region(region.args, _map(region.ops, rewrite), region.result))
        out.append(rewrite(op))
    return tuple(out)
