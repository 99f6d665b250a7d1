"""Device kinds the planner can price: what one unit costs, draws and holds.

A unit is one CPU core or one GPU. Prices and power come from the reference
data (shared/reference/murakkab-paper-data.md) or public list prices; each
entry says where its numbers come from. A cluster spec (murakkab/cluster.py)
may override any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceKind:
    name: str  # "cpu-core", "a100-80gb", "h100-80gb"
    kind: str  # "cpu" or "gpu"
    gpu_type: str | None  # the short name pins and profiles use: "a100", "h100"
    price_per_hour: float  # usd per unit
    idle_watts: float  # per unit, held but not working
    busy_watts: float  # per unit, working
    memory_gb: float  # per unit (a core's share of RAM for cpu-core)
    provenance: str
