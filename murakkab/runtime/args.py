"""Argument trees (murakkab/plan.py) to values, and the names a step reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from murakkab.plan import Step, refs


def resolve_args(tree: Any, env: Mapping[str, Any]) -> Any:
    """The value of one argument tree: `{"ref": NAME}` is `env[NAME]`, `{"const": V}`
    is V, `{"list": [...]}` a list of the items' values (no flattening)."""
    if "ref" in tree:
        name = tree["ref"]
        if name not in env:
            raise KeyError(f"the plan reads '{name}', which nothing has produced")
        return env[name]
    if "const" in tree:
        return tree["const"]
    if "list" in tree:
        return [resolve_args(item, env) for item in tree["list"]]
    raise ValueError(f"not an argument tree: {tree!r}")


def reads(step: Step) -> set[str]:
    """Every name a step reads from its enclosing scope, its body's reads included.

    A flow step's `deps` name only what its own arguments read; its body may also
    read results of the enclosing scope (a repeat body reading `tests`), and the
    step must wait for those too.
    """
    names = {name for tree in step.args for name in refs(tree)}
    if step.body:
        inner = {name for s in step.body for name in reads(s)}
        if step.yields is not None:
            inner.update(refs(step.yields))
        defined = {s.name for s in step.body} | set(step.body_args)
        names |= inner - defined
    return names


def scope_deps(steps: tuple[Step, ...]) -> dict[str, set[str]]:
    """For each step of one scope, the steps of that scope it waits for."""
    local = {step.name for step in steps}
    return {step.name: ((reads(step) | set(step.deps)) & local) - {step.name} for step in steps}
