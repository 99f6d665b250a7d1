"""Greedy first, then an exact solver improves or proves it within a time budget.

The greedy placement (greedy.py) is the incumbent. When it already meets the
lower bound (bound.py) it is optimal and no solver runs. Otherwise the exact
backend gets the budget `timeout_ms`, counted so that the result does not
depend on the machine's speed (Z3's resource counter, `Effort`; CP-SAT's
deterministic time), with the wall clock at 3x as a safety net:

- `z3` (default): the formula of encode.py with a fixed seed; each round asks
  for a placement strictly better than the best so far (`objective < best`),
  until Z3 answers unsat (the best is optimal) or runs out of time. Then,
  with time left, the tie-break (energy under `gpus`, GPUs held otherwise) is
  improved the same way with the objective held at its best.
- `cpsat`: OR-Tools CP-SAT on the same model (cpsat.py), when installed.

Status: `optimal` (proved by the solver, or the greedy met the lower bound:
`proof` says which), `improved` (the solver beat the greedy, unproved),
`heuristic` (the greedy kept), or `infeasible` (no placement meets the
bounds; `proof` is empty when the search ran out of budget instead).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from murakkab.placement.bound import gap, gpus_lower_bound, lower_bound
from murakkab.placement.decode import decode
from murakkab.placement.encode import Encoding, encode
from murakkab.placement.greedy import Result as GreedyResult
from murakkab.placement.greedy import greedy, polish
from murakkab.placement.problem import Problem
from murakkab.placement.schedule import Metrics, Schedule, key, meets, metrics, validate

SOLVERS = ("z3", "cpsat")
SEED = 0
RLIMIT_PER_MS = 10_000  # Z3 resource units per ms of budget: measured on placement problems
WALL_FACTOR = 3  # the wall clock stops a search at this many times its budget


@dataclass(frozen=True)
class Outcome:
    schedule: Schedule | None  # None: no placement meets the bounds
    metrics: Metrics | None
    status: str  # optimal | improved | heuristic | infeasible
    solver: str  # who found the schedule: greedy, z3, cpsat
    proof: str  # who proved the status (optimal, infeasible): bound, z3, cpsat; "" none
    value: float | None  # the objective
    bound: float  # a lower bound on it
    gap: float | None  # (value - bound) / value
    seconds: float
    greedy_value: float | None  # the greedy's objective, when it met the bounds
    smt: str | None = None  # the problem in SMT-LIB 2, when asked for

    @property
    def proved(self) -> bool:
        return bool(self.proof)


def solve(
    problem: Problem,
    solver: str = "z3",
    timeout_ms: int = 5000,
    dump: bool = False,
    greedy_evals: int | None = None,
) -> Outcome:
    started = time.perf_counter()
    bound = lower_bound(problem)
    if problem.max_gpus is not None and gpus_lower_bound(problem) > problem.max_gpus:
        return Outcome(None, None, "infeasible", "", "bound", None, bound, None, 0.0, None)
    first = greedy(problem, max_evals=greedy_evals, budget_s=WALL_FACTOR * timeout_ms / 1000)
    incumbent = first.schedule if first.feasible else None
    greedy_value = _primary(problem, first.metrics) if first.feasible else None
    smt = _smt(encode(problem, first.schedule)) if dump else None
    if incumbent is not None and greedy_value is not None and greedy_value <= bound + 1e-9:
        return _outcome(
            problem, incumbent, "optimal", "greedy", "bound", bound, started, first, smt
        )
    found: _Found
    if solver == "cpsat":
        from murakkab.placement.cpsat import solve_cpsat

        result = solve_cpsat(problem, first.schedule, timeout_ms / 1000)
        found = _Found(result.schedule, result.proved, result.bound)
        if result.schedule is None and incumbent is not None:
            # Durations rounded up to milliseconds can make a tight bound infeasible
            # for CP-SAT when it is not: nothing is proved, the incumbent stays.
            found = _Found(None, False, None)
    else:
        found = _z3(problem, first.schedule, incumbent, Effort(timeout_ms))
    if found.bound is not None:
        bound = max(bound, found.bound)
    best = polish(problem, found.schedule) if found.schedule is not None else incumbent
    if best is not None and incumbent is not None and _ahead(problem, incumbent, best):
        best = incumbent  # CP-SAT's rounding can lose to the greedy by a hair
    proof = solver if found.proved else ""
    if best is None:
        return Outcome(
            None, None, "infeasible", "", proof, None, bound, None, _since(started), None, smt
        )
    value = _primary(problem, metrics(problem, best))
    if found.proved:
        status, bound = "optimal", max(bound, value)
    elif value <= bound + 1e-9:
        status, proof = "optimal", "bound"
    elif best is not incumbent and (greedy_value is None or value < greedy_value - 1e-9):
        status = "improved"
    else:
        status = "heuristic"
    who = solver if best is not incumbent else "greedy"
    return _outcome(problem, best, status, who, proof, bound, started, first, smt)


@dataclass(frozen=True)
class _Found:
    schedule: Schedule | None  # a better one than the incumbent, when the solver found it
    proved: bool  # the best (this or the incumbent) is optimal; or, with neither, infeasible
    bound: float | None = None


class Effort:
    """A solver budget that does not depend on the machine's speed: Z3's resource
    counter (`rlimit`), RLIMIT_PER_MS units per millisecond of `timeout_ms`, with a
    wall clock at WALL_FACTOR times the budget as a safety net."""

    def __init__(self, timeout_ms: int):
        self.left = timeout_ms * RLIMIT_PER_MS
        self.deadline = time.perf_counter() + WALL_FACTOR * timeout_ms / 1000

    @property
    def spent(self) -> bool:
        return self.left <= 0 or time.perf_counter() >= self.deadline

    def check(self, solver: z3.Solver) -> z3.CheckSatResult:
        solver.set("rlimit", max(1, int(self.left)))
        solver.set("timeout", max(1, int((self.deadline - time.perf_counter()) * 1000)))
        before = _rlimit(solver)
        answer = solver.check()
        self.left -= max(1, _rlimit(solver) - before)
        return answer


def _rlimit(solver: z3.Solver) -> int:
    stats = solver.statistics()
    for name in stats.keys():
        if name == "rlimit count":
            return int(stats.get_key_value(name))
    return 0


def _z3(
    problem: Problem, hint: Schedule | None, incumbent: Schedule | None, effort: Effort
) -> _Found:
    enc = encode(problem, hint)
    solver = _solver(enc)
    best = incumbent
    objective = problem.objective
    proved, best = _descend(enc, solver, objective, best, effort)
    if proved and best is not None and not effort.spent:
        # The tie-break, with the objective held at its optimum.
        solver.add(enc.objective(objective) <= _value(problem, objective, best))
        _, best = _descend(enc, solver, _tie_break(objective), best, effort)
    return _Found(best if best is not incumbent else None, proved)


def _solver(enc: Encoding) -> z3.Solver:
    z3.set_param("smt.random_seed", SEED)
    solver = z3.SimpleSolver()  # the SMT core: the one that takes initial values
    solver.set("random_seed", SEED)
    for _, formula in enc.constraints:
        solver.add(formula)
    if hasattr(solver, "set_initial_value"):
        for var, value in enc.hints:
            solver.set_initial_value(var, value)
    return solver


def _descend(
    enc: Encoding, solver: z3.Solver, name: str, best: Schedule | None, effort: Effort
) -> tuple[bool, Schedule | None]:
    """Ask for strictly better placements until unsat (proved) or out of effort."""
    problem = enc.problem
    term = enc.objective(name)
    while not effort.spent:
        solver.push()
        if best is not None:
            value = _value(problem, name, best)
            solver.add(term <= value - _step(name, value))
        answer = effort.check(solver)
        model = solver.model() if answer == z3.sat else None
        solver.pop()
        if answer == z3.unsat:
            return True, best
        if model is None:
            return False, best
        found = decode(enc, model)
        if validate(problem, found):
            return False, best  # not expected: the decoded schedule fails its check
        if best is not None and not _better(problem, name, found, best):
            return False, best
        best = found
    return False, best


def _ahead(problem: Problem, a: Schedule, b: Schedule) -> bool:
    return key(problem, metrics(problem, a)) < key(problem, metrics(problem, b))


def _better(problem: Problem, name: str, a: Schedule, b: Schedule) -> bool:
    theirs = _value(problem, name, b)
    return _value(problem, name, a) < theirs - _step(name, theirs) / 2


def _step(name: str, value: float) -> float:
    """How much better counts as better: a GPU; else a millionth (and at least 1e-9)."""
    return 1.0 if name == "gpus" else max(1e-9, abs(value) * 1e-6)


def _tie_break(objective: str) -> str:
    return "energy" if objective == "gpus" else "gpus"


def _value(problem: Problem, name: str, schedule: Schedule) -> float:
    m = metrics(problem, schedule)
    return {"gpus": m.gpus, "energy": m.energy, "cost": m.cost, "latency": m.makespan}[name]


def _primary(problem: Problem, m: Metrics | None) -> float:
    assert m is not None
    return key(problem, m)[0]


def _outcome(
    problem: Problem,
    schedule: Schedule,
    status: str,
    solver: str,
    proof: str,
    bound: float,
    started: float,
    first: GreedyResult,
    smt: str | None,
) -> Outcome:
    m = metrics(problem, schedule)
    value = _primary(problem, m)
    assert meets(problem, m)
    greedy_value = _primary(problem, first.metrics) if first.feasible else None
    return Outcome(
        schedule,
        m,
        status,
        solver,
        proof,
        value,
        bound,
        gap(value, bound),
        _since(started),
        greedy_value,
        smt,
    )


def _since(started: float) -> float:
    return time.perf_counter() - started


def _smt(enc: Encoding) -> str:
    """The problem as SMT-LIB 2, what `--dump-smt` writes: the constraints, and the
    objective as `placement_objective` (minimize it)."""
    solver = z3.Solver()
    for _, formula in enc.constraints:
        solver.add(formula)
    name = enc.problem.objective
    term = enc.objective(name)
    sort = "Int" if term.is_int() else "Real"
    header = (
        f"; murakkab placement: {len(enc.problem.jobs)} jobs, {len(enc.problem.nodes)} nodes;"
        f" objective: minimize {name} (placement_objective)\n"
    )
    objective = f"(define-fun placement_objective () {sort}\n  {term.sexpr()})\n"
    return header + solver.sexpr() + objective + "(check-sat)\n"
