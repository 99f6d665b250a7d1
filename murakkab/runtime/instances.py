"""One model-instance cache per process, shared by every op and every run in it.

An implementation module that defines `open_instance(call) -> object` (load
weights, start a server, open a session) gets that object back as
`Call.instance` on every call whose step has the same instance key
(`Step.instance`, e.g. "vllm/gemma-3-27b@gpu:h100x4": the compiler gives ops of
one implementation, model and device one key, and fused ops a shared one). The
object is opened once per key and process, even when many calls ask for it at
the same moment: the first opens it, the others wait for it. A failed open is
not remembered; the next call tries again.

Instances are never evicted in this version (a process runs one cluster's
worth of models); `clear()` drops them all, e.g. between tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from murakkab.executors import Call


@dataclass
class InstanceStats:
    loads: int = 0
    hits: int = 0


class InstanceCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opened: dict[tuple[str, str], Any] = {}
        self._opening: dict[tuple[str, str], threading.Lock] = {}
        self.stats = InstanceStats()

    def get(
        self, key: str, owner: str, open_instance: Callable[[Call], Any], call: Call
    ) -> tuple[Any, bool]:
        """The instance for (`key`, `owner`), opened with `open_instance(call)` the
        first time; returns it and whether this call opened it. `owner` names the
        module that opens it, so two implementations never share an object."""
        slot = (key, owner)
        with self._lock:
            if slot in self._opened:
                self.stats.hits += 1
                return self._opened[slot], False
            opening = self._opening.setdefault(slot, threading.Lock())
        with opening:  # one opener per key; the others wait here
            with self._lock:
                if slot in self._opened:
                    self.stats.hits += 1
                    return self._opened[slot], False
            instance = open_instance(call)
            with self._lock:
                self._opened[slot] = instance
                self.stats.loads += 1
            return instance, True

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._opened)

    def clear(self) -> None:
        with self._lock:
            self._opened.clear()
            self._opening.clear()
            self.stats = InstanceStats()


INSTANCES = InstanceCache()  # the process's cache
