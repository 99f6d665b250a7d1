"""Lower bounds on the objective, so a placement's gap can be stated.

- energy, cost: every job in its cheapest mode that fits some node (jobs do
  not interact in energy or cost, only in time).
- latency: the longest dependency path, every job in its fastest mode.
- gpus: the served instances' GPUs, plus the most GPUs any job needs in all of
  its modes; at least one more GPU when even the fastest GPU-free modes miss
  the latency bound on the dependency path alone.
"""

from __future__ import annotations

from collections.abc import Callable

from murakkab.placement.problem import Problem, fits


def lower_bound(problem: Problem) -> float:
    usable = {
        job.name: [m for m in job.modes if any(fits(m, n) for n in problem.nodes)]
        or list(job.modes)
        for job in problem.jobs
    }
    if problem.objective == "energy":
        return sum(min(m.energy for m in modes) for modes in usable.values() if modes)
    if problem.objective == "cost":
        return sum(min(m.cost for m in modes) for modes in usable.values() if modes)
    if problem.objective == "latency":
        return longest_path(problem, lambda name: min(m.duration for m in usable[name]))
    return float(gpus_lower_bound(problem))


def gpus_lower_bound(problem: Problem) -> int:
    """GPUs any placement holds (module docstring), whatever the objective."""
    usable = {
        job.name: [m for m in job.modes if any(fits(m, n) for n in problem.nodes)]
        or list(job.modes)
        for job in problem.jobs
    }
    jobs_gpus = max((min(m.gpus for m in modes) for modes in usable.values() if modes), default=0)
    extra = 0
    if problem.latency is not None and jobs_gpus == 0:

        def gpu_free(name: str) -> float:
            modes = [m for m in usable[name] if not m.gpus] or usable[name]
            return min(m.duration for m in modes)

        if longest_path(problem, gpu_free) > problem.latency + 1e-9:
            extra = 1
    return problem.instance_gpus + max(jobs_gpus, extra)


def longest_path(problem: Problem, duration: Callable[[str], float]) -> float:
    finish: dict[str, float] = {}
    for job in problem.jobs:
        start = max((finish[b] for b in job.after), default=0.0)
        finish[job.name] = start + duration(job.name)
    return max(finish.values(), default=0.0)


def gap(value: float, bound: float) -> float:
    """(value - bound) / value, 0 when the value is 0."""
    if value <= 0:
        return 0.0
    return max(0.0, (value - bound) / value)


def windows(p: Problem, end: float) -> list[tuple[float, float]]:
    """(earliest start, latest end) of each job when every job takes its shortest
    mode: the dependency path before it, and `end` less the path after it."""
    shortest = [min((m.duration for m in job.modes), default=0.0) for job in p.jobs]
    index = p.index
    earliest: list[float] = []
    for job in p.jobs:
        ready = (earliest[index[b]] + shortest[index[b]] for b in job.after)
        earliest.append(max(ready, default=0.0))
    after: list[float] = [0.0] * len(p.jobs)  # the shortest path after j ends
    for j in reversed(range(len(p.jobs))):
        for b in set(p.jobs[j].after):
            i = index[b]
            after[i] = max(after[i], shortest[j] + after[j])
    return [(earliest[j], end - after[j]) for j in range(len(p.jobs))]
