"""What a run records: one `OpTrace` per executed op, and the `RunResult`.

Times are seconds from the run's start (`start`, `end`) on the monotonic clock;
`energy_source` says where the joules came from: "nvml" (GPU counters),
"rapl" (CPU package counters), "modelled" (busy power x units x time from the
device kind, because this machine exposes no counter) or "none" (nothing was
spent here: a hosted call, or a result served from the cache). Predictions are
the plan's, so the report can put predicted beside measured.

`start` is when the op began executing, after `wait_s` seconds spent waiting
for its cores and GPUs; `end - start` is its latency (retries and fallbacks
included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class OpTrace:
    step: str  # the plan step's name; copies inside flow ops get "name#i" / "name@round"
    op: str  # capability
    impl: str  # the implementation that produced the result (after any fallback)
    device: str  # "cpu", "gpu:a100x4", "hosted"
    node: str = ""
    gpu_ids: tuple[int, ...] = ()
    cores: int = 1
    start: float = 0.0
    end: float = 0.0
    energy_j: float = 0.0
    energy_source: str = "modelled"  # nvml | rapl | modelled | none
    cost_usd: float = 0.0
    attempts: int = 1  # calls made, retries and fallbacks included
    fallback_from: str = ""  # the planned implementation, when another one answered
    cached: bool = False  # served from the content-addressed cache, not executed
    batched: int = 1  # calls served together with this one
    error: str = ""  # the last error, when the op failed for good
    predicted: dict[str, float] = field(default_factory=dict)  # latency_s, energy_j, cost_usd
    wait_s: float = 0.0  # time spent waiting for cores and GPUs before `start`
    executor: str = ""  # the callable that ran: an entry "module:function", or an override's
    instance: str = ""  # the model-instance key, when the implementation opens instances
    instance_loaded: bool = False  # this op loaded the instance (else it reused a loaded one)

    @property
    def latency_s(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "latency_s": self.latency_s}


@dataclass
class RunResult:
    workflow: str
    result: Any  # the workflow's output value; None when the run failed
    traces: list[OpTrace]
    wall_s: float
    status: str = "ok"  # ok | failed | interrupted
    error: str = ""
    run_dir: str = ""  # where the plan, cache, trace and charts of this run are
    backend: str = "local"

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "status": self.status,
            "error": self.error,
            "result": self.result,
            "wall_s": self.wall_s,
            "run_dir": self.run_dir,
            "backend": self.backend,
            "ops": [t.as_dict() for t in self.traces],
        }
