"""`RunOptions`: how a plan (or one step) runs — executors, cache, retries, hooks, hardware."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.executors import Call

if TYPE_CHECKING:
    from murakkab.cluster import Cluster
    from murakkab.runtime.resources import Resources
    from murakkab.runtime.trace import OpTrace

Executor = Callable[[Call], Any]
EventHook = Callable[[str, "OpTrace"], None]
MAX_RETRIES = 10


@dataclass(frozen=True)
class RunOptions:
    """Options of the local runtime, shared by every backend that calls `invoke_step`.

    `executors` is an override table for tests and plugins: keys are capabilities
    ("llm.answer": the callable stands in for every implementation of it) or
    "capability/implementation" ("llm.answer/vllm": that implementation only,
    the more specific key wins). A callable may carry `open_instance` and
    `run_batch` attributes (the hooks an implementation module defines,
    docs/runtime.md). `executors_module` names a module whose `EXECUTORS` dict
    is loaded beneath `executors` (what a plan's `--executors MODULE` passes,
    e.g. "tests.fake_executors").

    `cache_dir` turns on the content-addressed result cache (None: off).
    `retries` (0 to `MAX_RETRIES`) are the extra attempts per implementation
    after a failure, with `backoff_s`, 2 x `backoff_s`, ... between them (each
    wait at most `invoke.MAX_BACKOFF_S`); then the step's fallbacks.
    `on_event(kind, trace)` is called with "start", "end", "retry", "fallback",
    "cached" and "failed" (a progress display; it must be quick and thread-safe).
    `cluster` prices and powers the device kinds for modelled energy and cost,
    and gives each node's core budget (None: `cluster_or_this_machine`).
    `t0` is the monotonic time trace times count from (`run_plan` sets it).
    `resources` gates steps by their cores and GPUs (`run_plan` sets it; None:
    no gating, e.g. under Ray, which holds the resources itself).
    `cancel` is the run's cancel event, passed to every executor as
    `Call.cancel` (`run_plan` makes one per run unless given one): setting it
    asks the running ops to stop, and `run_plan` returns "interrupted". A run
    started by an op may pass the op's `Call.cancel` here, to stop with it.
    Neither `resources` nor `cancel` pickles: leave them None in options sent
    to other processes.
    """

    executors: Mapping[str, Executor] | None = None
    executors_module: str | None = None
    cache_dir: Path | None = None
    retries: int = 2
    backoff_s: float = 0.05
    on_event: EventHook | None = None
    max_workers: int | None = None  # the run's thread pool (None: 64)
    cluster: Cluster | None = None
    t0: float = field(default_factory=time.monotonic)
    batch_window_s: float = 0.005  # how long a batch waits for more calls
    grace_s: float = 2.0  # after Ctrl-C, how long running ops may take to finish
    resources: Resources | None = None
    cancel: threading.Event | None = None

    def __post_init__(self) -> None:
        retries = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ValueError(f"retries must be a whole number, not {retries!r}")
        if not 0 <= retries <= MAX_RETRIES:
            raise ValueError(f"retries must be from 0 to {MAX_RETRIES}, not {retries}")
        for name in ("backoff_s", "grace_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")

    def table(self) -> Mapping[str, Executor]:
        """The override table: `executors` over the `executors_module`'s EXECUTORS."""
        if self.executors_module is None:
            return self.executors or {}
        return {**executors_of(self.executors_module), **(self.executors or {})}

    def resolved_cluster(self) -> Cluster:
        if self.cluster is not None:
            return self.cluster
        return _default_cluster(os.environ.get("MKC_CLUSTER") or None)

    def prepared(self) -> RunOptions:
        """A copy with the override table loaded and the cluster resolved, so that
        repeated `invoke_step` calls do neither again. Backends calling
        `invoke_step` themselves should pass `options.prepared()`."""
        return dataclasses.replace(
            self,
            executors=dict(self.table()),
            executors_module=None,
            cluster=self.resolved_cluster(),
        )


def executors_of(module_name: str) -> Mapping[str, Executor]:
    """The `EXECUTORS` dict of a module (`--executors MODULE`)."""
    module = importlib.import_module(module_name)
    table = getattr(module, "EXECUTORS", None)
    if not isinstance(table, Mapping):
        raise ValueError(
            f"module '{module_name}' has no EXECUTORS dict (capability -> function(Call))"
        )
    return table


@functools.lru_cache(maxsize=4)
def _default_cluster(path: str | None) -> Cluster:
    from murakkab.cluster import cluster_or_this_machine

    return cluster_or_this_machine(path)
