"""The Ray resources of a plan, as plain data: tasks, actors, bundles, a local Ray's size.

- An op whose step has a `model` knob runs on an **actor**, one per model
  instance key (`Step.instance`): the process that loads the model once (the
  runtime's instance cache lives in it) and serves every op of that key, up to
  `batch` calls at a time. Its resources are held for the whole run, so an
  instance whose placed GPUs the placement also gives to another instance or op
  (time-sharing them) runs its ops as tasks instead. Any other op is a **task**.
- `num_cpus`: a CPU op's cores as the runtime counts them (`cores` x `fanout`);
  GPU and hosted ops hold no cores (the local runtime gives them none either).
  `num_gpus`: the op's placed GPU ids, else the count in its device.
- A placed plan (ops with a `node`) gets **one placement group with one bundle
  per cluster node** it uses. A bundle holds the node's GPUs the placement
  names (else its actors' GPUs plus the peak its tasks hold at once), its
  actors' CPUs plus the peak of its tasks' CPUs at once (planned start and
  predicted latency, parallel copies counted), and a sliver of the custom
  resource `node:NAME`, which only that node declares: the bundle, hence its
  ops, land there. Unplaced ops use no placement group.
- A local Ray started for the plan declares enough logical CPUs, GPUs and
  `node:NAME` resources for all of that (GPUs are logical: on a machine
  without any, GPU-placed ops still schedule).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from murakkab.backends.view import cpu_count, gpu_count

from murakkab.plan import Plan, Step

NODE_RESOURCE = "node:{}"
NODE_SLIVER = 0.001  # what a bundle asks of its node's `node:NAME` (declared as 1)


def ray_layout(plan: Plan) -> dict[str, Any]:
    """`steps` (name -> how it runs), `actors`, `bundles` and `local` (ray.init sizes)."""
    actors: dict[str, dict[str, Any]] = {}
    steps: dict[str, dict[str, Any]] = {}
    nodes: list[str] = []
    leaves = _leaves(plan.steps, 1)
    shared = _time_shared([step for step, _ in leaves])
    for step, copies in leaves:
        node = step.placement.node if step.placement is not None else ""
        if node and node not in nodes:
            nodes.append(node)
        need = {"num_cpus": _cpus(step), "num_gpus": gpu_count(step), "node": node}
        if uses_actor(step) and step.instance not in shared:
            actor = actors.setdefault(step.instance, {**need, "max_concurrency": 1, "steps": []})
            actor["num_cpus"] = max(actor["num_cpus"], need["num_cpus"])
            actor["num_gpus"] = max(actor["num_gpus"], need["num_gpus"])
            actor["max_concurrency"] = max(actor["max_concurrency"], step.batch, copies)
            actor["steps"].append(step.name)
            steps[step.name] = {"kind": "actor", "instance": step.instance}
        else:
            steps[step.name] = {"kind": "task", **need, "copies": copies, "step": step}
    index = {node: i for i, node in enumerate(nodes)}
    gpus = _placed_gpus([step for step, _ in leaves])
    bundles = [_bundle(node, actors, steps, gpus.get(node, set())) for node in nodes]
    for facts in [*actors.values(), *steps.values()]:
        if "node" in facts:
            facts["bundle"] = index.get(facts.pop("node"))
        facts.pop("copies", None)
        facts.pop("step", None)
    return {
        "steps": steps,
        "actors": actors,
        "bundles": bundles,
        "local": _local(bundles, actors, steps),
    }


def uses_actor(step: Step) -> bool:
    """Ops that load a model run on the actor of their model instance."""
    return isinstance(step.knobs.get("model"), str) and bool(step.instance)


def _owner(step: Step) -> str:
    return step.instance if uses_actor(step) else f"step {step.name}"


def _placed_gpus(steps: list[Step]) -> dict[str, set[tuple[str, int]]]:
    """Per node, the GPUs (type, id) the placement gave its ops."""
    out: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for step in steps:
        placement = step.placement
        if placement is not None and placement.node:
            out[placement.node] |= {(placement.gpu_type, i) for i in placement.gpu_ids}
    return out


def _time_shared(steps: list[Step]) -> set[str]:
    """Model instances whose GPUs the placement also gives to another instance or op
    (one after the other): an actor would hold them for the whole run, so their
    ops run as tasks instead, which hold the GPUs only while they run."""
    owners: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for step in steps:
        placement = step.placement
        if placement is not None and placement.node:
            for i in placement.gpu_ids:
                owners[(placement.node, placement.gpu_type, i)].add(_owner(step))
    return {owner for held in owners.values() if len(held) > 1 for owner in held}


def _cpus(step: Step) -> int:
    device = step.placement.device if step.placement is not None else "cpu"
    return cpu_count(step) if device == "cpu" else 0


def _leaves(steps: tuple[Step, ...], copies: int) -> list[tuple[Step, int]]:
    """Every leaf step with how many of its copies may run at once."""
    out: list[tuple[Step, int]] = []
    for step in steps:
        if step.is_flow:
            inner = copies * max(1, step.count) if step.op == "flow.parallel" else copies
            out.extend(_leaves(step.body, inner))
        else:
            out.append((step, copies))
    return out


def _bundle(
    node: str, actors: dict[str, Any], steps: dict[str, Any], placed: set[tuple[str, int]]
) -> dict[str, Any]:
    here = [a for a in actors.values() if a["node"] == node]
    tasks = [s for s in steps.values() if s.get("kind") == "task" and s["node"] == node]
    cpus = sum(a["num_cpus"] for a in here) + _peak(tasks, "num_cpus")
    # The node's GPUs the placement uses, when it named them; else what its ops hold.
    gpus = len(placed) or sum(a["num_gpus"] for a in here) + _peak(tasks, "num_gpus")
    resources: dict[str, float] = {"CPU": max(cpus, 1), NODE_RESOURCE.format(node): NODE_SLIVER}
    if gpus:
        resources["GPU"] = gpus
    return {"node": node, "resources": resources}


def _peak(tasks: list[dict[str, Any]], key: str) -> int:
    """The most of `key` the tasks hold at one moment of the planned schedule: from
    each step's planned start for its predicted latency (unknown: to the end)."""
    events: list[tuple[float, int]] = []
    for task in tasks:
        step: Step = task["step"]
        amount = task[key] * task["copies"]
        if not amount:
            continue
        start = step.placement.start if step.placement is not None else 0.0
        latency = step.predicted.get("latency_s")
        end = start + latency if latency is not None and latency > 0 else math.inf
        events += [(start, amount), (end, -amount)]
    held = peak = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts
        held += change
        peak = max(peak, held)
    return peak


def _local(
    bundles: list[dict[str, Any]], actors: dict[str, Any], steps: dict[str, Any]
) -> dict[str, Any]:
    """What `ray.init` declares for a local Ray that runs this plan alone."""
    cpus = sum(b["resources"]["CPU"] for b in bundles)
    gpus = sum(b["resources"].get("GPU", 0) for b in bundles)
    loose_actors = [a for a in actors.values() if a["bundle"] is None]
    loose_tasks = [s for s in steps.values() if s["kind"] == "task" and s["bundle"] is None]
    cpus += sum(a["num_cpus"] for a in loose_actors)
    gpus += sum(a["num_gpus"] for a in loose_actors)
    per_task: dict[str, int] = defaultdict(int)
    for task in loose_tasks:
        for key in ("num_cpus", "num_gpus"):
            per_task[key] = max(per_task[key], task[key])
    return {
        # At least two CPUs: a worker for the ops, one for Ray's own work; more
        # when the plan's ops need them (Ray's CPUs are logical counts).
        "num_cpus": max(2, cpus + per_task["num_cpus"]),
        "num_gpus": gpus + per_task["num_gpus"],
        "resources": {NODE_RESOURCE.format(b["node"]): 1.0 for b in bundles},
    }
