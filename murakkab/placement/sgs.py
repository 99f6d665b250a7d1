"""Serial schedule generation: jobs one by one, each at the earliest time it fits.

Given a mode per job and an order (a topological one), each job starts at the
earliest time its inputs are ready and a node has room for it over its whole
duration (resource profiles: step functions of cores and GPUs per type in
use). `caps` lowers the GPUs jobs may use at once on a node, which is how the
greedy trades time for fewer GPUs held; `nodes` fixes the nodes (the
left-shift of a solver's schedule). Used by greedy.py and by decode.py.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from murakkab.placement.problem import Instance, Mode, NodeSpec, Problem, fits, instance_fits
from murakkab.placement.schedule import EPS, Placed, Schedule, assign_gpu_ids

Caps = Mapping[tuple[str, str], int]  # (node, GPU type) -> GPUs jobs may use at once


class Profile:
    """Resources in use on one node over time: breakpoints and the usage after each."""

    def __init__(self, dims: Sequence[str]):
        self.dims = {d: i for i, d in enumerate(dims)}  # "cores", then GPU types
        self.times: list[float] = [0.0]
        self.usage: list[list[int]] = [[0] * len(dims)]

    def vector(self, mode: Mode) -> list[int]:
        out = [0] * len(self.dims)
        if mode.gpus:
            out[self.dims[mode.gpu_type]] = mode.gpus
        else:
            out[self.dims["cores"]] = mode.cores
        return out

    def earliest(self, ready: float, duration: float, need: list[int], room: list[int]) -> float:
        """The earliest start >= ready at which `need` fits within `room` throughout."""
        start = ready
        while True:
            blocked = self._blocked(start, duration, need, room)
            if blocked is None:
                return start
            start = blocked

    def _blocked(
        self, start: float, duration: float, need: list[int], room: list[int]
    ) -> float | None:
        """None if it fits from `start`; else the next breakpoint worth trying."""
        i = max(0, bisect.bisect_right(self.times, start + EPS) - 1)
        end = start + duration
        first = True
        while i < len(self.times) and (first or self.times[i] < end - EPS):
            first = False
            if any(u + n > r for u, n, r in zip(self.usage[i], need, room) if n):
                return self.times[i + 1] if i + 1 < len(self.times) else float("inf")
            i += 1
        return None

    def add(self, start: float, end: float, need: list[int]) -> None:
        if end <= start:
            return
        a, b = self._split(start), self._split(end)
        for i in range(a, b):
            self.usage[i] = [u + n for u, n in zip(self.usage[i], need)]

    def _split(self, at: float) -> int:
        i = bisect.bisect_left(self.times, at - EPS)
        if i < len(self.times) and abs(self.times[i] - at) <= EPS:
            return i
        self.times.insert(i, at)
        self.usage.insert(i, list(self.usage[i - 1]))
        return i

    def peak(self, dim: str) -> int:
        k = self.dims[dim]
        return max((u[k] for u in self.usage), default=0)


def place_instances(
    problem: Problem, prefer: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """Each instance on a node with room, the largest first; None when one has none."""
    free = {(n.name, t): c for n in problem.nodes for t, c in n.gpus}
    out: dict[str, str] = {}
    for instance in sorted(problem.instances, key=lambda i: (-i.gpus, i.key)):
        nodes = _ordered(problem.nodes, (prefer or {}).get(instance.key))
        node = next((n for n in nodes if _room(instance, n, free)), None)
        if node is None:
            return None
        free[(node.name, instance.gpu_type)] -= instance.gpus
        out[instance.key] = node.name
    return out


def _room(instance: Instance, node: NodeSpec, free: dict[tuple[str, str], int]) -> bool:
    return instance_fits(instance, node) and free.get((node.name, instance.gpu_type), 0) >= (
        instance.gpus
    )


def _ordered(nodes: Sequence[NodeSpec], first: str | None) -> list[NodeSpec]:
    return sorted(nodes, key=lambda n: n.name != first)


def serial(
    problem: Problem,
    modes: Mapping[str, int],
    order: Sequence[str],
    *,
    caps: Caps | None = None,
    nodes: Mapping[str, str] | None = None,
    prefer: Mapping[str, str] | None = None,
    instances: Mapping[str, str] | None = None,
) -> Schedule | None:
    """A schedule with these modes, jobs taken in `order`; None when a job fits nowhere."""
    at = dict(instances) if instances is not None else place_instances(problem, prefer)
    if at is None:
        return None
    reserved: dict[tuple[str, str], int] = {}
    for instance in problem.instances:
        where = (at[instance.key], instance.gpu_type)
        reserved[where] = reserved.get(where, 0) + instance.gpus
    profiles = {n.name: Profile(["cores", *(t for t, _ in n.gpus)]) for n in problem.nodes}
    room = {
        n.name: [n.cores]
        + [
            min(c - reserved.get((n.name, t), 0), (caps or {}).get((n.name, t), c))
            for t, c in n.gpus
        ]
        for n in problem.nodes
    }
    ends: dict[str, float] = {}
    placed: dict[str, Placed] = {}
    group_node: dict[str, str] = {}
    for name in order:
        job = problem.job(name)
        mode = job.modes[modes[name]]
        ready = max((ends[b] for b in job.after), default=0.0)
        if mode.holds_nothing:
            node = at.get(job.instance, "") if job.instance else ""
            placed[name] = Placed(modes[name], node, ready)
            ends[name] = ready + mode.duration
            continue
        fixed = (nodes or {}).get(name) or group_node.get(job.group)
        best: tuple[float, bool, int, str] | None = None
        for index, node_spec in enumerate(problem.nodes):
            if fixed is not None and node_spec.name != fixed or not fits(mode, node_spec):
                continue
            profile = profiles[node_spec.name]
            need = profile.vector(mode)
            if any(n > r for n, r in zip(need, room[node_spec.name])):
                continue
            start = profile.earliest(ready, mode.duration, need, room[node_spec.name])
            option = (start, node_spec.name != (prefer or {}).get(name), index, node_spec.name)
            if best is None or option < best:
                best = option
        if best is None:
            return None
        start, _, _, node = best
        profiles[node].add(start, start + mode.duration, profiles[node].vector(mode))
        placed[name] = Placed(modes[name], node, start)
        ends[name] = start + mode.duration
        if job.group:
            group_node.setdefault(job.group, node)
    return assign_gpu_ids(problem, Schedule(placed, {k: (n, ()) for k, n in at.items()}))


def topological(problem: Problem, durations: Mapping[str, float]) -> list[str]:
    """A dependency order, the job with the longest path still ahead first."""
    tail: dict[str, float] = {}
    children: dict[str, list[str]] = {j.name: [] for j in problem.jobs}
    for job in problem.jobs:
        for before in sorted(set(job.after)):
            children[before].append(job.name)
    for job in reversed(problem.jobs):
        below = max((tail[c] for c in children[job.name]), default=0.0)
        tail[job.name] = durations[job.name] + below
    waiting = {j.name: len(set(j.after)) for j in problem.jobs}
    index = problem.index
    ready = [j.name for j in problem.jobs if waiting[j.name] == 0]
    out: list[str] = []
    while ready:
        ready.sort(key=lambda n: (-tail[n], index[n]))
        name = ready.pop(0)
        out.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return out
