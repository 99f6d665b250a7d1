"""Seeded random placement problems, for the benchmark and the tests only.

The compiler never imports it: bench/placement.py and tests/test_placement.py
do. It stays in the package (and the wheel, a few kB) so that both can import
it without a path of their own.


A random DAG of `jobs` ops on `devices` A100s (4 per node up to 4 devices,
else 8 per node) with 32 cores per node. Ops are drawn like the ones the
stdlib prices: tools that run on 1-4 cores or one GPU (Whisper, CLIP: the GPU
~5x faster, 800 W against 6 W a core), CPU-only tools, GPU-only tools (one or
two GPUs), and LLM calls on served instances (tp 2). Each op reads one to two
of the ten ops before it. The latency bound is `slack` times the longest path
with every op in its fastest mode, so the bound binds but can be met.
"""

from __future__ import annotations

import random

from murakkab.placement.bound import longest_path
from murakkab.placement.problem import Instance, Job, Mode, NodeSpec, Problem

CPU_WATTS = 6.0
GPU_WATTS = 800.0
CORES = 32


def cpu_mode(seconds_one_core: float, cores: int) -> Mode:
    duration = round(seconds_one_core / cores + 0.05 * cores, 3)
    energy = round(CPU_WATTS * cores * duration, 3)
    return Mode(f"cpu {cores}", "cpu", duration, energy, 0.0, cores=cores)


def gpu_mode(duration: float, gpus: int = 1, memory_gb: float = 1.5) -> Mode:
    energy = round(GPU_WATTS * gpus * duration, 3)
    return Mode(
        f"gpu:a100x{gpus}",
        f"gpu:a100x{gpus}",
        round(duration, 3),
        energy,
        0.0,
        gpu_type="a100",
        gpus=gpus,
        memory_gb=memory_gb,
    )


def nodes_for(devices: int) -> tuple[NodeSpec, ...]:
    per_node = devices if devices <= 4 else 8
    count = max(1, devices // per_node)
    return tuple(
        NodeSpec(f"n{i}", CORES, (("a100", per_node),), (("a100", 80.0),)) for i in range(count)
    )


def random_problem(
    jobs: int, devices: int, seed: int = 0, objective: str = "gpus", slack: float = 1.3
) -> Problem:
    rng = random.Random(seed)
    nodes = nodes_for(devices)
    instances = [Instance(f"llm{i}@gpu:a100x2", "a100", 2, 72.0) for i in range(1 + jobs // 60)]
    calls: dict[str, list[str]] = {i.key: [] for i in instances}
    out: list[Job] = []
    for j in range(jobs):
        name = f"op{j}"
        window = list(range(max(0, j - 10), j))
        after = tuple(
            sorted(f"op{k}" for k in rng.sample(window, min(len(window), rng.randint(1, 2))))
        )
        kind = rng.random()
        work = rng.uniform(1.0, 8.0)
        instance = ""
        modes: tuple[Mode, ...]
        if kind < 0.35:  # a tool that runs on cores or one GPU
            modes = (cpu_mode(work, 2), cpu_mode(work, 1), cpu_mode(work, 4), gpu_mode(work / 5))
        elif kind < 0.65:  # CPU only
            modes = (cpu_mode(work, 1), cpu_mode(work, 2))
        elif kind < 0.8:  # GPU only
            modes = (gpu_mode(work / 4, rng.choice((1, 2))),)
        else:  # a call to a served model
            instance = rng.choice(instances).key
            calls[instance].append(name)
            seconds = round(rng.uniform(1.0, 6.0), 3)
            modes = (Mode(f"calls {instance}", "gpu:a100x2", seconds, 300.0 * seconds, 0.0),)
        out.append(Job(name, "synthetic", modes, after, "", instance))
    served = tuple(
        Instance(i.key, i.gpu_type, i.gpus, i.memory_gb, tuple(calls[i.key]))
        for i in instances
        if calls[i.key]
    )
    problem = Problem(tuple(out), nodes, served, objective=objective)
    fastest = {job.name: min(m.duration for m in job.modes) for job in out}
    bound = round(slack * longest_path(problem, fastest.__getitem__), 3)
    return Problem(tuple(out), nodes, served, latency=bound, objective=objective)
