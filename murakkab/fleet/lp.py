"""A mixed-integer linear program as plain data, and the two exact solvers that take it.

The fleet formulation (formulation.py) writes its problem once, as named
variables, sparse rows and a linear objective; `solve` hands the same program to
HiGHS (scipy.optimize.milp, branch and cut) or to Z3's optimizer (SMT with
linear arithmetic). Both are exact: HiGHS is run with a relative gap of 1e-6 and
Z3 proves optimality outright. Which one is faster on the 24 h experiment is
measured by bench/fleet.py; HiGHS is the default (docs/fleet.md gives the numbers).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

Solver = Literal["highs", "z3"]
Status = Literal["optimal", "feasible", "infeasible", "timeout"]
SOLVERS: tuple[Solver, ...] = ("highs", "z3")
# HiGHS stops when the incumbent is within this fraction of the best bound.
MIP_GAP = 1e-6


@dataclass
class Variable:
    name: str
    lower: float = 0.0
    upper: float = math.inf
    integer: bool = False


@dataclass
class Row:
    """lower <= sum(coef * var) <= upper, named for the infeasibility report."""

    name: str
    coefs: dict[int, float]
    lower: float
    upper: float


@dataclass
class LinearProgram:
    """minimise objective . x subject to rows and variable bounds."""

    variables: list[Variable] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)

    def var(self, name: str, upper: float = math.inf, integer: bool = False) -> int:
        """A new variable >= 0 (its index); names are unique."""
        if name in self.index:
            raise ValueError(f"variable {name!r} declared twice")
        self.index[name] = len(self.variables)
        self.variables.append(Variable(name, 0.0, upper, integer))
        return self.index[name]

    def row(
        self,
        name: str,
        coefs: Mapping[int, float],
        lower: float = -math.inf,
        upper: float = math.inf,
    ) -> None:
        kept = {i: c for i, c in coefs.items() if c != 0.0}
        self.rows.append(Row(name, kept, lower, upper))

    def minimise(self, coefs: Mapping[int, float]) -> None:
        for i, c in coefs.items():
            self.objective[i] = self.objective.get(i, 0.0) + c

    @property
    def integers(self) -> int:
        return sum(v.integer for v in self.variables)


@dataclass(frozen=True)
class Solution:
    status: Status
    values: tuple[float, ...]
    objective: float
    solver: Solver
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")

    def __getitem__(self, index: int) -> float:
        return self.values[index]


def solve(
    program: LinearProgram, solver: Solver = "highs", time_limit_s: float = 300.0
) -> Solution:
    started = time.perf_counter()
    if solver == "highs":
        status, values = _highs(program, time_limit_s)
    elif solver == "z3":
        status, values = _z3(program, time_limit_s)
    else:
        raise ValueError(f"unknown solver {solver!r}")
    objective = sum(c * values[i] for i, c in program.objective.items()) if values else math.inf
    seconds = time.perf_counter() - started
    return Solution(status, tuple(values), objective, solver, seconds)


def _highs(program: LinearProgram, time_limit_s: float) -> tuple[Status, list[float]]:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n = len(program.variables)
    c = np.zeros(n)
    for i, coef in program.objective.items():
        c[i] = coef
    rows, cols, data = [], [], []
    for r, row in enumerate(program.rows):
        for i, coef in row.coefs.items():
            rows.append(r)
            cols.append(i)
            data.append(coef)
    constraints = []
    if program.rows:
        matrix = coo_array((data, (rows, cols)), shape=(len(program.rows), n)).tocsr()
        lower = np.array([row.lower for row in program.rows])
        upper = np.array([row.upper for row in program.rows])
        constraints.append(LinearConstraint(matrix, lower, upper))
    bounds = Bounds(
        np.array([v.lower for v in program.variables]),
        np.array([v.upper for v in program.variables]),
    )
    integrality = np.array([1 if v.integer else 0 for v in program.variables])
    options = {"time_limit": time_limit_s, "mip_rel_gap": MIP_GAP, "presolve": True}
    with _quiet_stdout():
        result = milp(
            c, constraints=constraints, integrality=integrality, bounds=bounds, options=options
        )
    # scipy's statuses: 0 optimal, 1 iteration/time limit, 2 infeasible, 3 unbounded, 4 other.
    if result.status == 0:
        return "optimal", [float(v) for v in result.x]
    if result.status == 1:
        if result.x is None:
            return "timeout", []
        return "feasible", [float(v) for v in result.x]
    return "infeasible", []


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS's C++ code sometimes writes a debugging line straight to the process's
    output, which would land inside `mkc fleet plan`'s tables: point descriptors 1
    and 2 elsewhere while it runs (its result comes back as a status, not text)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_streams()  # what HiGHS left in C's buffers goes to /dev/null too
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _flush_c_streams() -> None:
    """Flush C's stdio buffers, where HiGHS's printf output may still wait."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


