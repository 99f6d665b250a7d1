"""The placement problem as plain data: nodes, served instances, jobs and their modes.

Resource model (docs/passes.md#placement says the same in words):

- A *job* is one non-flow op (ops in `flow.parallel` / `flow.repeat` regions
  included). Each *mode* is one way to run it: CPU cores, or GPUs of one type
  on one node, with the duration, energy and cost the cost model predicts.
- A job holds its mode's cores or GPUs from its start to its end. Jobs that
  overlap in time on one node share its cores (their sum stays within the
  node's) and its GPUs (a GPU runs one job at a time).
- A job in a region stands for all its copies: `flow.parallel` copies run side
  by side (they hold `copies x` the resources), or in waves of k at a time
  (modes with `at_once = k`: k x the resources for `ceil(copies / k)` x the
  duration), `flow.repeat` rounds run one after another (the duration counts
  every round, scheduled as one block: the span is the same as the interleaved
  rounds, and so is the time held).
- An LLM op served on GPUs calls a *served instance* (vLLM): one per model and
  device, loaded before the job starts (loading a model takes longer than the
  jobs themselves) and holding its GPUs exclusively for the whole plan. Calls
  to it hold nothing of their own and may overlap: the instance batches them.
- GPU memory is per GPU: what a job's model needs (weights plus workspace)
  must fit one GPU of the type, and the members of a fused group placed on a
  GPU are resident together.
- Fused ops (the same `fuse` group) run on one node and one kind of device.
- GPUs held: the distinct GPUs the plan uses (instances' and jobs'); a GPU
  used at all is reserved for the whole plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from murakkab.ir.core import Literal

OBJECTIVES = ("gpus", "energy", "cost", "latency")


@dataclass(frozen=True)
class Mode:
    label: str  # what explain shows: "cpu x8", "gpu:a100x1", "on gemma-3-27b@gpu:a100x4"
    device: str  # the IR device text it gives the op: "cpu", "gpu:a100x1", "hosted"
    duration: float  # seconds, every round of enclosing repeats included
    energy: float  # joules per request, every copy included
    cost: float  # usd per request
    cores: int = 0  # CPU cores held while it runs (copies and fan-out included)
    gpu_type: str = ""  # GPUs of this type held while it runs ("" none)
    gpus: int = 0
    memory_gb: float = 0.0  # per GPU: weights plus workspace
    knobs: tuple[tuple[str, Literal | None], ...] = ()  # IR attributes it sets (None removes)

    @property
    def holds_nothing(self) -> bool:
        return self.cores == 0 and self.gpus == 0


@dataclass(frozen=True)
class Job:
    name: str  # the op's result value
    op: str  # its capability, for messages
    modes: tuple[Mode, ...]  # modes[0] is the op as the passes before left it
    after: tuple[str, ...] = ()  # jobs whose results it waits for
    group: str = ""  # fused group: its members share a node and a kind of device
    instance: str = ""  # the served instance it calls; its modes then hold nothing


@dataclass(frozen=True)
class Instance:
    key: str  # "gemma-3-27b@gpu:a100x4"
    gpu_type: str
    gpus: int
    memory_gb: float  # per GPU
    calls: tuple[str, ...] = ()  # the jobs that call it


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cores: int
    gpus: tuple[tuple[str, int], ...] = ()  # (GPU type, count), sorted
    gpu_memory_gb: tuple[tuple[str, float], ...] = ()  # (GPU type, memory of one GPU)

    def gpu_count(self, gpu_type: str) -> int:
        return dict(self.gpus).get(gpu_type, 0)

    def gpu_memory(self, gpu_type: str) -> float:
        return dict(self.gpu_memory_gb).get(gpu_type, 0.0)

    @property
    def shape(self) -> tuple[object, ...]:
        """Nodes of one shape are interchangeable (symmetry breaking)."""
        return (self.cores, self.gpus, self.gpu_memory_gb)


@dataclass(frozen=True)
class Problem:
    jobs: tuple[Job, ...]  # in a dependency order
    nodes: tuple[NodeSpec, ...]
    instances: tuple[Instance, ...] = ()
    latency: float | None = None  # bound on the makespan, seconds
    strict: bool = False  # the bound is `<`, not `<=`
    energy: float | None = None  # bound on total energy, joules
    cost: float | None = None  # bound on total cost, usd
    objective: str = "gpus"  # one of OBJECTIVES
    max_gpus: int | None = None  # GPUs held at most (the alternatives explain shows)
    min_gpus: int | None = None  # ... at least

    def job(self, name: str) -> Job:
        return self.jobs[self.index[name]]

    @cached_property
    def index(self) -> dict[str, int]:
        return {job.name: i for i, job in enumerate(self.jobs)}

    def instance(self, key: str) -> Instance:
        return next(i for i in self.instances if i.key == key)

    def node(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)

    @property
    def instance_gpus(self) -> int:
        return sum(i.gpus for i in self.instances)


def fits(mode: Mode, node: NodeSpec) -> bool:
    """Whether one node could run the mode at all (alone, memory included)."""
    if mode.gpus:
        if node.gpu_count(mode.gpu_type) < mode.gpus:
            return False
        return mode.memory_gb <= node.gpu_memory(mode.gpu_type)
    return mode.cores <= node.cores


def instance_fits(instance: Instance, node: NodeSpec) -> bool:
    enough = node.gpu_count(instance.gpu_type) >= instance.gpus
    return enough and instance.memory_gb <= node.gpu_memory(instance.gpu_type)


def descendants(problem: Problem) -> dict[str, set[str]]:
    """Every job's transitive successors: jobs in a path never overlap."""
    children: dict[str, list[str]] = {job.name: [] for job in problem.jobs}
    for job in problem.jobs:
        for before in job.after:
            children[before].append(job.name)
    out: dict[str, set[str]] = {}
    for job in reversed(problem.jobs):
        below: set[str] = set()
        for child in children[job.name]:
            below.add(child)
            below |= out[child]
        out[job.name] = below
    return out
