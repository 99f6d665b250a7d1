"""`invoke_step`: run one leaf step of a plan — the primitive every backend shares.

In order: look the step up in the content-addressed cache; hold its cores or
GPUs (when `options.resources` is set); then for the planned implementation and
each fallback in turn: resolve it (override table, else its entry), open its
model instance once per process, call it (through its batcher when it batches)
and measure its energy; a failure is retried `options.retries` times with
exponential backoff (each wait at most `MAX_BACKOFF_S`, without holding the
cores or GPUs: they are given back for the wait and taken again after), then
the next implementation is tried. An `ExecutorError` (a missing package, a
refused request: retrying will not help) goes to the next implementation at
once. Success stores the result in the cache, keyed by the implementation that
answered, and returns it with its trace; failing for good raises `StepFailed`.

The cache lookup follows the order the run would take: the key of the planned
implementation first, then each fallback's, skipping implementations that
cannot be loaded here. An entry a fallback computed because an implementation
before it could not be loaded is not reused once that one loads: the step is
computed again, by it.

`options.cancel` (the run's cancel event) reaches each call as `Call.cancel`.
Once it is set, nothing is retried and no fallback is tried: the step fails
with "cancelled", and its result, if it comes anyway, is still stored.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from murakkab.executors import Call, ExecutorError
from murakkab.plan import Impl, Placement, Step
from murakkab.runtime.args import resolve_args
from murakkab.runtime.batching import BATCHERS
from murakkab.runtime.cache import CacheEntry, ResultCache, cache_key
from murakkab.runtime.energy import device_kind_of, gpu_count, meter
from murakkab.runtime.instances import INSTANCES
from murakkab.runtime.options import RunOptions
from murakkab.runtime.resolve import Resolved, executor_name, resolve
from murakkab.runtime.resources import Held, Resources
from murakkab.runtime.trace import OpTrace

__all__ = ["MAX_BACKOFF_S", "StepFailed", "copy_path", "invoke_step", "resolve_args"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 2.0  # the longest wait between two attempts
CANCELLED = "cancelled: the run was interrupted"


class StepFailed(Exception):
    """A step failed for good: every implementation, every retry. `message` is
    for the user (each implementation and why it failed); `trace` the op's trace,
    with `error` set."""

    def __init__(self, message: str, trace: OpTrace) -> None:
        super().__init__(message)
        self.message = message
        self.trace = trace

    def __reduce__(self) -> tuple[type[StepFailed], tuple[str, OpTrace]]:
        return (StepFailed, (self.message, self.trace))  # picklable, e.g. across Ray workers


def invoke_step(
    step: Step, args: tuple[Any, ...], options: RunOptions, *, label: str | None = None
) -> tuple[Any, OpTrace]:
    """Run one leaf step on resolved argument values; returns its value and trace.

    `label` names this execution in the trace (default: the step's name); inside
    flow ops it must follow the trace convention, "name#i" for copy i of a
    `flow.parallel` and "name@r" for round r of a `flow.repeat` (nested: the
    suffixes in order, e.g. "debated.revisions.revision@1#2"), because the
    cache keys each copy and round by that path (`copy_path`).
    """
    label = label or step.name
    trace = _new_trace(step, label)
    table = options.table()
    cache = ResultCache(options.cache_dir) if options.cache_dir is not None else None
    path = copy_path(label, step.name)
    if cache is not None:
        found = _lookup(cache, step, args, path, table)
        if found is not None:
            trace.start = trace.end = time.monotonic() - options.t0
            trace.impl, trace.executor = found.impl, found.executor
            trace.cached, trace.attempts = True, 0
            trace.energy_source = "none"
            if step.impl is not None and found.impl != step.impl.name:
                trace.fallback_from = step.impl.name
            _emit(options, "cached", trace)
            return found.value, trace
    if _cancelled(options):
        raise _cancel(step, trace, options, started=False)
    holding = _Holding(options.resources, step.placement, trace.cores, step.instance or label)
    try:
        held = holding.take()
        trace.wait_s, trace.cores = held.wait_s, held.cores
        value, resolved, missing = _run(step, args, options, table, trace, holding)
    finally:
        holding.give_back()
    if cache is not None and (key := _key(step, resolved, args, path)) is not None:
        cache.put(key, trace.impl, value, trace.executor, missing)
    return value, trace


def copy_path(label: str, name: str) -> str:
    """The copies and rounds a label names, in order: "@2#1" of "a.b@2#1" (step "a.b")."""
    suffix = label[len(name) :] if label.startswith(name) else label
    return "".join(re.findall(r"[#@]\d+", suffix))


def _candidates(step: Step) -> list[Impl | None]:
    return [step.impl, *step.fallbacks] if step.impl is not None else [None]


def _name(impl: Impl | None) -> str:
    return impl.name if impl is not None else "(override)"


def _key(step: Step, resolved: Resolved, args: tuple[Any, ...], path: str) -> str | None:
    return cache_key(step.op, resolved.executor, step.knobs, args, path, resolved.version)


def _lookup(
    cache: ResultCache, step: Step, args: tuple[Any, ...], path: str, table: Any
) -> CacheEntry | None:
    """The cached value of the step, by the implementations in plan order."""
    loadable: set[str] = set()  # implementations before the current one that load now
    tried: set[str] = set()
    for impl in _candidates(step):
        try:
            resolved = resolve(step.op, impl, table)
        except ExecutorError:
            continue  # cannot load here: the run would skip it too
        key = _key(step, resolved, args, path)
        if key is None:
            return None  # an argument has no canonical form: nothing is cached
        if key not in tried:
            tried.add(key)
            found = cache.get(key)
            if found is not None and not loadable.intersection(found.missing):
                return found
        loadable.add(_name(impl))
    return None


class _Holding:
    """The op's cores or GPUs: taken, given back while it backs off, taken again."""

    def __init__(
        self, resources: Resources | None, placement: Placement | None, cores: int, owner: str
    ) -> None:
        self.resources = resources
        self.placement = placement
        self.cores = cores
        self.owner = owner
        self.held: Held | None = None

    def take(self) -> Held:
        if self.resources is None:
            self.held = Held(0.0, self.cores)
        else:
            self.held = self.resources.acquire(self.placement, self.cores, self.owner)
        return self.held

    def give_back(self) -> None:
        held, self.held = self.held, None
        if held is not None and self.resources is not None:
            self.resources.release(self.placement, held)

    def pause(self, seconds: float, cancel: threading.Event | None) -> None:
        """Wait `seconds` (less when `cancel` is set) holding nothing."""
        self.give_back()
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            return  # cancelled: the caller stops, and needs nothing
        self.take()


def _run(
    step: Step,
    args: tuple[Any, ...],
    options: RunOptions,
    table: Any,
    trace: OpTrace,
    holding: _Holding,
) -> tuple[Any, Resolved, tuple[str, ...]]:
    """The value, the implementation that computed it, and the implementations
    planned before it that could not be loaded."""
    trace.start = time.monotonic() - options.t0
    trace.attempts = 0
    _emit(options, "start", trace)
    errors: list[str] = []
    missing: list[str] = []
    planned = trace.impl
    for n, impl in enumerate(_candidates(step)):
        name = _name(impl)
        if n > 0:
            trace.fallback_from = planned
            trace.impl = name
            _emit(options, "fallback", trace)
        try:
            resolved = resolve(step.op, impl, table)
        except ExecutorError as error:
            errors.append(str(error))  # names the implementation already
            missing.append(name)
            continue
        tries = 1 + options.retries
        for attempt in range(tries):
            if attempt > 0:
                delay = min(MAX_BACKOFF_S, options.backoff_s * 2 ** (attempt - 1))
                holding.pause(delay, options.cancel)
                if not _cancelled(options):
                    _emit(options, "retry", trace)
            if _cancelled(options):
                raise _cancel(step, trace, options)
            trace.attempts += 1
            try:
                value = _call(step, args, resolved, options, trace)
            except Exception as error:  # noqa: BLE001 - any failure of the executor is retried
                if _cancelled(options):
                    raise _cancel(step, trace, options) from None
                if isinstance(error, ExecutorError):
                    errors.append(f"{name}: {error}")
                    break
                log.info("%s: %s failed (attempt %d): %s", trace.step, name, attempt + 1, error)
                if attempt == tries - 1:
                    errors.append(f"{name}: {type(error).__name__}: {error}")
                continue
            trace.impl, trace.executor = resolved.impl, resolved.executor
            if trace.impl == trace.fallback_from:
                trace.fallback_from = ""
            trace.end = time.monotonic() - options.t0
            _emit(options, "end", trace)
            return value, resolved, tuple(missing)
    trace.end = time.monotonic() - options.t0
    trace.error = errors[-1] if errors else "no implementation ran"
    _emit(options, "failed", trace)
    message = f"step '{trace.step}' ({step.op}) failed: " + "; ".join(errors)
    raise StepFailed(message, trace)


def _cancelled(options: RunOptions) -> bool:
    return options.cancel is not None and options.cancel.is_set()


def _cancel(step: Step, trace: OpTrace, options: RunOptions, started: bool = True) -> StepFailed:
    """The failure of a step stopped by the run's cancel event."""
    trace.end = time.monotonic() - options.t0
    if not started:
        trace.start, trace.attempts = trace.end, 0
    trace.error = CANCELLED
    if started:
        _emit(options, "failed", trace)
    return StepFailed(f"step '{trace.step}' ({step.op}) {CANCELLED}", trace)


def _call(
    step: Step, args: tuple[Any, ...], resolved: Resolved, options: RunOptions, trace: OpTrace
) -> Any:
    """One attempt: instance, call (batched or not), energy and cost."""
    device = trace.device
    knobs = dict(step.knobs)
    cancel = options.cancel
    reading = meter().start(device, trace.gpu_ids, trace.node)
    size = 1
    try:
        instance = None
        if resolved.open_instance is not None:
            trace.instance = step.instance or f"{resolved.impl}@{device}"
            first = Call(step.op, args, knobs, device, trace.gpu_ids, trace.cores, cancel=cancel)
            owner = executor_name(resolved.open_instance)
            instance, loaded = INSTANCES.get(trace.instance, owner, resolved.open_instance, first)
            trace.instance_loaded = trace.instance_loaded or loaded
        call = Call(step.op, args, knobs, device, trace.gpu_ids, trace.cores, instance, cancel)
        if resolved.run_batch is not None and step.batch > 1:
            key = step.instance or resolved.executor
            batcher = BATCHERS.get(key, resolved.run_batch, options.batch_window_s)
            value, size = batcher.submit(call, step.batch)
            trace.batched = size
            return value
        return resolved.function(call)
    finally:
        kinds = options.resolved_cluster().kinds
        units = trace.cores if device == "cpu" else len(trace.gpu_ids) or gpu_count(device)
        spent = meter().stop(reading, device, trace.gpu_ids, units, device_kind_of(device, kinds))
        trace.energy_j += spent.joules / size
        trace.cost_usd += spent.cost_usd / size
        trace.energy_source = spent.source


def _new_trace(step: Step, label: str) -> OpTrace:
    placement = step.placement
    device = placement.device if placement is not None else "cpu"
    cores = placement.cores if placement is not None else 1
    fanout = step.knobs.get("fanout")
    if device == "cpu" and isinstance(fanout, int) and fanout > 1:
        cores *= fanout  # each of the fanout copies holds the op's cores (parallelism pass)
    return OpTrace(
        step=label,
        op=step.op,
        impl=step.impl.name if step.impl is not None else "(override)",
        device=device,
        node=placement.node if placement is not None else "",
        gpu_ids=placement.gpu_ids if placement is not None else (),
        cores=cores,
        predicted=dict(step.predicted),
    )


def _emit(options: RunOptions, kind: str, trace: OpTrace) -> None:
    if options.on_event is None:
        return
    try:
        options.on_event(kind, trace)
    except Exception:  # a progress display must not fail the run
        log.exception("on_event hook failed on %s of %s", kind, trace.step)
