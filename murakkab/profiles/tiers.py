"""SLO tiers: best/good/fair/basic computed from the profile population of a workflow.

The rule (docs/profiles.md): a quality tier is a percentile of the qualities of
every profiled configuration of the workflow, taken with the "lower" method --
the observed value at rank floor(q/100 * (n - 1)) of the ascending sort, so a
tier is always a quality some configuration reaches -- with best = maximum,
good = 95th, fair = 80th and basic = 50th percentile. A latency tier is the
mirror image over predicted latencies: best = minimum, good = the value that
95% of configurations are at or above ("higher" method at 5%), and so on.
Pure functions: no store, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from murakkab.profiles.schema import WorkflowProfile

TIER_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("best", 100.0),
    ("good", 95.0),
    ("fair", 80.0),
    ("basic", 50.0),
)


@dataclass(frozen=True)
class Tiers:
    """Tier thresholds of one metric: quality as a fraction, latency in seconds."""

    best: float
    good: float
    fair: float
    basic: float
    population: int  # how many values they were computed from

    def get(self, tier: str) -> float | None:
        """The threshold of a tier name ("good"), or None for a name that is not a tier."""
        return float(getattr(self, tier)) if tier in dict(TIER_PERCENTILES) else None

    def items(self) -> list[tuple[str, float]]:
        """(tier, threshold) from best to basic."""
        return [(name, float(getattr(self, name))) for name, _ in TIER_PERCENTILES]


def percentile_lower(values: Sequence[float], q: float) -> float:
    """numpy.percentile(values, q, method="lower"): an observed value, never interpolated."""
    if not values:
        raise ValueError("a percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside [0, 100]")
    ordered = sorted(values)
    # The rank is computed in exact arithmetic where q is whole, so 95% of 21 values
    # lands on index 19 and not on 18.999999.
    rank = (len(ordered) - 1) * q / 100
    return ordered[math.floor(rank + 1e-9)]


def percentile_higher(values: Sequence[float], q: float) -> float:
    """numpy.percentile(values, q, method="higher"): the mirror image of `percentile_lower`."""
    return -percentile_lower([-v for v in values], 100 - q)


def quality_tiers(profiles: Iterable[WorkflowProfile]) -> Tiers:
    """Quality tiers of one workflow's population of configurations."""
    population = list(profiles)
    workflows = sorted({p.workflow for p in population})
    if len(workflows) != 1:
        raise ValueError(f"quality tiers need the profiles of one workflow, got {workflows}")
    qualities = [p.quality for p in population]
    tiers = {name: percentile_lower(qualities, q) for name, q in TIER_PERCENTILES}
    return Tiers(**tiers, population=len(qualities))


def latency_tiers(latencies: Sequence[float]) -> Tiers:
    """Latency tiers from the predicted latencies of a workflow's configurations."""
    values = list(latencies)
    tiers = {name: percentile_higher(values, 100 - q) for name, q in TIER_PERCENTILES}
    return Tiers(**tiers, population=len(values))


def split_local(
    population: Iterable[WorkflowProfile], models: Iterable[object]
) -> tuple[list[WorkflowProfile], list[WorkflowProfile]]:
    """(served, local): configurations whose model is served on GPUs or hosted, and
    those whose model runs only on CPU cores (measured by `mkc profile` on the
    generated question set, a different scale from the reference benchmark's)."""
    from murakkab.profiles.schema import ModelProfile

    devices: dict[str, set[str]] = {}
    for profile in models:
        if isinstance(profile, ModelProfile):
            devices.setdefault(profile.model, set()).add(profile.device)
    served: list[WorkflowProfile] = []
    local: list[WorkflowProfile] = []
    for profile in population:
        model = str(dict(profile.config).get("model"))
        (local if devices.get(model, set()) == {"cpu"} else served).append(profile)
    return served, local
