"""parallelism: overlap independent branches; fan map-style ops out over list inputs.

Independent branches need no rewrite: in the dataflow model an op starts when
its last input is ready (murakkab/cost/workflow.py), so ops with no path
between them already run side by side. The pass records them, per block, for
`mkc explain`.

A map-style op processes the items of its first list parameter independently
(`MAP_STYLE`), so `fanout` copies of it can each take a share of the items.
The pass sets `fanout` on such ops; each copy keeps the op's device and its
`cores`, so the op holds `fanout x cores` cores while it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.ir.core import (
    AttrValue,
    Domain,
    Level,
    Literal,
    Module,
    Op,
    Workflow,
    operand_values,
    walk_ops,
)
from murakkab.ir.rewrite import map_ops
from murakkab.ir.types import ListType

NAME = "parallelism"

# Capabilities whose implementation handles the items of their first list
# parameter one by one: frames of scenes, objects and text of frames, the
# speech of scenes, embeddings of texts. Not `llm.*` (one prompt reads the
# whole list) and not `video.scene_detect` (a shot boundary needs the whole video).
MAP_STYLE = frozenset(
    {
        "speech.transcribe",
        "text.embed",
        "video.frame_extract",
        "vision.detect_objects",
        "vision.read_text",
    }
)


@dataclass(frozen=True)
class ParallelismPass:
    """Does: records independent ops per block; sets `fanout` on map-style ops over lists.
    Requires: a verified logical or physical module (placement fixes devices and start times).
    Ensures: map-style ops over lists carry `fanout` (min(degree, max-degree) unless pinned).
    """

    name: ClassVar[str] = NAME
    max_degree: int = 8
    degree: int = 4

    def apply(self, module: Module, ctx: PassContext) -> Module:
        for workflow in module.workflows:
            _record_independent(workflow, ctx)
        fanout = min(self.degree, self.max_degree)
        if module.level is Level.PLACED or fanout < 2:
            why = "the module is placed" if fanout >= 2 else f"degree {fanout} < 2"
            ctx.decide(NAME, kind="fanout-off", reason=why)
            return module
        return module.replace(workflows=tuple(_fan_out(w, fanout, ctx) for w in module.workflows))


def _fan_out(workflow: Workflow, fanout: int, ctx: PassContext) -> Workflow:
    def rewrite(op: Op) -> Op:
        if op.name not in MAP_STYLE or op.attr("fanout") is not None:
            return op
        param = _mapped_param(op, ctx)
        if param is None:
            return op
        ctx.decide(
            NAME,
            kind="fanout",
            workflow=workflow.name,
            op=op.result.name,
            capability=op.name,
            param=param,
            degree=fanout,
            cores_per_copy=_plain(op.attr("cores")),
        )
        return op.with_attrs(fanout=fanout)

    return map_ops(workflow, rewrite)


def _mapped_param(op: Op, ctx: PassContext) -> str | None:
    """The name of the op's first list parameter, when its operand there is a list."""
    capability = ctx.catalogue.lookup(op.name)
    if capability is None:
        return None
    for (name, ptype), operand in zip(capability.params, op.operands):
        if isinstance(ptype, ListType):
            return name if isinstance(operand.type, ListType) else None
    return None


def _plain(value: AttrValue | None) -> Literal | list[Literal] | None:
    """An attribute as JSON-able data for the decision log."""
    return list(value.values) if isinstance(value, Domain) else value


def _record_independent(workflow: Workflow, ctx: PassContext) -> None:
    blocks: list[tuple[str, tuple[Op, ...]]] = [("", workflow.ops)]
    blocks += [(op.result.name, op.region.ops) for op in workflow.walk() if op.region is not None]
    for block, ops in blocks:
        for group, branches in independent_groups(ops):
            ctx.decide(
                NAME,
                kind="independent",
                workflow=workflow.name,
                block=block,
                ops=group,
                branches=branches,
            )


def independent_groups(ops: tuple[Op, ...]) -> list[tuple[list[str], list[list[str]]]]:
    """Groups of ops of one block that overlap, each with its branches, in program order.

    Two ops are independent when there is no path between them. A group is a
    connected component of "is independent of" (only components of two or more
    ops); its branches are the components of "has a path to" within the group.
    """
    names = [op.result.name for op in ops]
    ancestors = _ancestors(ops)

    def related(i: int, j: int) -> bool:
        return names[i] in ancestors[names[j]] or names[j] in ancestors[names[i]]

    groups = _components(len(ops), lambda i, j: not related(i, j))
    out = []
    for group in groups:
        if len(group) < 2:
            continue
        members = [names[i] for i in group]
        parts = _components(len(group), _within(group, related))
        out.append((members, [[members[k] for k in part] for part in parts]))
    return out


def _within(group: list[int], linked: Callable[[int, int], bool]) -> Callable[[int, int], bool]:
    """`linked` on the members of `group`, numbered from 0."""
    return lambda a, b: linked(group[a], group[b])


def _ancestors(ops: tuple[Op, ...]) -> dict[str, set[str]]:
    """Per op, the ops of the block it waits for, directly or not (ops are in topological order)."""
    out: dict[str, set[str]] = {}
    for op in ops:
        found: set[str] = set()
        for name in _reads(op):
            if name in out:
                found |= {name} | out[name]
        out[op.result.name] = found
    return out


def _reads(op: Op) -> set[str]:
    """The values an op reads, including those its region reads from outside."""
    inner = [op, *walk_ops(op.region.ops)] if op.region is not None else [op]
    names = {v.name for o in inner for operand in o.operands for v in operand_values(operand)}
    if op.region is not None:
        names |= {v.name for v in operand_values(op.region.result)}
    return names


def _components(count: int, linked: Callable[[int, int], bool]) -> list[list[int]]:
    """Connected components of the graph on 0..count-1 where `linked(i, j)`, each sorted,
    ordered by their first member."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(count):
        for j in range(i + 1, count):
            if linked(i, j):
                parent[root(j)] = root(i)
    members: dict[int, list[int]] = {}
    for i in range(count):
        members.setdefault(root(i), []).append(i)
    return sorted(members.values(), key=lambda part: part[0])
