"""Placement: greedy vs Z3 vs CP-SAT on seeded random DAGs.

    python bench/placement.py                  # 10/50/200 ops on 4/16/64 devices, ~4 min
    python bench/placement.py --grid           # every ops x devices pair (longer)
    python bench/placement.py --timeout-ms 2000 --objectives gpus

Problems come from murakkab/placement/synthetic.py (seeded): ops that run on
cores or a GPU, CPU-only and GPU-only ops, and calls to served LLM instances,
each reading one or two of the ten ops before it, under a latency bound 1.3x
the shortest possible path. Per case and solver: wall time (the greedy
included in the exact solvers' time, and Z3's time includes building its
formula), the status the pass would record, the objective (GPUs held, or
energy in J), the lower bound and the gap. `timeout-ms` is each exact
solver's budget: Z3's resource count (`Effort`, solve.py) and CP-SAT's
deterministic time, each capped by the wall clock at 3x.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from murakkab.placement.bound import gap, lower_bound  # noqa: E402
from murakkab.placement.cpsat import available  # noqa: E402
from murakkab.placement.greedy import greedy  # noqa: E402
from murakkab.placement.schedule import key, validate  # noqa: E402
from murakkab.placement.solve import solve  # noqa: E402
from murakkab.placement.synthetic import random_problem  # noqa: E402

PAIRS = ((10, 4), (50, 16), (200, 64))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="store_true", help="every ops x devices pair")
    parser.add_argument("--timeout-ms", type=int, default=10_000)
    parser.add_argument("--objectives", default="gpus,energy")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cases = [(n, d) for n, _ in PAIRS for _, d in PAIRS] if args.grid else list(PAIRS)
    solvers = ["z3", "cpsat"] if available() else ["z3"]
    rows = []
    header = f"{'ops':>4} {'dev':>4} {'objective':<7} {'solver':<7} {'time s':>7}"
    header += f" {'status':<10} {'value':>10} {'bound':>10} {'gap':>7}"
    print(header)
    print("-" * len(header))
    for objective in args.objectives.split(","):
        for ops, devices in cases:
            problem = random_problem(ops, devices, seed=args.seed, objective=objective)
            bound = lower_bound(problem)
            started = time.perf_counter()
            first = greedy(problem)
            elapsed = time.perf_counter() - started
            value = key(problem, first.metrics)[0] if first.feasible and first.metrics else None
            status = "feasible" if first.feasible else "none"
            rows.append((ops, devices, objective, "greedy", elapsed, status, value, bound))
            _print(rows[-1])
            for solver in solvers:
                started = time.perf_counter()
                outcome = solve(problem, solver, args.timeout_ms)
                elapsed = time.perf_counter() - started
                if outcome.schedule is not None:
                    assert not validate(problem, outcome.schedule), f"{solver}: invalid schedule"
                row = (
                    ops,
                    devices,
                    objective,
                    solver,
                    elapsed,
                    outcome.status,
                    outcome.value,
                    outcome.bound,
                )
                rows.append(row)
                _print(row)
    print()
    _ratios(rows, solvers)
    return 0


def _print(row: tuple) -> None:  # type: ignore[type-arg]
    ops, devices, objective, solver, elapsed, status, value, bound = row
    shown = "-" if value is None else f"{value:.6g}"
    gapped = "-" if value is None else f"{gap(value, bound):.2%}"
    print(
        f"{ops:>4} {devices:>4} {objective:<7} {solver:<7} {elapsed:>7.2f}"
        f" {status:<10} {shown:>10} {bound:>10.6g} {gapped:>7}"
    )


def _ratios(rows: list[tuple], solvers: list[str]) -> None:  # type: ignore[type-arg]
    by_case: dict[tuple[int, int, str], dict[str, tuple]] = {}  # type: ignore[type-arg]
    for row in rows:
        by_case.setdefault((row[0], row[1], row[2]), {})[row[3]] = row
    for (ops, devices, objective), found in by_case.items():
        greedy_value = found["greedy"][6]
        parts = []
        for solver in solvers:
            value = found[solver][6]
            if value is None or greedy_value is None or greedy_value == 0:
                parts.append(f"{solver}/greedy objective -")
            else:
                parts.append(f"{solver}/greedy objective {value / greedy_value:.3f}")
        if "cpsat" in found and found["z3"][4] > 0:
            parts.append(f"cpsat/z3 time {found['cpsat'][4] / found['z3'][4]:.2f}")
        print(f"{ops:>4} ops, {devices:>3} devices, {objective}: " + ", ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
