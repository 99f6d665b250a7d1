"""Device kinds the planner can price: what one unit costs, draws and holds.

A unit is one CPU core or one GPU. Prices and power come from the reference
data (shared/reference/murakkab-paper-data.md) or public list prices; each
entry says where its numbers come from. A cluster spec (murakkab/cluster.py)
may override any of them. Memory is in GiB throughout (an "80 GB" GPU holds
80 GiB).

GPU prices and power are the per-GPU figures implied by the paper's own sweep,
*VM share included* (CPU cores, memory and the rest of the 8-GPU VM): they are
the only figures that give price and power on one basis, and they are the ones
the paper's cost and energy results rest on. The VM list prices (~$3.40 and
~$12.29 per GPU-hour) can be set in a cluster spec instead (docs/clusters.md).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from murakkab.cluster import Cluster


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


_REFERENCE = "shared/reference/murakkab-paper-data.md, 'Hardware, price and power'"
_HALF_IDLE = "servers idle at about half their peak power (Barroso & Hoelzle, IEEE Computer 2007)"

DEVICE_KINDS: dict[str, DeviceKind] = {
    "cpu-core": DeviceKind(
        name="cpu-core",
        kind="cpu",
        gpu_type=None,
        price_per_hour=0.048,
        idle_watts=3.0,
        busy_watts=6.0,
        memory_gb=4.0,
        provenance=(
            "assumption: one vCPU of a general-purpose cloud VM; price = half of $0.096/h, "
            "the on-demand list price of a 2-vCPU, 8-GiB VM (AWS m6i.large, Azure D2s v5; "
            "US East), memory share included; busy 6 W = ~4 W per hardware thread of a "
            "32-core, ~250 W server CPU plus memory and platform; idle 3 W = half of it, as "
            + _HALF_IDLE
        ),
    ),
    "a100-80gb": DeviceKind(
        name="a100-80gb",
        kind="gpu",
        gpu_type="a100",
        price_per_hour=1.80,
        idle_watts=255.0,
        busy_watts=800.0,
        memory_gb=80.0,
        provenance=(
            "price $1.80/h and busy 0.80 kW per GPU, VM share included, implied by the "
            f"paper's sweep ({_REFERENCE}; list price ~$3.40/GPU-h); idle 255 W = ~55 W "
            "A100 SXM idle draw + half of the 400 W host share (800 W - 400 W TDP), as "
            + _HALF_IDLE
        ),
    ),
    "h100-80gb": DeviceKind(
        name="h100-80gb",
        kind="gpu",
        gpu_type="h100",
        price_per_hour=6.35,
        idle_watts=185.0,
        busy_watts=930.0,
        memory_gb=80.0,
        provenance=(
            "price $6.35/h and busy 0.93 kW per GPU, VM share included, implied by the "
            f"paper's sweep ({_REFERENCE}; list price ~$12.29/GPU-h); idle 185 W = ~70 W "
            "H100 SXM idle draw + half of the 230 W host share (930 W - 700 W TDP), as "
            + _HALF_IDLE
        ),
    ),
}


def find_kind(name: str, kinds: dict[str, DeviceKind]) -> DeviceKind | None:
    """A kind by its name ("a100-80gb"), its unique GPU type ("a100"), or "cpu"."""
    wanted = name.strip().lower()
    for kind in kinds.values():
        if kind.name.lower() == wanted:
            return kind
    by_type = [k for k in kinds.values() if k.gpu_type is not None and k.gpu_type == wanted]
    if len(by_type) == 1:
        return by_type[0]
    cpus = [k for k in kinds.values() if k.kind == "cpu"]
    if wanted == "cpu" and len(cpus) == 1:
        return cpus[0]
    return None


def device_kind(name: str) -> DeviceKind | None:
    """A built-in kind: "a100" and "a100-80gb" alike, "cpu" and "cpu-core" alike; else None."""
    return find_kind(name, DEVICE_KINDS)


# ---- this machine --------------------------------------------------------------------

THIS_MACHINE = "this-machine"
LOCAL_NODE = "localhost"


@dataclass(frozen=True)
class DiscoveredGpu:
    name: str  # as NVML reports it: "NVIDIA A100-SXM4-80GB"
    memory_gb: float
    power_limit_watts: float | None


def discover_this_machine() -> Cluster:
    """This machine as one node: usable cores, memory, and NVIDIA GPUs when NVML answers."""
    from murakkab.cluster import Cluster, Node

    kinds = dict(DEVICE_KINDS)
    counts: Counter[str] = Counter()
    for gpu in discover_gpus():
        kind = kind_of_gpu(gpu)
        kinds.setdefault(kind.name, kind)
        counts[kind.name] += 1
    node = Node(LOCAL_NODE, usable_cores(), memory_gb(), tuple(sorted(counts.items())))
    source = "discovered on this machine (cores: CPU affinity, memory: /proc/meminfo, GPUs: NVML)"
    return Cluster(THIS_MACHINE, (node,), kinds, source)


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit included)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def memory_gb(meminfo: Path = Path("/proc/meminfo")) -> float:
    """Total memory in GiB, one decimal: /proc/meminfo, else sysconf, else 0."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)  # the value is in KiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, OSError, ValueError):
        return 0.0


def discover_gpus() -> list[DiscoveredGpu]:
    """NVIDIA GPUs through NVML (`pip install murakkab[gpu]`); none when NVML is absent."""
    try:
        import pynvml
    except ImportError:
        return []
    # NVML fails in many ways (no driver, no device, a container without /dev/nvidia*);
    # each means "no GPUs we can use", never a failed compile.
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001
        return []
    try:
        return [_describe(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # noqa: BLE001
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _describe(pynvml: Any, index: int) -> DiscoveredGpu:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    name = pynvml.nvmlDeviceGetName(handle)
    if isinstance(name, bytes):  # older nvidia-ml-py releases return bytes
        name = name.decode("utf-8", "replace")
    memory = round(pynvml.nvmlDeviceGetMemoryInfo(handle).total / 2**30, 1)
    try:
        limit: float | None = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000.0
    except Exception:  # noqa: BLE001 - not every board reports a limit
        limit = None
    return DiscoveredGpu(str(name), memory, limit)


def kind_of_gpu(gpu: DiscoveredGpu) -> DeviceKind:
    """The catalogue kind of a discovered GPU, or a new, unpriced kind named after it."""
    upper = gpu.name.upper()
    for short in ("a100", "h100"):
        if short.upper() in upper and 70 <= gpu.memory_gb <= 90:
            return DEVICE_KINDS[f"{short}-80gb"]
    slug = re.sub(r"[^a-z0-9]+", "-", gpu.name.lower()).strip("-") or "gpu"
    busy = gpu.power_limit_watts or 0.0
    return DeviceKind(
        name=slug,
        kind="gpu",
        gpu_type=slug.removeprefix("nvidia-").split("-")[0],
        price_per_hour=0.0,
        idle_watts=round(busy * 0.14, 1),
        busy_watts=busy,
        memory_gb=gpu.memory_gb,
        provenance=(
            f"discovered by NVML ({gpu.name}): memory and busy power (the board's power "
            "limit) measured; idle assumed 14% of it, as A100's ~55 of 400 W; price "
            "unknown (0): set it in a cluster spec"
        ),
    )
