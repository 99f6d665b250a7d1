"""Parts of a workflow that a workflow profile describes.

A whole workflow may be an instance of a reference workflow (shapes.py). When
it is not, the workflows it called may be: `verify_solution` inlines
`video_qa` as `student.*` and `code_gen_debate` as `reference.*`, and each of
those parts is recognised on its own. A part's profile gives its quality and
the token load of its LLM calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from murakkab.cost.config import OpConfig
from murakkab.cost.ops import CostContext
from murakkab.cost.shapes import Match, recognise
from murakkab.ir.core import Op, Workflow, walk_ops
from murakkab.ir.types import ANY
from murakkab.profiles.schema import WorkflowProfile


@dataclass(frozen=True)
class Part:
    name: str  # "" for the whole workflow, else the task that called the inlined workflow
    ops: frozenset[str]  # result names of its ops, regions included
    match: Match
    profile: WorkflowProfile | None

    def tokens_per_call(self) -> float | None:
        if self.profile is None or not self.profile.tokens_p90:
            return None
        return self.profile.tokens_p90 / self.match.llm_calls


def find_parts(workflow: Workflow, configs: dict[str, OpConfig], ctx: CostContext) -> list[Part]:
    whole = recognise(workflow, configs)
    if whole is not None:
        names = frozenset(op.result.name for op in workflow.walk())
        return [Part("", names, whole, profile_of(whole, ctx))]
    groups: dict[str, list[Op]] = {}
    for op in workflow.ops:
        prefix, dot, _ = op.result.name.partition(".")
        if dot:
            groups.setdefault(prefix, []).append(op)
    parts = []
    for prefix, ops in groups.items():
        piece = Workflow(prefix, (), ANY, tuple(ops), ops[-1].result)
        match = recognise(piece, configs)
        if match is not None:
            names = frozenset(op.result.name for op in walk_ops(tuple(ops)))
            parts.append(Part(prefix, names, match, profile_of(match, ctx)))
    return parts


def profile_of(match: Match, ctx: CostContext) -> WorkflowProfile | None:
    knobs = ",".join(f"{name}={value}" for name, value in match.config)
    found = ctx.profiles.get(f"workflow/{match.workflow}/{knobs}")
    return found if isinstance(found, WorkflowProfile) else None
