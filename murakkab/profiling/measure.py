"""One measured piece of work: wall time, CPU time, peak memory and energy.

Energy is measured where this machine reports it (RAPL package counters, when
readable), else modelled from the CPU time and labelled so: a busy core draws
the cpu-core kind's busy watts, a held core that waits its idle watts
(murakkab/hardware.py states where those figures come from). Peak memory is the
growth of this process's peak resident set over the work (Linux resets the
peak through /proc/self/clear_refs; elsewhere the peak since start is used).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from murakkab.hardware import DEVICE_KINDS
from murakkab.runtime.energy import RaplCounters

T = TypeVar("T")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float  # user + system time of this process over the work
    memory_gb: float  # growth of the peak resident set
    energy_j: float
    energy_source: str  # "rapl" or "modelled"


def modelled_energy_j(wall_s: float, cpu_s: float, cores: int) -> float:
    """Busy watts per core-second of CPU time, idle watts for the rest of `cores` x wall."""
    core = DEVICE_KINDS["cpu-core"]
    idle_s = max(0.0, cores * wall_s - cpu_s)
    return core.busy_watts * cpu_s + core.idle_watts * idle_s


def measure(work: Callable[[], T], cores: int) -> tuple[T, Sample]:
    """Run `work` once and measure it, charging `cores` held cores."""
    rapl = RaplCounters()
    counters = rapl.read() if rapl.available else None
    before_rss = _reset_peak()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = work()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    memory = max(0.0, _peak_kb() - before_rss) / 1024**2
    if counters is not None:
        energy, source = rapl.joules(counters, rapl.read()), "rapl"
    else:
        energy, source = modelled_energy_j(wall, cpu, cores), "modelled"
    return result, Sample(wall, cpu, memory, energy, source)


def _status_kb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Reset the peak RSS where Linux allows it; the resident set now, in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_kb("VmRSS") or 0.0


def _peak_kb() -> float:
    return _status_kb("VmHWM") or float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
