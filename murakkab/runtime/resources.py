"""Core budgets and GPU locks: CPU ops within their node's cores, GPU ops on their devices.

Each node of the cluster has a pool of its `cpu_cores` permits; a CPU op
takes `cores x fanout` of them (capped at the pool's size) for as long as it
runs, and waits, first come first served, while they are taken. Steps that the
placement did not put on a node (`node` empty) or put on a node the cluster
does not know share the pool of this machine's usable cores.

Each GPU (`node`, GPU type, id of `gpu_ids`) has a lock. An op takes all of
its GPUs at once (no op holds one GPU while waiting for another, so two ops
cannot deadlock); ops with the same instance key share the GPUs, since they
are calls to one model instance, which serves them concurrently (and batches
them; an op of another instance waits until none of them holds the GPU, so a
busy shared instance can make it wait long). An op on a GPU without `gpu_ids`
(not placed) takes no lock. GPU and
hosted ops take no core permits: they wait on their device or the network.

`hold` holds them for a block; `acquire` and `release` are its two halves, for
an op that gives them back while it backs off between retries.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from murakkab.hardware import LOCAL_NODE, usable_cores
from murakkab.plan import Placement

if TYPE_CHECKING:
    from murakkab.cluster import Cluster


@dataclass(frozen=True)
class Held:
    wait_s: float  # waited for the resources
    cores: int  # core permits held (what was asked, at most the pool's size)


class CorePool:
    """Counting permits; `acquire(n)` takes n at once, first come first served.

    A release hands the permits to the waiters at the head of the line and
    wakes only those, so a pool with many waiters costs one wake-up per grant.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.free = self.capacity
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[int, threading.Lock]] = collections.deque()

    def acquire(self, n: int) -> int:
        n = max(1, min(n, self.capacity))
        with self._lock:
            if not self._queue and self.free >= n:
                self.free -= n
                return n
            granted = threading.Lock()
            granted.acquire()
            self._queue.append((n, granted))
        granted.acquire()  # released by `release` once the permits are ours
        return n

    def release(self, n: int) -> None:
        with self._lock:
            self.free += n
            while self._queue and self._queue[0][0] <= self.free:
                wanted, granted = self._queue.popleft()
                self.free -= wanted
                granted.release()


class GpuLocks:
    """One lock per GPU, shared by holders with the same owner (instance key)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: dict[tuple[str, str, int], str] = {}
        self._holders: dict[tuple[str, str, int], int] = {}

    def acquire(self, gpus: list[tuple[str, str, int]], owner: str) -> None:
        with self._cond:
            while any(self._owner.get(g, owner) != owner for g in gpus):
                self._cond.wait()
            for gpu in gpus:
                self._owner[gpu] = owner
                self._holders[gpu] = self._holders.get(gpu, 0) + 1

    def release(self, gpus: list[tuple[str, str, int]]) -> None:
        with self._cond:
            for gpu in gpus:
                self._holders[gpu] -= 1
                if self._holders[gpu] == 0:
                    del self._holders[gpu], self._owner[gpu]
            self._cond.notify_all()


class Resources:
    """The core pools of a cluster's nodes and the locks of their GPUs."""

    def __init__(self, node_cores: Mapping[str, int], local_cores: int | None = None) -> None:
        self.pools = {name: CorePool(cores) for name, cores in node_cores.items()}
        # Unplaced steps run on this machine: its node's pool when the cluster is
        # this machine, else one of its usable cores.
        local = self.pools.get(LOCAL_NODE)
        if local is None or local_cores is not None:
            local = CorePool(local_cores if local_cores is not None else usable_cores())
        self.local = local
        self.gpus = GpuLocks()

    @staticmethod
    def of(cluster: Cluster) -> Resources:
        return Resources({node.name: node.cpu_cores for node in cluster.nodes})

    def pool(self, node: str) -> CorePool:
        return self.pools.get(node, self.local)

    @contextlib.contextmanager
    def hold(self, placement: Placement | None, cores: int, owner: str) -> Iterator[Held]:
        """Hold what the op needs while the block runs: `cores` permits of its
        node on a CPU (at most the pool's size), its GPUs on a GPU."""
        held = self.acquire(placement, cores, owner)
        try:
            yield held
        finally:
            self.release(placement, held)

    def acquire(self, placement: Placement | None, cores: int, owner: str) -> Held:
        """Take what the op needs, waiting for it; give it back with `release`."""
        began = time.monotonic()
        if placement is None or placement.device == "hosted":
            return Held(0.0, cores)
        if placement.device == "cpu":
            taken = self.pool(placement.node).acquire(cores)
            return Held(time.monotonic() - began, taken)
        self.gpus.acquire(_gpus(placement), owner)
        return Held(time.monotonic() - began, cores)

    def release(self, placement: Placement | None, held: Held) -> None:
        """Give back what `acquire(placement, ...)` returned as `held`."""
        if placement is None or placement.device == "hosted":
            return
        if placement.device == "cpu":
            self.pool(placement.node).release(held.cores)
        else:
            self.gpus.release(_gpus(placement))


def _gpus(placement: Placement) -> list[tuple[str, str, int]]:
    return [(placement.node, placement.gpu_type, i) for i in sorted(placement.gpu_ids)]
