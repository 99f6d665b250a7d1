"""The greedy placement: list scheduling, a repair, then local search. Milliseconds.

1. Each job starts in its best mode for the objective alone (fewest GPUs, then
   least energy; least energy; least cost; shortest), and the serial schedule
   generation (sgs.py) places the jobs, the longest path ahead first.
2. Repair, while a bound is missed: the single mode change that meets the
   bounds at the least cost to the objective, else the one that removes the
   most of the miss per unit of objective it adds (when only latency is
   missed, only jobs on the critical path are shortened).
3. Local search: single mode changes, a lower cap on the GPUs a node's jobs
   use at once (trading time for GPUs held), and node moves, each kept when
   the bounds still hold and the objective (then the tie-break) improves.

When the first start misses a bound, its repair gets a quarter of the budget
and the search also descends from every job in its fastest mode; the better
result is kept. The search stops after `max_evals` schedules (so the result
does not depend on the machine's speed) or, as a safety net, `budget_s`
seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from murakkab.placement.problem import Problem, fits
from murakkab.placement.schedule import Metrics, Schedule, key, meets, metrics
from murakkab.placement.sgs import serial, topological


@dataclass
class _State:
    modes: dict[str, int]
    caps: dict[tuple[str, str], int] = field(default_factory=dict)
    prefer: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    schedule: Schedule | None  # None: no placement found
    metrics: Metrics | None
    feasible: bool  # meets the bounds
    evaluations: int


class _Search:
    def __init__(self, problem: Problem, max_evals: int, budget_s: float):
        self.problem = problem
        self.max_evals = max_evals
        self.cap = max_evals  # evaluations allowed so far (a phase may get a share)
        self.cursor = 0  # the job local search looks at first
        self.deadline = time.perf_counter() + budget_s
        self.evals = 0
        self.usable = {
            job.name: [k for k, m in enumerate(job.modes) if any(fits(m, n) for n in problem.nodes)]
            or ([0] if job.modes and job.modes[0].holds_nothing else [])
            for job in problem.jobs
        }

    @property
    def spent(self) -> bool:
        limit = min(self.cap, self.max_evals)
        return self.evals >= limit or time.perf_counter() > self.deadline

    def evaluate(self, state: _State) -> tuple[Schedule, Metrics] | None:
        self.evals += 1
        durations = {j.name: j.modes[state.modes[j.name]].duration for j in self.problem.jobs}
        order = topological(self.problem, durations)
        found = serial(self.problem, state.modes, order, caps=state.caps, prefer=state.prefer)
        return None if found is None else (found, metrics(self.problem, found))

    def violation(self, m: Metrics) -> float:
        p = self.problem
        over = 0.0
        for bound, value in ((p.latency, m.makespan), (p.energy, m.energy), (p.cost, m.cost)):
            if bound is not None and value > bound:
                over += (value - bound) / max(bound, 1e-9)
        if p.max_gpus is not None and m.gpus > p.max_gpus:
            over += m.gpus - p.max_gpus
        if p.min_gpus is not None and m.gpus < p.min_gpus:
            over += p.min_gpus - m.gpus
        return over

    def only_late(self, m: Metrics) -> bool:
        """Whether the latency bound is the only one missed (repairs then shorten jobs)."""
        return self.violation(replace(m, makespan=0.0)) == 0.0

    def rank(self, m: Metrics) -> tuple[float, float, float]:
        return (self.violation(m) if not meets(self.problem, m) else 0.0, *key(self.problem, m))

    def initial(self) -> _State:
        objective = self.problem.objective

        def preference(job_modes: list[int], name: str) -> int:
            modes = self.problem.job(name).modes

            def score(k: int) -> tuple[float, ...]:
                m = modes[k]
                first = (m.gpus,) if self.problem.max_gpus is not None else ()
                own = {
                    "gpus": (m.gpus, m.energy),
                    "energy": (m.energy,),
                    "cost": (m.cost,),
                    "latency": (m.duration,),
                }[objective]
                return first + own + (k,)

            return min(job_modes, key=score)

        return _State({n: preference(ks, n) for n, ks in self.usable.items()})

    def fastest(self) -> _State:
        """Every job in its shortest mode (then fewest GPUs): the second start."""

        def quickest(name: str) -> int:
            modes = self.problem.job(name).modes
            return min(self.usable[name], key=lambda k: (modes[k].duration, modes[k].gpus, k))

        return _State({n: quickest(n) for n in self.usable})

    def critical(self, schedule: Schedule, m: Metrics) -> set[str]:
        """Jobs on a longest dependency path of the schedule (those a shorter mode
        could make the plan end sooner)."""
        children: dict[str, list[str]] = {j.name: [] for j in self.problem.jobs}
        for job in self.problem.jobs:
            for before in set(job.after):
                children[before].append(job.name)
        tail: dict[str, float] = {}
        out = set()
        for job in reversed(self.problem.jobs):
            placed = schedule.jobs[job.name]
            duration = job.modes[placed.mode].duration
            tail[job.name] = duration + max((tail[c] for c in children[job.name]), default=0.0)
            if placed.start + tail[job.name] >= m.makespan - 1e-6:
                out.add(job.name)
        return out


def greedy(problem: Problem, max_evals: int | None = None, budget_s: float = 10.0) -> Result:
    """`max_evals` defaults to 40000 / jobs, at most 4000: a few milliseconds for
    the ops of a workflow, about a second at 200 ops."""
    if max_evals is None:
        max_evals = min(4000, 40_000 // max(1, len(problem.jobs)))
    search = _Search(problem, max_evals, budget_s)
    if any(not ks for ks in search.usable.values()):
        return Result(None, None, False, 0)
    start = search.initial()
    found = search.evaluate(start)
    if found is not None and meets(problem, found[1]):
        best = _descend(search, (start, *found), repair=False)
        return Result(best[1], best[2], True, search.evals)
    # Missed bounds: repair the objective's favourite (with a quarter of the
    # budget), and descend from every job at its fastest; keep the better.
    results: list[Best] = []
    if found is not None:
        search.cap = search.evals + max_evals // 4
        results.append(_descend(search, (start, *found), repair=True))
        search.cap = max_evals
        if meets(problem, results[-1][2]):
            results[-1] = _descend(search, results[-1], repair=False)
    fastest = search.fastest()
    quick = search.evaluate(fastest)
    if quick is not None:
        repaired = _descend(search, (fastest, *quick), repair=True)
        results.append(
            _descend(search, repaired, repair=False) if meets(problem, repaired[2]) else repaired
        )
    if not results:
        return Result(None, None, False, search.evals)
    best = min(results, key=lambda b: search.rank(b[2]))
    return Result(best[1], best[2], meets(problem, best[2]), search.evals)


Best = tuple[_State, Schedule, Metrics]


def _descend(search: _Search, best: Best, repair: bool) -> Best:
    """Repair: while the bounds are missed, the move that meets them at the least
    cost to the objective, else the one that buys the most of the miss per unit
    of objective. Otherwise the first move that improves, until none does."""
    improved = True
    while improved and not search.spent:
        if repair and meets(search.problem, best[2]):
            return best
        improved = False
        chosen: Best | None = None
        for state in _moves(search, best, repair):
            if search.spent:
                break
            found = search.evaluate(state)
            if found is None:
                continue
            candidate = (state, *found)
            if repair:
                if _worth(search, best, candidate) > _worth(search, best, chosen):
                    chosen = candidate
                continue
            if meets(search.problem, found[1]) and search.rank(found[1]) < search.rank(best[2]):
                chosen = candidate
                break
        if chosen is not None:
            best, improved = chosen, True
    return best


def _worth(search: _Search, best: Best, candidate: Best | None) -> tuple[float, float]:
    """How good a repair move is: meeting the bounds first (the better objective the
    better), then the miss it removes per unit of objective it adds."""
    if candidate is None:
        return (-1.0, float("-inf"))
    before, after = search.violation(best[2]), search.violation(candidate[2])
    cost = key(search.problem, candidate[2])[0] - key(search.problem, best[2])[0]
    if after == 0:
        return (1.0, -key(search.problem, candidate[2])[0])
    if after >= before:
        return (-1.0, float("-inf"))
    return (0.0, (before - after) / max(cost, 1e-9 * max(1.0, abs(before))))


def _moves(search: _Search, best: Best, repair: bool) -> Iterator[_State]:
    """Candidate states around the best: mode changes, GPU caps, node moves."""
    problem = search.problem
    state, schedule, m = best
    jobs = problem.jobs
    shorten = repair and search.only_late(m)
    critical = search.critical(schedule, m) if shorten else set()
    # Local search resumes after the job it last moved: a pass costs one
    # evaluation per move, not one per move and job before it.
    first = 0 if repair else search.cursor % max(1, len(jobs))
    for index in [*range(first, len(jobs)), *range(first)]:
        job = jobs[index]
        if shorten and job.name not in critical:
            continue
        current = job.modes[state.modes[job.name]]
        for k in search.usable[job.name]:
            if k == state.modes[job.name]:
                continue
            if shorten and job.modes[k].duration >= current.duration:
                continue
            search.cursor = index
            yield _State({**state.modes, job.name: k}, dict(state.caps), dict(state.prefer))
    if repair:
        if state.caps:
            yield _State(dict(state.modes), {}, dict(state.prefer))
        return
    for where, peak in sorted(_gpu_peaks(problem, schedule).items()):
        if peak > 0:
            yield _State(dict(state.modes), {**state.caps, where: peak - 1}, dict(state.prefer))
    if len(problem.nodes) > 1:
        for job in jobs:
            placed = schedule.jobs[job.name]
            if job.modes[placed.mode].holds_nothing:
                continue
            for node in problem.nodes:
                if node.name != placed.node and fits(job.modes[placed.mode], node):
                    prefer = {**state.prefer, job.name: node.name}
                    yield _State(dict(state.modes), dict(state.caps), prefer)


def _gpu_peaks(problem: Problem, schedule: Schedule) -> dict[tuple[str, str], int]:
    """Distinct GPUs jobs (not instances) use per node and type."""
    used: dict[tuple[str, str], set[int]] = {}
    for job in problem.jobs:
        placed = schedule.jobs[job.name]
        mode = job.modes[placed.mode]
        if mode.gpus:
            used.setdefault((placed.node, mode.gpu_type), set()).update(placed.gpu_ids)
    return {where: len(ids) for where, ids in used.items()}


def polish(problem: Problem, schedule: Schedule, max_evals: int = 300) -> Schedule:
    """Local search from a solver's schedule: it settles ties the solver left open
    (the same objective with fewer GPUs, say) without making anything worse."""
    search = _Search(problem, max_evals, budget_s=1.0)
    state = _State({name: placed.mode for name, placed in schedule.jobs.items()})
    found = search.evaluate(state)
    if found is None or not meets(problem, found[1]):
        return schedule
    if key(problem, found[1]) > key(problem, metrics(problem, schedule)):
        return schedule
    best = _descend(search, (state, *found), repair=False)
    return best[1]
