"""Plan backends: a compiled module's plan rendered as a program (docs/backends.md).

| backend | emits | runs with |
|---|---|---|
| `python` | a standalone `plan.py`: a function per op, threads across branches | murakkab |
| `ray` | the plan as Ray tasks and actors, resources and placement groups | `murakkab[ray]` |

`plan_of(compilation)` builds the plan of a compiled job (what `mkc compile
--emit plan` and `mkc run` share); `emit(plan, backend)` renders it. Templates
are jinja2 files shipped as package data, rendered from plain data with
`StrictUndefined`; user text reaches the code only through `quoting.py`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FunctionLoader, StrictUndefined
from murakkab.backends.quoting import doc_text, py_block, py_literal

if TYPE_CHECKING:
    from murakkab.driver import Compilation
    from murakkab.plan import Plan

BACKENDS = ("python", "ray")


def emit(plan: Plan, backend: str = "python") -> str:
    """The source of `plan` as a program for `backend` ("python" or "ray")."""
    if backend == "python":
        from murakkab.backends.python import emit_python

        return emit_python(plan)
    if backend == "ray":
        from murakkab.backends.ray import emit_ray

        return emit_ray(plan)
    raise ValueError(f"unknown backend '{backend}'; backends are {', '.join(BACKENDS)}")


def plan_of(
    compilation: Compilation,
    *,
    source: str,
    pipeline: str,
    workflow: str | None = None,
) -> Plan:
    """The plan of a compiled job: its module after estimation (placed, when the
    placement pass ran), with the cluster's name and the placement summary."""
    from murakkab.plan import build_plan

    if compilation.module is None:
        raise ValueError("a plan needs the compiled module (compile to 'estimate')")
    hardware = compilation.context.hardware if compilation.context is not None else None
    cluster = getattr(hardware, "name", "")  # a Cluster; the cost model needs only its kinds
    plan = build_plan(
        compilation.module, workflow, source=source, pipeline=pipeline, cluster=cluster
    )
    return dataclasses.replace(plan, placement=placement_summary(compilation, plan.workflow))


def placement_summary(compilation: Compilation, workflow: str = "") -> dict[str, Any]:
    """The placement pass's summary decision for `workflow` (status, objective,
    bound, gap, ...), if the pass ran; without the solver's time, so that the
    same job always gives the same plan."""
    context = compilation.pass_context
    if context is None:
        return {}
    summaries = [
        d
        for d in context.decisions
        if d.get("pass") == "placement"
        and d.get("kind", "placement") == "placement"
        and "status" in d
        and d.get("workflow", workflow) in (workflow, "")
    ]
    if not summaries:
        return {}
    return {k: v for k, v in summaries[-1].items() if k not in _VOLATILE}


_VOLATILE = frozenset({"pass", "kind", "seconds"})


@functools.cache
def environment() -> Environment:
    """The jinja2 environment every backend renders with; templates are package
    data named "BACKEND/NAME.j2" (backends/BACKEND/NAME.j2), or "NAME.j2" for the
    macros they share (backends/NAME.j2)."""
    env = Environment(
        loader=FunctionLoader(_template_source),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = py_literal
    env.filters["pyblock"] = py_block
    env.filters["doc"] = doc_text
    return env


def render(template: str, data: dict[str, Any]) -> str:
    return environment().get_template(template).render(**data)


def _template_source(name: str) -> str:
    """ "python/plan.py.j2" is backends/python/plan.py.j2; "macros.j2" is backends/macros.j2."""
    folder, _, file = name.rpartition("/")
    package = "murakkab.backends" + (f".{folder}" if folder else "")
    return importlib.resources.files(package).joinpath(file).read_text(encoding="utf-8")
