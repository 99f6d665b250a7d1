"""Local runtime and Ray plan overhead per op, against calling the executors directly.

    python bench/runtime_overhead.py              # 200 and 1000 ops, median of 5 runs
    python bench/runtime_overhead.py --ops 500 --runs 3
    python bench/runtime_overhead.py --cache-root /dev/shm   # cache on tmpfs: no disk cost
    python bench/runtime_overhead.py --no-ray     # the local runtime only
    python bench/runtime_overhead.py --quick      # 200 ops locally, 50 on Ray, 3 runs

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

Ray (when installed: `pip install "murakkab[ray]"`; else the part is skipped,
saying why): one local Ray on this node, started once the way a Ray plan starts
its own (`ray.init(address="local")`, no dashboard, the CPUs `ray_layout` asks
for, at least 2), then the same plans (`--ray-ops`, default 50 and 200 ops)
through `run_ray`, which joins that Ray and leaves it running. Ray's start-up
and a first plan (Ray's worker processes start and import murakkab) are timed
and printed but kept out of the figures. `run_ray` covers everything `mkc run
--backend ray` does: emitting and loading the plan's program (`emit ms`), one
Ray task per op (these ops load no model, so no actors), collecting the traces.
Cache off. `overhead/op` is (run_ray - direct) / N as above, `x local` against
the local runtime's cache-off overhead on the same plan measured alongside; each
result is checked against the local runtime's.
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


def ray_time(plan: Plan, runs: int) -> tuple[float, Any]:
    """Median wall time of `run_ray` on the Ray this process is connected to; a result."""
    from murakkab.backends.ray import run_ray

    options = RunOptions(executors={"llm.generate": FAKE})  # cache off
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        outcome = run_ray(plan, {"x": "question"}, options)
        times.append(time.perf_counter() - began)
        assert outcome.status == "ok", outcome.error
        assert outcome.backend == "ray" and len(outcome.traces) == len(plan.steps)
        result = outcome.result
    return statistics.median(times), result


def ray_part(sizes: list[int], runs: int) -> None:
    """Ray plan overhead on one node (a local Ray), beside the local runtime's."""
    try:
        import ray
        from murakkab.backends.ray import emit_ray, load_program
        from murakkab.backends.ray.layout import ray_layout
    except ImportError as error:
        print(f'ray: skipped: {error} (pip install "murakkab[ray]")')
        return
    if ray.is_initialized():
        print("ray: skipped: this process is already connected to a Ray")
        return
    shapes = {"chain": (chain_plan, direct_chain), "wide": (wide_plan, direct_wide)}
    plans = [(shape, n, make(n), direct) for n in sizes for shape, (make, direct) in shapes.items()]
    needs = [ray_layout(plan)["local"] for _, _, plan, _ in plans]
    cpus = max(2, *(need["num_cpus"] for need in needs))
    table = {"llm.generate": FAKE}
    began = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=cpus,
        num_gpus=0,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    startup = time.perf_counter() - began
    try:
        first, _ = ray_time(wide_plan(cpus * 2), 1)
        print(
            f"\nray {ray.__version__}, one node, a local Ray of {cpus} CPUs: start-up "
            f"{startup:.2f} s, first plan ({cpus * 2} ops, starts the workers) {first:.2f} s "
            "(neither counted below; cache off)"
        )
        print(f"{'shape':6} {'ops':>5} {'ray ms':>9} {'emit ms':>8} {'direct ms':>10} "
              f"{'overhead/op ms':>15} {'local o/op ms':>14} {'x local':>8}")  # fmt: skip
        per_op, ratios = [], []
        for shape, n, plan, direct in plans:
            base = timed(lambda: direct(n), runs)  # noqa: B023 - called at once
            local = runtime_time(plan, "off", runs, None)
            emit = timed(lambda: load_program(emit_ray(plan), "bench"), runs)  # noqa: B023
            total, result = ray_time(plan, runs)
            expected = run_plan(plan, {"x": "question"}, RunOptions(executors=table))
            assert result == expected.result, "the Ray plan gave another result"
            ray_op, local_op = (total - base) / n * 1e3, (local - base) / n * 1e3
            per_op.append(ray_op)
            ratios.append(ray_op / local_op)
            print(
                f"{shape:6} {n:>5} {total * 1e3:>9.1f} {emit * 1e3:>8.1f} {base * 1e3:>10.2f} "
                f"{ray_op:>15.3f} {local_op:>14.3f} {ray_op / local_op:>8.0f}"
            )
        print(
            f"ray: {min(per_op):.2f}-{max(per_op):.2f} ms/op "
            f"({min(ratios):.0f}-{max(ratios):.0f} x local), one node, cache off"
        )
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, action="append", help="plan sizes (default 200, 1000)")
    parser.add_argument("--runs", type=int, help="runs per measurement (median; default 5)")
    parser.add_argument("--cache-root", help="where the cache directories go (e.g. /dev/shm)")
    parser.add_argument(
        "--ray-ops", type=int, action="append", help="plan sizes on Ray (default 50, 200)"
    )
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray part")
    parser.add_argument(
        "--quick", action="store_true", help="200 ops locally, 50 on Ray, 3 runs (unless given)"
    )
    args = parser.parse_args(argv)
    sizes = args.ops or ([200] if args.quick else [200, 1000])
    ray_sizes = args.ray_ops or ([50] if args.quick else [50, 200])
    runs = args.runs or (3 if args.quick else 5)
    shapes = {"chain": (chain_plan, direct_chain), "wide": (wide_plan, direct_wide)}
    print(f"{'shape':6} {'ops':>5} {'cache':5} {'runtime ms':>11} {'direct ms':>10} "
          f"{'overhead/op ms':>15} {'ratio':>7}")  # fmt: skip
    warm_up = RunOptions(executors={"llm.generate": FAKE})
    run_plan(wide_plan(DEFAULT_WORKERS * 2), {"x": "question"}, warm_up)
    worst = 0.0
    for n in sizes:
        for shape, (make, direct) in shapes.items():
            plan = make(n)
            base = timed(lambda: direct(n), runs)  # noqa: B023 - called at once
            for mode in ("off", "cold", "warm"):
                total = runtime_time(plan, mode, runs, args.cache_root)
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
    if not args.no_ray:
        ray_part(ray_sizes, runs)
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
