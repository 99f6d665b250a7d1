"""Local runtime overhead per op, against calling the executors directly.

    python bench/runtime_overhead.py              # 200 and 1000 ops, median of 5 runs
    python bench/runtime_overhead.py --ops 500 --runs 3
    python bench/runtime_overhead.py --cache-root /dev/shm   # cache on tmpfs: no disk cost

A plan of N trivial FAKE ops (`llm.generate` of tests/fake_executors.py: a
sha256 of the arguments, ~10 us) in two shapes: `chain` (each op reads the
previous one: no concurrency, the scheduler's latency) and `wide` (N independent
ops reading the input, gathered by the result: the thread pool and the core
budget under load; ops are placed on this machine's CPU, so they share its
cores). Three cache modes: `off`; `cold` (an empty cache directory: every op is
hashed, executed and written); `warm` (every op served from the cache). The
baseline (`direct`) calls the same executor N times in a loop with the same
arguments; `overhead/op` is (runtime - direct) / N, `ratio` runtime / direct.
Each run is a fresh `run_plan` (resources, cache and all); the process's thread
pool is started by a warm-up run before anything is measured. The cache lives
in a temporary directory under `--cache-root` (default: the system's); `cold`
rows mostly measure how fast that file system creates files (one per result).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from murakkab.executors import Call  # noqa: E402
from murakkab.plan import Impl, Placement, Plan, Step  # noqa: E402
from murakkab.runtime.engine import DEFAULT_WORKERS, run_plan  # noqa: E402
from murakkab.runtime.options import RunOptions  # noqa: E402
from tests.fake_executors import EXECUTORS  # noqa: E402

TARGET_MS = 1.0
FAKE = EXECUTORS["llm.generate"]
IMPL = Impl("fake", "tests.fake_executors:fake_dispatch")


def step(name: str, reads: str, index: int) -> Step:
    return Step(
        name=name,
        op="llm.generate",
        args=({"ref": reads},),
        knobs={"model": "fake", "index": index},  # distinct ops, distinct cache keys
        impl=IMPL,
        placement=Placement("cpu"),
        deps=(reads,) if reads != "x" else (),
    )


def chain_plan(n: int) -> Plan:
    steps = [step("s0", "x", 0)] + [step(f"s{i}", f"s{i - 1}", i) for i in range(1, n)]
    return Plan("chain", (("x", "text"),), tuple(steps), {"ref": f"s{n - 1}"})


def wide_plan(n: int) -> Plan:
    steps = tuple(step(f"s{i}", "x", i) for i in range(n))
    result = {"list": [{"ref": f"s{i}"} for i in range(n)]}
    return Plan("wide", (("x", "text"),), steps, result)


def direct_chain(n: int) -> Any:
    value: Any = "question"
    for i in range(n):
        value = FAKE(Call("llm.generate", (value,), {"model": "fake", "index": i}))
    return value


def direct_wide(n: int) -> Any:
    calls = [Call("llm.generate", ("question",), {"model": "fake", "index": i}) for i in range(n)]
    return [FAKE(call) for call in calls]


def timed(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def runtime_time(plan: Plan, mode: str, runs: int, cache_root: str | None) -> float:
    table = {"llm.generate": FAKE}
    times = []
    with tempfile.TemporaryDirectory(dir=cache_root) as folder:
        warm = Path(folder) / "warm"
        if mode == "warm":
            run_plan(plan, {"x": "question"}, RunOptions(executors=table, cache_dir=warm))
        for index in range(runs):
            cache = {"off": None, "cold": Path(folder) / f"cold{index}", "warm": warm}[mode]
            options = RunOptions(executors=table, cache_dir=cache)
            began = time.perf_counter()
            result = run_plan(plan, {"x": "question"}, options)
            times.append(time.perf_counter() - began)
            assert result.status == "ok", result.error
            assert all(t.cached == (mode == "warm") for t in result.traces)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, action="append", help="plan sizes (default 200, 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--cache-root", help="where the cache directories go (e.g. /dev/shm)")
    args = parser.parse_args(argv)
    sizes = args.ops or [200, 1000]
    shapes = {"chain": (chain_plan, direct_chain), "wide": (wide_plan, direct_wide)}
    print(f"{'shape':6} {'ops':>5} {'cache':5} {'runtime ms':>11} {'direct ms':>10} "
          f"{'overhead/op ms':>15} {'ratio':>7}")  # fmt: skip
    warm_up = RunOptions(executors={"llm.generate": FAKE})
    run_plan(wide_plan(DEFAULT_WORKERS * 2), {"x": "question"}, warm_up)
    worst = 0.0
    for n in sizes:
        for shape, (make, direct) in shapes.items():
            plan = make(n)
            base = timed(lambda: direct(n), args.runs)  # noqa: B023 - called at once
            for mode in ("off", "cold", "warm"):
                total = runtime_time(plan, mode, args.runs, args.cache_root)
                per_op = (total - base) / n * 1e3
                worst = max(worst, per_op) if mode != "cold" else worst
                print(
                    f"{shape:6} {n:>5} {mode:5} {total * 1e3:>11.1f} {base * 1e3:>10.2f} "
                    f"{per_op:>15.3f} {total / base:>7.1f}"
                )
    verdict = "met" if worst < TARGET_MS else "NOT met"
    print(
        f"worst overhead per op without cache writes: {worst:.3f} ms "
        f"(target < {TARGET_MS:g} ms: {verdict}); cache writes cost is the `cold` rows"
    )
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
