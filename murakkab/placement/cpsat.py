"""The same placement model for OR-Tools CP-SAT (`placement{solver=cpsat}`; optional).

`pip install murakkab[solvers]`. CP-SAT works on integers, so durations are
rounded *up* to whole milliseconds (a schedule it finds is valid for the real
durations; its optimum and its infeasibility are those of the rounded model),
energy is counted in mJ and cost in nano-dollars. Each (job, mode, node) is an
optional interval on one start variable per job; cores are a cumulative per
node, GPUs a cumulative per node and type whose capacity is the variable
`p_N_T` (the GPUs held there), next to the instances' GPUs. The objective is
lexicographic, as a weighted sum: the objective first, then the tie-break.
One worker and a fixed seed keep it deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from murakkab.placement.problem import Problem
from murakkab.placement.schedule import Placed, Schedule, assign_gpu_ids, meets, metrics
from murakkab.placement.sgs import serial

MS = 1000  # time unit: milliseconds
MJ = 1000  # energy unit: millijoules
NANO = 1e9  # cost unit: nano-dollars


@dataclass(frozen=True)
class CpsatResult:
    schedule: Schedule | None  # the best found that meets the bounds
    proved: bool  # optimal (with a schedule) or infeasible (without)
    bound: float | None  # lower bound on the objective, in its own units


def available() -> bool:
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solve_cpsat(
    problem: Problem, hint: Schedule | None, timeout_s: float, workers: int = 1
) -> CpsatResult:
    try:
        from ortools.sat.python import cp_model
    except ImportError as error:
        raise ValueError("solver=cpsat needs OR-Tools: pip install 'murakkab[solvers]'") from error
    model = cp_model.CpModel()
    built = _Model(problem, model)
    if hint is not None:
        built.hint(hint)
    solver = cp_model.CpSolver()
    # Deterministic time (CP-SAT's own effort measure, about seconds), the wall
    # clock only as a safety net: the result must not depend on the machine.
    solver.parameters.max_deterministic_time = max(0.001, timeout_s)
    solver.parameters.max_time_in_seconds = max(0.001, 3 * timeout_s)
    solver.parameters.random_seed = 0
    solver.parameters.num_workers = workers
    status = solver.Solve(model)
    if status == cp_model.INFEASIBLE:
        return CpsatResult(None, True, None)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatResult(None, False, None)
    schedule = built.decode(solver)
    if schedule is None or not meets(problem, metrics(problem, schedule)):
        return CpsatResult(None, False, None)
    bound = built.primary_bound(solver.BestObjectiveBound())
    return CpsatResult(schedule, status == cp_model.OPTIMAL, bound)


def _ms(seconds: float) -> int:
    return int(math.ceil(seconds * MS - 1e-6))


class _Model:
    def __init__(self, problem: Problem, model: Any):
        self.p = problem
        self.m = model
        p = problem
        horizon = sum(_ms(max(m.duration for m in job.modes)) for job in p.jobs if job.modes) + 1
        self.start = [model.NewIntVar(0, horizon, f"s_{j}") for j in range(len(p.jobs))]
        self.end = [model.NewIntVar(0, horizon, f"e_{j}") for j in range(len(p.jobs))]
        self.x: dict[tuple[int, int, int], Any] = {}
        self.y: dict[tuple[int, int], Any] = {}
        self.peaks: dict[tuple[int, str], Any] = {}
        self.weight = 1
        self._jobs()
        self._instances()
        self._resources()
        self._bounds()
        self._objective()

    def _jobs(self) -> None:
        p, m = self.p, self.m
        index = p.index
        for j, job in enumerate(p.jobs):
            options = []
            length = []
            for k, mode in enumerate(job.modes):
                nodes = [-1] if mode.holds_nothing else range(len(p.nodes))
                for n in nodes:
                    if n >= 0:
                        node = p.nodes[n]
                        has = node.gpu_count(mode.gpu_type) if mode.gpus else node.cores
                        if has <= 0:
                            continue
                    b = m.NewBoolVar(f"x_{j}_{k}_{n}")
                    self.x[(j, k, n)] = b
                    options.append(b)
                    length.append(_ms(mode.duration) * b)
                    if (
                        n >= 0
                        and mode.gpus
                        and mode.memory_gb > p.nodes[n].gpu_memory(mode.gpu_type)
                    ):
                        m.Add(b == 0)
            if not options:
                m.AddBoolOr([])  # no device anywhere: infeasible
                continue
            m.AddExactlyOne(options)
            m.Add(self.end[j] == self.start[j] + sum(length))
            for before in set(job.after):
                m.Add(self.start[j] >= self.end[index[before]])
        groups: dict[str, list[int]] = {}
        for j, job in enumerate(p.jobs):
            if job.group:
                groups.setdefault(job.group, []).append(j)
        for members in groups.values():
            for n in range(len(p.nodes)):
                for side in {(mo.gpu_type or "cpu") for j in members for mo in p.jobs[j].modes}:
                    on = [self._on(j, n, side) for j in members]
                    for other in on[1:]:
                        m.Add(on[0] == other)

    def _on(self, j: int, n: int, side: str) -> Any:
        modes = self.p.jobs[j].modes
        return sum(
            b
            for (jj, k, nn), b in self.x.items()
            if jj == j and nn == n and (modes[k].gpu_type or "cpu") == side
        )

    def _instances(self) -> None:
        p, m = self.p, self.m
        for u, inst in enumerate(p.instances):
            options = []
            for n, node in enumerate(p.nodes):
                if node.gpu_count(inst.gpu_type) <= 0:
                    continue
                b = m.NewBoolVar(f"y_{u}_{n}")
                self.y[(u, n)] = b
                options.append(b)
                if inst.memory_gb > node.gpu_memory(inst.gpu_type):
                    m.Add(b == 0)
            if not options:
                m.AddBoolOr([])
                continue
            m.AddExactlyOne(options)

    def _resources(self) -> None:
        p, m = self.p, self.m
        cpu: dict[int, tuple[list[Any], list[int]]] = {}
        gpu: dict[tuple[int, str], tuple[list[Any], list[int]]] = {}
        for (j, k, n), b in self.x.items():
            mode = p.jobs[j].modes[k]
            if n < 0:
                continue
            interval = m.NewOptionalFixedSizeIntervalVar(
                self.start[j], _ms(mode.duration), b, f"i_{j}_{k}_{n}"
            )
            if mode.gpus:
                slot = gpu.setdefault((n, mode.gpu_type), ([], []))
                slot[0].append(interval)
                slot[1].append(mode.gpus)
            else:
                slot_cpu = cpu.setdefault(n, ([], []))
                slot_cpu[0].append(interval)
                slot_cpu[1].append(mode.cores)
        for n, (intervals, demands) in sorted(cpu.items()):
            m.AddCumulative(intervals, demands, p.nodes[n].cores)
        for n, node in enumerate(p.nodes):
            for kind, count in node.gpus:
                peak = m.NewIntVar(0, count, f"p_{n}_{kind}")
                self.peaks[(n, kind)] = peak
                if (n, kind) in gpu:
                    intervals, demands = gpu[(n, kind)]
                    m.AddCumulative(intervals, demands, peak)
                else:
                    m.Add(peak == 0)
                held = [
                    inst.gpus * self.y[(u, n)]
                    for u, inst in enumerate(p.instances)
                    if inst.gpu_type == kind and (u, n) in self.y
                ]
                m.Add(sum(held) + peak <= count)

    def _bounds(self) -> None:
        p, m = self.p, self.m
        if p.latency is not None:
            limit = p.latency * MS
            cap = math.floor(limit - 1e-6) if p.strict else math.floor(limit + 1e-6)
            for end in self.end:
                m.Add(end <= cap)
        if p.energy is not None:
            m.Add(self._energy() <= int(p.energy * MJ))
        if p.cost is not None:
            m.Add(self._cost() <= int(p.cost * NANO))
        if p.max_gpus is not None:
            m.Add(self._gpus() <= p.max_gpus)
        if p.min_gpus is not None:
            m.Add(self._gpus() >= p.min_gpus)

    def _energy(self) -> Any:
        modes = self.p.jobs
        return sum(round(modes[j].modes[k].energy * MJ) * b for (j, k, _), b in self.x.items())

    def _cost(self) -> Any:
        modes = self.p.jobs
        return sum(round(modes[j].modes[k].cost * NANO) * b for (j, k, _), b in self.x.items())

    def _gpus(self) -> Any:
        return self.p.instance_gpus + sum(self.peaks.values())

    def _objective(self) -> None:
        p, m = self.p, self.m
        total_gpus = sum(count for node in p.nodes for _, count in node.gpus)
        if p.objective == "gpus":
            energy_cap = sum(round(max(mo.energy for mo in job.modes) * MJ) for job in p.jobs)
            self.weight = energy_cap + 1
            m.Minimize(self._gpus() * self.weight + self._energy())
            return
        self.weight = total_gpus + 1
        if p.objective == "energy":
            primary = self._energy()
        elif p.objective == "cost":
            primary = self._cost()
        else:
            makespan = m.NewIntVar(0, 10**12, "m")
            for end in self.end:
                m.Add(makespan >= end)
            primary = makespan
        m.Minimize(primary * self.weight + self._gpus())

    def primary_bound(self, bound: float) -> float:
        value = math.floor(bound / self.weight + 1e-9)
        return {"gpus": 1.0, "energy": 1 / MJ, "cost": 1 / NANO, "latency": 1 / MS}[
            self.p.objective
        ] * value

    def hint(self, schedule: Schedule) -> None:
        names = {node.name: n for n, node in enumerate(self.p.nodes)}
        for j, job in enumerate(self.p.jobs):
            placed = schedule.jobs[job.name]
            n = -1 if job.modes[placed.mode].holds_nothing else names.get(placed.node, -1)
            for (jj, k, nn), b in self.x.items():
                if jj == j:
                    self.m.AddHint(b, k == placed.mode and nn == n)
            self.m.AddHint(self.start[j], _ms(placed.start))
        for u, inst in enumerate(self.p.instances):
            at = names.get(schedule.instances[inst.key][0], -1)
            for (uu, n), b in self.y.items():
                if uu == u:
                    self.m.AddHint(b, n == at)

    def decode(self, solver: Any) -> Schedule | None:
        p = self.p
        jobs: dict[str, Placed] = {}
        for j, job in enumerate(p.jobs):
            chosen = [(k, n) for (jj, k, n), b in self.x.items() if jj == j and solver.Value(b)]
            k, n = chosen[0] if chosen else (0, -1)
            node = p.nodes[n].name if n >= 0 else ""
            jobs[job.name] = Placed(k, node, solver.Value(self.start[j]) / MS)
        instances = {
            inst.key: next(
                (p.nodes[n].name for (uu, n), b in self.y.items() if uu == u and solver.Value(b)),
                p.nodes[0].name if p.nodes else "",
            )
            for u, inst in enumerate(p.instances)
        }
        caps = {(p.nodes[n].name, kind): solver.Value(v) for (n, kind), v in self.peaks.items()}
        order = sorted(jobs, key=lambda name: (jobs[name].start, p.index[name]))
        shifted = serial(
            p,
            {name: placed.mode for name, placed in jobs.items()},
            order,
            caps=caps,
            nodes={name: placed.node for name, placed in jobs.items() if placed.node},
            instances=instances,
        )
        if shifted is not None:
            return shifted
        raw = Schedule(jobs, {key: (node, ()) for key, node in instances.items()})
        return assign_gpu_ids(p, raw)
