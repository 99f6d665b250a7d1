"""Energy and cost of one op: measured where the hardware reports it, else modelled.

Sources, best first (`OpTrace.energy_source`):

- "nvml": GPU ops placed on this machine whose `gpu_ids` are GPUs of the op's
  type here, from NVML's total energy counter
  (`nvmlDeviceGetTotalEnergyConsumption`, mJ; Volta and later), summed over
  the op's GPUs. Needs `pip install "murakkab[gpu]"`. The ids are taken as
  NVML indices (CUDA's default order on a single-type node). "This machine" is
  the node as discovered (`hardware.LOCAL_NODE`, "localhost": the cluster when
  no spec is given) or no node (not placed); a cluster spec does not say which
  of its nodes this process runs on, so the ops placed on its nodes are
  modelled, even when this machine has a GPU of that index. The type must
  match too: NVML's GPU i is taken for an op on "gpu:h100x1" with id i only
  when it is an H100 (`hardware.kind_of_gpu`).
- "rapl": CPU ops placed on this machine (as for "nvml"), from the package
  counters in /sys/class/powercap/intel-rapl:N/energy_uj (wraparound at
  max_energy_range_uj), when readable (often root only). A package counter
  measures everything on the package, so an op is charged its share:
  joules x (its cores / this machine's cores).
- "modelled": otherwise (this machine has no counter), busy watts of the
  device kind x units held x seconds, the kinds of `RunOptions.cluster`
  (murakkab/hardware.py says where each figure comes from). Units are cores on
  a CPU and GPUs on a GPU.
- "none": hosted calls (the energy is spent at the provider, which does not
  report it) and results served from the cache.

Concurrent ops on one GPU (calls to a shared instance) each see the whole
counter delta over their interval; the runtime divides a batch's energy among
its calls, but overlapping unbatched calls on one GPU are counted once each.

Cost: price per hour of the device kind x units x seconds. Hosted calls cost 0
here: the price of a hosted model is per token, and the runtime does not see
token counts (the cost model's prediction stays in `OpTrace.predicted`).
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from murakkab.device import Device, parse_device
from murakkab.hardware import (
    DEVICE_KINDS,
    LOCAL_NODE,
    DeviceKind,
    DiscoveredGpu,
    kind_of_gpu,
    usable_cores,
)

log = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
_PACKAGE = re.compile(r"intel-rapl:\d+")


@dataclass(frozen=True)
class Reading:
    """Counters at the start of an op."""

    at: float  # monotonic seconds
    source: str  # what `stop` will use
    counters: tuple[int, ...] = ()


@dataclass(frozen=True)
class Spent:
    joules: float
    source: str
    cost_usd: float


class RaplCounters:
    """The CPU package energy counters of a powercap tree, in microjoules."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.files: list[tuple[Path, int]] = []  # (energy_uj, max_energy_range_uj)
        for domain in sorted(root.glob("intel-rapl:*")) if root.is_dir() else ():
            if not _PACKAGE.fullmatch(domain.name):
                continue  # sub-domains (core, uncore, dram) are inside the package's count
            try:
                (domain / "energy_uj").read_text()
                wrap = int((domain / "max_energy_range_uj").read_text())
            except (OSError, ValueError):
                continue
            self.files.append((domain / "energy_uj", wrap))

    @property
    def available(self) -> bool:
        return bool(self.files)

    def read(self) -> tuple[int, ...]:
        return tuple(int(path.read_text()) for path, _ in self.files)

    def joules(self, before: tuple[int, ...], after: tuple[int, ...]) -> float:
        total = 0
        for (_, wrap), b, a in zip(self.files, before, after):
            total += a - b if a >= b else a + wrap - b
        return total / 1e6


class NvmlCounters:
    """Total energy per GPU through NVML, in millijoules; absent without pynvml or GPUs.

    `nvml` stands in for the `pynvml` module (tests pass a fake)."""

    def __init__(self, nvml: Any = None) -> None:
        self.pynvml: Any = None
        self.handles: list[Any] = []
        self.types: list[str] = []  # the GPU type of each index: "h100"
        try:
            if nvml is None:
                nvml = importlib.import_module("pynvml")
            nvml.nvmlInit()
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
            for handle in handles:  # boards before Volta have no energy counter
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            types = [_gpu_type(nvml, handle) for handle in handles]
        except Exception:  # noqa: BLE001 - no module, driver, device or counter: not available
            return
        self.pynvml, self.handles, self.types = nvml, handles, types

    def covers(self, gpu_ids: tuple[int, ...], gpu_type: str) -> bool:
        """Whether this machine's GPUs `gpu_ids` are all GPUs of `gpu_type`."""
        return bool(gpu_ids) and all(
            0 <= i < len(self.handles) and self.types[i] == gpu_type for i in gpu_ids
        )

    def read(self, gpu_ids: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(
            int(self.pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handles[i])) for i in gpu_ids
        )


