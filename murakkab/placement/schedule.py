"""A solution of a placement problem: what it costs, whether it is valid, its GPU ids.

Every solver (greedy, Z3, CP-SAT) produces modes, nodes and start times; the
GPU ids are given here, the same way for all of them: a served instance takes
the lowest free ids of its node, then jobs in start order take the lowest ids
free at their start. Taking the lowest free ids, a job never gets an id above
the number of GPUs busy at its start, so the distinct GPUs a node's jobs use
equal their peak concurrent use: counting GPUs per type, as the encodings do,
loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from murakkab.placement.problem import Problem, fits

EPS = 1e-6  # seconds: start and end times compared with this slack


@dataclass(frozen=True)
class Placed:
    mode: int  # index into the job's modes
    node: str  # "" when it holds nothing and calls no instance (hosted)
    start: float
    gpu_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Schedule:
    jobs: dict[str, Placed]
    instances: dict[str, tuple[str, tuple[int, ...]]]  # key -> (node, GPU ids)


@dataclass(frozen=True)
class Metrics:
    makespan: float
    energy: float
    cost: float
    gpus: int  # distinct GPUs held


def metrics(problem: Problem, schedule: Schedule) -> Metrics:
    makespan = energy = cost = 0.0
    held: set[tuple[str, str, int]] = set()
    for job in problem.jobs:
        placed = schedule.jobs[job.name]
        mode = job.modes[placed.mode]
        makespan = max(makespan, placed.start + mode.duration)
        energy += mode.energy
        cost += mode.cost
        held |= {(placed.node, mode.gpu_type, g) for g in placed.gpu_ids if mode.gpus}
    for instance in problem.instances:
        node, ids = schedule.instances[instance.key]
        held |= {(node, instance.gpu_type, g) for g in ids}
    return Metrics(makespan, energy, cost, len(held))


def primary(objective: str, m: Metrics) -> float:
    return {"gpus": m.gpus, "energy": m.energy, "cost": m.cost, "latency": m.makespan}[objective]


def secondary(objective: str, m: Metrics) -> float:
    """Ties on the objective are broken by energy (under `gpus`), else by GPUs held."""
    return m.energy if objective == "gpus" else m.gpus


def key(problem: Problem, m: Metrics) -> tuple[float, float]:
    return (primary(problem.objective, m), secondary(problem.objective, m))


def meets(problem: Problem, m: Metrics) -> bool:
    if problem.latency is not None:
        limit = problem.latency
        if m.makespan > limit + EPS or (problem.strict and m.makespan >= limit):
            return False
    if problem.energy is not None and m.energy > problem.energy * (1 + 1e-9):
        return False
    if problem.max_gpus is not None and m.gpus > problem.max_gpus:
        return False
    if problem.min_gpus is not None and m.gpus < problem.min_gpus:
        return False
    return problem.cost is None or m.cost <= problem.cost * (1 + 1e-9)


def assign_gpu_ids(problem: Problem, schedule: Schedule) -> Schedule:
    """The same schedule with GPU ids given (module docstring)."""
    taken: dict[tuple[str, str], set[int]] = {}
    instances: dict[str, tuple[str, tuple[int, ...]]] = {}
    for instance in problem.instances:
        node = schedule.instances[instance.key][0]
        used = taken.setdefault((node, instance.gpu_type), set())
        ids = _lowest(used, instance.gpus)
        used |= set(ids)
        instances[instance.key] = (node, ids)
    jobs = dict(schedule.jobs)
    busy: dict[tuple[str, str], list[tuple[float, tuple[int, ...]]]] = {}
    group_ids: dict[tuple[str, str, str], tuple[int, ...]] = {}
    order = sorted(
        (j for j in problem.jobs if j.modes[jobs[j.name].mode].gpus),
        key=lambda j: (jobs[j.name].start, problem.index[j.name]),
    )
    for job in order:
        placed = jobs[job.name]
        mode = job.modes[placed.mode]
        where = (placed.node, mode.gpu_type)
        running = [(end, ids) for end, ids in busy.get(where, []) if end > placed.start + EPS]
        free_from = set(taken.get(where, set())) | {g for _, ids in running for g in ids}
        wanted = group_ids.get((job.group, *where)) if job.group else None
        if wanted is None or len(wanted) != mode.gpus or free_from & set(wanted):
            wanted = _lowest(free_from, mode.gpus)
        busy[where] = running + [(placed.start + mode.duration, wanted)]
        if job.group:
            group_ids[(job.group, *where)] = wanted
        jobs[job.name] = replace(placed, gpu_ids=wanted)
    for job in problem.jobs:
        if job.instance:
            node, ids = instances[job.instance]
            jobs[job.name] = replace(jobs[job.name], node=node, gpu_ids=ids)
    return Schedule(jobs, instances)


def _lowest(used: set[int], count: int) -> tuple[int, ...]:
    out: list[int] = []
    candidate = 0
    while len(out) < count:
        if candidate not in used:
            out.append(candidate)
        candidate += 1
    return tuple(out)


def validate(problem: Problem, schedule: Schedule) -> list[str]:
    """What is wrong with a schedule (empty: valid); the tests' and decoders' check."""
    problems: list[str] = []
    nodes = {n.name: n for n in problem.nodes}
    ends = {}
    for job in problem.jobs:
        placed = schedule.jobs.get(job.name)
        if placed is None:
            problems.append(f"{job.name}: not placed")
            continue
        mode = job.modes[placed.mode]
        ends[job.name] = placed.start + mode.duration
        if placed.start < -EPS:
            problems.append(f"{job.name}: starts before 0")
        if not mode.holds_nothing and (
            placed.node not in nodes or not fits(mode, nodes[placed.node])
        ):
            problems.append(f"{job.name}: {mode.label} does not fit node '{placed.node}'")
        if mode.gpus and (
            len(set(placed.gpu_ids)) != mode.gpus
            or any(g >= nodes[placed.node].gpu_count(mode.gpu_type) for g in placed.gpu_ids)
        ):
            problems.append(f"{job.name}: GPU ids {placed.gpu_ids} for {mode.label}")
    if problems:
        return problems
    for job in problem.jobs:
        for before in job.after:
            if schedule.jobs[job.name].start < ends[before] - EPS:
                problems.append(f"{job.name} starts before {before} ends")
    problems += _capacity(problem, schedule, ends)
    problems += _groups(problem, schedule)
    m = metrics(problem, schedule)
    if not meets(problem, m):
        problems.append(f"misses the bounds: latency {m.makespan:.4g} s")
    return problems


def _capacity(problem: Problem, schedule: Schedule, ends: dict[str, float]) -> list[str]:
    problems = []
    nodes = {n.name: n for n in problem.nodes}
    reserved: dict[tuple[str, str, int], str] = {}
    for instance in problem.instances:
        node, ids = schedule.instances[instance.key]
        if not instance.gpus <= nodes[node].gpu_count(instance.gpu_type):
            problems.append(f"instance {instance.key} does not fit node '{node}'")
        for g in ids:
            if (node, instance.gpu_type, g) in reserved:
                problems.append(f"GPU {g} of {node} held by two instances")
            reserved[(node, instance.gpu_type, g)] = instance.key
    users = [j for j in problem.jobs if not j.modes[schedule.jobs[j.name].mode].holds_nothing]
    for job in users:
        placed = schedule.jobs[job.name]
        mode = job.modes[placed.mode]
        at = placed.start
        running = [
            other
            for other in users
            if schedule.jobs[other.name].node == placed.node
            and schedule.jobs[other.name].start <= at + EPS
            and ends[other.name] > at + EPS
        ]
        cores = sum(o.modes[schedule.jobs[o.name].mode].cores for o in running)
        if cores > nodes[placed.node].cores:
            problems.append(f"node '{placed.node}' runs {cores} cores at {at:.4g} s")
        for g in placed.gpu_ids if mode.gpus else ():
            if (placed.node, mode.gpu_type, g) in reserved:
                problems.append(f"{job.name}: GPU {g} of {placed.node} is an instance's")
            sharing = [
                o.name
                for o in running
                if o is not job
                and o.modes[schedule.jobs[o.name].mode].gpu_type == mode.gpu_type
                and g in schedule.jobs[o.name].gpu_ids
            ]
            if sharing:
                problems.append(f"{job.name}: GPU {g} of {placed.node} shared with {sharing}")
    return problems


def _groups(problem: Problem, schedule: Schedule) -> list[str]:
    problems = []
    firsts: dict[str, str] = {}
    for job in problem.jobs:
        if not job.group:
            continue
        first = firsts.setdefault(job.group, job.name)
        a, b = schedule.jobs[first], schedule.jobs[job.name]
        side_a = problem.job(first).modes[a.mode].gpu_type or "cpu"
        side_b = job.modes[b.mode].gpu_type or "cpu"
        if (a.node, side_a) != (b.node, side_b):
            problems.append(f"fused {first} and {job.name} are apart")
    return problems
