"""Batching: concurrent calls to one executor instance served by one `run_batch`.

When an implementation defines `run_batch(calls: list[Call]) -> list` and a
step allows `batch > 1` (the batching pass sets it from the load curve), its
calls go through a `Batcher` per (instance key, run_batch). The first call to
arrive opens a group and waits up to `window_s` (a few ms) for more; calls
arriving meanwhile join it, until it holds `limit` calls. The first call then
runs `run_batch` on the group in its own thread and hands each call its
result; `OpTrace.batched` records the group's size. An error of `run_batch`
is raised in every call of the group (each then retries on its own).
A lone call waits the window and runs as a batch of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from murakkab.executors import Call

RunBatch = Callable[[list[Call]], list[Any]]


class _Group:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls: list[Call] = []
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.full = threading.Event()
        self.done = threading.Event()


class Batcher:
    def __init__(self, run_batch: RunBatch, window_s: float) -> None:
        self.run_batch = run_batch
        self.window_s = window_s
        self._lock = threading.Lock()
        self._open: _Group | None = None

    def submit(self, call: Call, limit: int) -> tuple[Any, int]:
        """The result of `call`, and the size of the group that computed it."""
        with self._lock:
            group = self._open
            leader = group is None
            if group is None:
                group = self._open = _Group(max(1, limit))
            index = len(group.calls)
            group.calls.append(call)
            if len(group.calls) >= group.limit:
                self._open = None
                group.full.set()
        if leader:
            self._lead(group)
        else:
            group.done.wait()
        if group.error is not None:
            raise group.error
        return group.results[index], len(group.calls)

    def _lead(self, group: _Group) -> None:
        group.full.wait(self.window_s)
        with self._lock:
            if self._open is group:
                self._open = None
        try:
            results = list(self.run_batch(list(group.calls)))
            if len(results) != len(group.calls):
                raise RuntimeError(
                    f"run_batch returned {len(results)} results for {len(group.calls)} calls"
                )
            group.results = results
        except BaseException as error:  # noqa: BLE001 - handed to every call of the group
            group.error = error
        finally:
            group.done.set()


class Batchers:
    """The process's batchers, one per (instance key, run_batch)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batchers: dict[tuple[str, int], Batcher] = {}

    def get(self, key: str, run_batch: RunBatch, window_s: float) -> Batcher:
        slot = (key, id(run_batch))
        with self._lock:
            found = self._batchers.get(slot)
            if found is None or found.run_batch is not run_batch:
                found = self._batchers[slot] = Batcher(run_batch, window_s)
            found.window_s = window_s
            return found


BATCHERS = Batchers()
