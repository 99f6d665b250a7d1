"""Every configuration of a workflow's knob domains, as concrete workflows.

Domains (`frames in {1, 5, 10}`, a model set, `agents in {2, 4}`) are crossed;
an `optional` op is tried kept and dropped (dropping removes it from the list
arguments that read it). The grid is capped so a wide workflow cannot explode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from murakkab.ir.core import Domain, ListOperand, Literal, Op, Operand, Value, Workflow, walk_ops
from murakkab.ir.rewrite import map_ops
from murakkab.ir.types import ListType, join

MAX_CONFIGURATIONS = 512


def configurations(workflow: Workflow, limit: int = MAX_CONFIGURATIONS) -> list[Workflow]:
    return list(itertools.islice(_all(workflow), limit))


def _all(workflow: Workflow) -> Iterator[Workflow]:
    choices: list[tuple[str, str, tuple[Literal, ...]]] = []
    optional: list[str] = []
    for op in walk_ops(workflow.ops):
        for name, value in op.attrs:
            if isinstance(value, Domain):
                choices.append((op.result.name, name, value.values))
        if op.attr("optional") is True:
            optional.append(op.result.name)
    for values in itertools.product(*(values for _, _, values in choices)):
        picked: dict[str, dict[str, Literal]] = {}
        for (op_name, attr, _), value in zip(choices, values):
            picked.setdefault(op_name, {})[attr] = value
        fixed = map_ops(workflow, _fixer(picked))
        for dropped in itertools.product((False, True), repeat=len(optional)):
            yield drop_ops(fixed, {n for n, d in zip(optional, dropped) if d})


def _fixer(picked: dict[str, dict[str, Literal]]) -> Callable[[Op], Op]:
    return lambda op: op.with_attrs(**picked.get(op.result.name, {}))


def drop_ops(workflow: Workflow, names: set[str]) -> Workflow:
    """`workflow` without the top-level ops `names` (optional tasks), and without
    them in the list operands that read them."""
    if not names:
        return workflow

    def without(op: Op) -> Op:
        return op.replace(operands=tuple(_prune(o, names) for o in op.operands))

    pruned = map_ops(workflow, without)
    kept = tuple(op for op in pruned.ops if op.result.name not in names)
    return pruned.replace(ops=kept)


def _prune(operand: Operand, names: set[str]) -> Operand:
    if not isinstance(operand, ListOperand):
        return operand
    items = tuple(
        _prune(i, names) for i in operand.items if not (isinstance(i, Value) and i.name in names)
    )
    return ListOperand(items, ListType(join([item.type for item in items])))