def _z3(program: LinearProgram, time_limit_s: float) -> tuple[Status, list[float]]:
    """Z3 as an exact oracle: bisect the objective between the LP relaxation's optimum
    and the best model found so far, until the gap is MIP_GAP.

    Z3's own `Optimize` on the mixed program was tried first: on these programs (a
    few hundred reals, dozens of integers) it answered "sat" with models up to 70%
    above the optimum HiGHS finds, which Z3 itself accepts as feasible, so its
    answer is no proof. On the relaxation (reals only) it runs exact simplex.
    """
    import z3

    z3.set_param("smt.random_seed", 0)
    deadline = time.perf_counter() + time_limit_s
    lower = _relaxed_optimum(program, deadline)
    if lower is None:
        return ("timeout" if time.perf_counter() >= deadline else "infeasible"), []
    solver = z3.Solver()
    xs, objective = _encode(program, solver, relax=False)
    best: list[float] | None = None
    upper = math.inf
    while best is None or upper - lower > MIP_GAP * max(1.0, abs(upper)):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        solver.set("timeout", max(1, int(remaining * 1000)))
        bound = None if best is None else lower + (upper - lower) / 2
        solver.push()
        if bound is not None:
            solver.add(objective <= _q(bound))
        answer = solver.check()
        model = solver.model() if answer == z3.sat else None
        solver.pop()
        if answer == z3.unknown:
            break
        if model is not None:
            best = [_float(model.eval(x, model_completion=True)) for x in xs]
            upper = sum(c * best[i] for i, c in program.objective.items())
        elif bound is None:
            return "infeasible", []
        else:
            lower = bound
    if best is None:
        return "timeout", []
    return ("optimal" if upper - lower <= MIP_GAP * max(1.0, abs(upper)) else "feasible"), best


def _encode(program: LinearProgram, solver: Any, relax: bool) -> tuple[list[Any], Any]:
    """Variables, bounds and rows added to a Z3 solver; (variables, objective term)."""
    import z3

    xs = [
        z3.Int(v.name) if v.integer and not relax else z3.Real(v.name)  # names are unique
        for v in program.variables
    ]
    add = solver.add
    for x, v in zip(xs, program.variables, strict=True):
        add(x >= _q(v.lower))
        if math.isfinite(v.upper):
            add(x <= _q(v.upper))
    for row in program.rows:
        total = z3.Sum([_q(coef) * xs[i] for i, coef in row.coefs.items()]) if row.coefs else 0
        if math.isfinite(row.lower):
            add(total >= _q(row.lower))
        if math.isfinite(row.upper):
            add(total <= _q(row.upper))
    objective = z3.Sum([_q(coef) * xs[i] for i, coef in program.objective.items()])
    return xs, objective


def _relaxed_optimum(program: LinearProgram, deadline: float) -> float | None:
    """The LP relaxation's optimum (integers as reals): a lower bound, by Z3's simplex."""
    import z3

    relaxed = z3.Optimize()
    relaxed.set("timeout", max(1, int((deadline - time.perf_counter()) * 1000)))
    xs, objective = _encode(program, relaxed, relax=True)
    relaxed.minimize(objective)
    if relaxed.check() != z3.sat:
        return None
    model = relaxed.model()
    return sum(
        c * _float(model.eval(xs[i], model_completion=True)) for i, c in program.objective.items()
    )


def _q(value: float) -> Any:
    """A float as an exact rational, so Z3 reasons about the same numbers HiGHS sees."""
    import z3

    exact = Fraction(float(value))
    return z3.RealVal(f"{exact.numerator}/{exact.denominator}")


def _float(value: object) -> float:
    import z3

    if isinstance(value, z3.IntNumRef):
        return float(value.as_long())
    assert isinstance(value, z3.RatNumRef)
    return float(value.numerator_as_long()) / float(value.denominator_as_long())