class EnergyMeter:
    """Starts and stops the measurement of one op."""

    def __init__(self, rapl: RaplCounters | None = None, nvml: NvmlCounters | None = None):
        self.rapl = rapl if rapl is not None else RaplCounters()
        self.nvml = nvml if nvml is not None else NvmlCounters()
        self.cores = usable_cores()

    def start(self, device: str, gpu_ids: tuple[int, ...], node: str = "") -> Reading:
        """`node` is the op's node in the plan ("": not placed, i.e. here)."""
        now = time.monotonic()
        try:
            parsed = _device(device)
            here = node in ("", LOCAL_NODE)
            if parsed.side == "gpu" and here and self.nvml.covers(gpu_ids, parsed.gpu_type):
                return Reading(now, "nvml", self.nvml.read(gpu_ids))
            if device == "cpu" and here and self.rapl.available:
                return Reading(now, "rapl", self.rapl.read())
        except Exception as error:  # noqa: BLE001 - a counter that stops answering: model it
            log.debug("energy counter unreadable (%s); modelling", error)
        return Reading(now, "none" if device == "hosted" else "modelled")

    def stop(
        self,
        reading: Reading,
        device: str,
        gpu_ids: tuple[int, ...],
        units: int,
        kind: DeviceKind | None,
    ) -> Spent:
        seconds = time.monotonic() - reading.at
        cost = kind.price_per_hour * units * seconds / 3600 if kind is not None else 0.0
        try:
            if reading.source == "nvml":
                after = self.nvml.read(gpu_ids)
                joules = sum(a - b for a, b in zip(after, reading.counters)) / 1e3
                return Spent(joules, "nvml", cost)
            if reading.source == "rapl":
                joules = self.rapl.joules(reading.counters, self.rapl.read())
                return Spent(joules * min(1.0, units / self.cores), "rapl", cost)
        except Exception as error:  # noqa: BLE001
            log.debug("energy counter unreadable (%s); modelling", error)
        if reading.source == "none" or kind is None:
            return Spent(0.0, "none", cost)
        return Spent(kind.busy_watts * units * seconds, "modelled", cost)


def device_kind_of(device: str, cluster_kinds: dict[str, DeviceKind]) -> DeviceKind | None:
    """The kind that prices and powers `device` ("cpu", "gpu:a100x4"); None when hosted."""
    from murakkab.hardware import find_kind

    if device == "hosted":
        return None
    if device == "cpu":
        return find_kind("cpu", cluster_kinds) or DEVICE_KINDS["cpu-core"]
    parsed = _device(device)
    if parsed.side != "gpu" or not parsed.gpu_type:
        return None
    return find_kind(parsed.gpu_type, cluster_kinds) or find_kind(parsed.gpu_type, DEVICE_KINDS)


def gpu_count(device: str) -> int:
    """4 for "gpu:a100x4", 1 for "gpu:a100"; 0 off a GPU (or a bare "gpu")."""
    parsed = _device(device)
    if parsed.side != "gpu" or not parsed.gpu_type:
        return 0
    return parsed.count or 1


def _device(text: str) -> Device:
    return parse_device(text)


def _gpu_type(nvml: Any, handle: Any) -> str:
    """The GPU type ("h100") of an NVML device, as `discover_this_machine` names it."""
    name = nvml.nvmlDeviceGetName(handle)
    if isinstance(name, bytes):  # older nvidia-ml-py releases return bytes
        name = name.decode("utf-8", "replace")
    memory_gb = round(nvml.nvmlDeviceGetMemoryInfo(handle).total / 2**30, 1)
    kind = kind_of_gpu(DiscoveredGpu(str(name), memory_gb, None))
    return kind.gpu_type or ""


_lock = threading.Lock()


@functools.cache
def _meter() -> EnergyMeter:
    return EnergyMeter()


def meter() -> EnergyMeter:
    """The process's meter (NVML and powercap are probed once)."""
    with _lock:
        return _meter()
