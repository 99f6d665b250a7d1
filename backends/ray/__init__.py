"""The `ray` backend: a plan as a Ray program, and `run_ray` for `mkc run --backend ray`.

`emit_ray` renders the plan (backends/ray/plan.ray.py.j2) with its Ray
resources (backends/ray/layout.py); emitting needs no Ray. Running does:
`pip install "murakkab[ray]"`. `run_ray` executes that same emitted program in
this process, so `mkc run --backend ray` and `python plan.py` cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import types
from typing import TYPE_CHECKING, Any

from murakkab.backends import render
from murakkab.backends.ray.layout import ray_layout
from murakkab.backends.view import plan_view

from murakkab.plan import Plan

if TYPE_CHECKING:
    from murakkab.runtime.options import RunOptions
    from murakkab.runtime.trace import RunResult


def emit_ray(plan: Plan) -> str:
    """The source of the Ray plan: run it with `python plan.py [--ray-address ADDRESS]`."""
    view = plan_view(plan)
    layout = ray_layout(plan)
    for definition in view["definitions"]:
        if definition["kind"] == "op":
            definition["ray"] = layout["steps"][definition["name"]]
    return render(
        "ray/plan.ray.py.j2",
        {
            **view,
            "actors": layout["actors"],
            "bundles": layout["bundles"],
            "local": layout["local"],
        },
    )


def run_ray(
    plan: Plan, inputs: dict[str, Any], options: RunOptions, address: str | None = None
) -> RunResult:
    """Run `plan` on Ray from this process: the Ray it is connected to (left running),
    else the cluster at `address`, else a local Ray started and stopped for the run.
    Results and traces come back as a `RunResult` (backend "ray"); raises
    ImportError when Ray is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise ImportError('the ray backend needs Ray: pip install "murakkab[ray]"', name="ray")
    module = load_program(emit_ray(plan), f"murakkab_ray_plan_{plan.workflow}")
    result: RunResult = module.execute(inputs, options, address)
    return result


def load_program(source: str, name: str) -> types.ModuleType:
    """An emitted plan as a module, without a file (its `__main__` block does not run)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own plan
    return module
