"""A plan as the plain data the backend templates render: dicts, lists and strings only.

Both backends render the same shape: the header facts, one definition per
step in the plan's order (an op, or a flow op followed by its body), and one
function per scope (the workflow, each body) whose lines wire the data flow.
Identifiers are chosen here, once, by `Identifiers`; every other string stays
data for the template's quoting filters (backends/quoting.py).
"""

from __future__ import annotations

import json
from typing import Any

from murakkab.backends.quoting import Identifiers

from murakkab.catalogue import stdlib_catalogue
from murakkab.device import parse_device
from murakkab.plan import Plan, Step
from murakkab.runtime.args import reads

# What the templates define or import at module level: no op may take these names.
TEMPLATE_NAMES = (
    "ACTORS",
    "Any",
    "BUNDLES",
    "LOCAL_RAY",
    "execute",
    "PLAN",
    "PLAN_DATA",
    "Plan",
    "PlanRun",
    "RayRun",
    "RunOptions",
    "RunResult",
    "annotations",
    "json",
    "main",
    "plan_arguments",
    "report",
    "sys",
    "workflow",
)
# Names the functions use for their own parameters and locals (no module-level
# name may be one, or a function would see its parameter instead).
LOCAL_NAMES = ("args", "flow", "initial", "label", "r", "ray_run", "run")


def plan_view(plan: Plan) -> dict[str, Any]:
    """Everything a template needs, as plain data."""
    names = Identifiers(TEMPLATE_NAMES + LOCAL_NAMES)
    functions = {step.name: names(step.name) for step in plan.walk()}
    definitions = [_definition(step, functions, names) for step in plan.walk()]
    return {
        "workflow": plan.workflow,
        "doc": plan.doc,
        "source": plan.source,
        "pipeline": plan.pipeline,
        "slo": plan.slo,
        "objective": plan.objective,
        "cluster": plan.cluster,
        "placement": placement_line(plan.placement),
        "predicted": _predicted_line({**_makespan(plan.placement), **plan.predicted}),
        "params": [{"name": name, "type": type_} for name, type_ in plan.params],
        "defaults": plan.defaults,
        "definitions": definitions,
        "workflow_scope": _scope(plan.steps, functions, plan.result, "workflow"),
        "plan_data": json.loads(plan.to_json()),
    }


def placement_line(placement: dict[str, Any]) -> str:
    """ "optimal (gap 0%)", "heuristic", or "not placed"."""
    status = placement.get("status")
    if not isinstance(status, str) or not status:
        return "not placed (no placement pass ran; ops go wherever the runtime has room)"
    gap = placement.get("gap")
    objective = placement.get("objective")
    solver = placement.get("solver")
    parts = [status]
    if isinstance(objective, str) and objective:
        parts.append(f"for {objective}")
    how = [f"by {solver}"] if isinstance(solver, str) and solver else []
    if isinstance(gap, (int, float)) and not isinstance(gap, bool):
        how.append(f"gap {gap:.1%}")
    if how:
        parts.append(f"({', '.join(how)})")
    return " ".join(parts)


def _makespan(placement: dict[str, Any]) -> dict[str, float]:
    """The placed schedule's end-to-end latency, when the placement pass gave one."""
    value = placement.get("latency_s")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return {}
    return {"latency_s": float(value)}


def _predicted_line(predicted: dict[str, float]) -> str:
    units = {"latency_s": "s", "energy_j": "J", "cost_usd": "usd"}
    return ", ".join(
        f"{key.rsplit('_', 1)[0]} {value:.4g} {units.get(key, '')}".rstrip()
        for key, value in sorted(predicted.items())
    )


def _definition(
    step: Step,
    functions: dict[str, str],
    names: Identifiers,
) -> dict[str, Any]:
    common = {"fn": functions[step.name], "name": step.name, "op": step.op}
    if not step.is_flow:
        return {**common, "kind": "op", **_op_facts(step)}
    body_fn = names(f"{step.name}_body")
    carried = step.body_args[0] if step.body_args else None
    return {
        **common,
        "kind": "parallel" if step.op == "flow.parallel" else "repeat",
        "count": step.count,
        "body_fn": body_fn,
        "carried": carried,
        "initial": step.args[0] if step.args else None,
        "latency": _number(step.predicted.get("latency_s")),
        "body": _scope(step.body, functions, step.yields, body_fn),
    }


def _op_facts(step: Step) -> dict[str, Any]:
    placement = step.placement
    device = placement.device if placement is not None else "cpu"
    placed = placement is not None and bool(placement.node)
    return {
        "where": where(step),
        "params": _param_names(step),
        "impl": step.impl.name if step.impl is not None else "",
        "fallbacks": [impl.name for impl in step.fallbacks],
        "device": device,
        "node": placement.node if placement is not None else "",
        "cores": placement.cores if placement is not None else 1,
        "gpu_ids": list(placement.gpu_ids) if placement is not None else [],
        "gpus": gpu_count(step),
        "start": f"{placement.start:.3g} s" if placement is not None and placed else "not placed",
        "latency": _number(step.predicted.get("latency_s")),
        "instance": step.instance,
        "batch": step.batch,
    }


def where(step: Step) -> str:
    """Where the op runs, in words: "cpu, 8 cores, node a100-vm-0"."""
    placement = step.placement
    if placement is None:
        return "cpu (no device chosen), 1 core"
    if placement.device == "hosted":
        return "a hosted endpoint"
    node = f"node {placement.node}" if placement.node else "not placed on a node"
    if placement.device == "cpu":
        cores = cpu_count(step)
        return f"cpu, {cores} core{'s' if cores != 1 else ''}, {node}"
    ids = f"GPUs {list(placement.gpu_ids)} of " if placement.gpu_ids else ""
    count = gpu_count(step)
    return f"{placement.device} ({count} GPU{'s' if count != 1 else ''}), {ids}{node}"


def cpu_count(step: Step) -> int:
    """Cores a CPU op holds, as the runtime counts them: `cores` x `fanout`."""
    cores = step.placement.cores if step.placement is not None else 1
    fanout = step.knobs.get("fanout")
    if isinstance(fanout, int) and not isinstance(fanout, bool) and fanout > 1:
        cores *= fanout
    return max(1, cores)


def gpu_count(step: Step) -> int:
    """GPUs the step holds: its placed GPU ids, else the count in its device ("gpu:a100x4")."""
    placement = step.placement
    if placement is None:
        return 0
    device = parse_device(placement.device)
    if device.side != "gpu":
        return 0
    if placement.gpu_ids:
        return len(placement.gpu_ids)
    return device.count or 1


def _param_names(step: Step) -> list[str]:
    """The op function's parameters: the capability's parameter names when known."""
    capability = stdlib_catalogue().lookup(step.op)
    declared = [name for name, _ in capability.params] if capability is not None else []
    if len(declared) != len(step.args):
        declared = [f"arg{index + 1}" for index in range(len(step.args))]
    local = Identifiers(LOCAL_NAMES)
    return [local(name, "arg") for name in declared]


def _scope(
    steps: tuple[Step, ...],
    functions: dict[str, str],
    result: Any,
    fn: str,
) -> dict[str, Any]:
    """A workflow or body function: one line per step, in order."""
    lines = []
    for step in steps:
        line: dict[str, Any] = {"name": step.name, "fn": functions[step.name]}
        if step.is_flow:
            line["reads"] = sorted(reads(step))
        else:
            line["args"] = list(step.args)
        lines.append(line)
    return {"fn": fn, "lines": lines, "result": result}


def _number(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3g} s"
