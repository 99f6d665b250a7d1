"""What one simulated policy measured over a trace: the numbers `mkc simulate` reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClassStats:
    """One SLO class: how many requests came, how many met the SLO, their latencies."""

    requests: int
    met: int
    unserved: int  # left unserved by the plan (counted as misses)
    p50_s: float
    p90_s: float
    p99_s: float
    bound_s: float | None  # the class's latency bound, if it has one

    @property
    def attainment(self) -> float:
        return self.met / self.requests if self.requests else 1.0


@dataclass
class PolicyResult:
    policy: str  # "static" | "autoscale" | "opt" | "joint"
    minutes: int
    # GPUs held per minute, by "model/gpu" for LLM pools and "executor/gpu" for tool pools.
    gpus_by_group: dict[str, np.ndarray]
    cpu_cores: np.ndarray  # cores held per minute
    energy_kwh: float
    cost_usd: float
    classes: dict[str, ClassStats]
    plans: int = 0  # optimizer runs (epochs, early re-plans)
    replans: int = 0  # early re-plans the auto-scaler asked for
    scale_events: int = 0  # auto-scaler changes
    plan_s: float = 0.0  # seconds spent planning
    simulate_s: float = 0.0  # seconds spent simulating
    notes: list[str] = field(default_factory=list)

    def gpus(self) -> np.ndarray:
        """All GPUs held, per minute."""
        total = np.zeros(self.minutes)
        for series in self.gpus_by_group.values():
            total = total + series
        return total

    @property
    def peak_gpus(self) -> int:
        return int(self.gpus().max()) if self.minutes else 0

    @property
    def gpu_hours(self) -> float:
        return float(self.gpus().sum()) / 60.0

    def gpu_hours_by_type(self) -> dict[str, float]:
        hours: dict[str, float] = {}
        for group, series in self.gpus_by_group.items():
            gpu = group.rsplit("/", 1)[-1]
            hours[gpu] = hours.get(gpu, 0.0) + float(series.sum()) / 60.0
        return dict(sorted(hours.items()))

    def peak_gpus_by_type(self) -> dict[str, int]:
        totals: dict[str, np.ndarray] = {}
        for group, series in self.gpus_by_group.items():
            gpu = group.rsplit("/", 1)[-1]
            totals[gpu] = totals.get(gpu, np.zeros(self.minutes)) + series
        return {gpu: int(series.max()) for gpu, series in sorted(totals.items())}

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.classes.values())

    @property
    def slo_attainment(self) -> float:
        total = self.requests
        return sum(c.met for c in self.classes.values()) / total if total else 1.0
