"""`invoke_step`: run one leaf step of a plan — the primitive every backend shares.

In order: look the step up in the content-addressed cache; hold its cores or
GPUs (when `options.resources` is set); then for the planned implementation and
each fallback in turn: resolve it (override table, else its entry), open its
model instance once per process, call it (through its batcher when it batches)
and measure its energy; a failure is retried `options.retries` times with
exponential backoff, then the next implementation is tried. An `ExecutorError`
(a missing package, a refused request: retrying will not help) goes to the next
implementation at once. Success stores the result in the cache and returns it
with its trace; failing for good raises `StepFailed`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from murakkab.executors import Call, ExecutorError
from murakkab.plan import Impl, Step
from murakkab.runtime.args import resolve_args
from murakkab.runtime.batching import BATCHERS
from murakkab.runtime.cache import ResultCache, cache_key
from murakkab.runtime.energy import device_kind_of, gpu_count, meter
from murakkab.runtime.instances import INSTANCES
from murakkab.runtime.options import RunOptions
from murakkab.runtime.resolve import Resolved, executor_name, override_for, resolve
from murakkab.runtime.resources import Held
from murakkab.runtime.trace import OpTrace

__all__ = ["StepFailed", "invoke_step", "resolve_args"]

log = logging.getLogger(__name__)


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
    cache tells parallel copies apart by their "#i" suffixes.
    """
    label = label or step.name
    trace = _new_trace(step, label)
    table = options.table()
    cache = ResultCache(options.cache_dir) if options.cache_dir is not None else None
    key = None
    if cache is not None:
        primary = override_for(step.op, step.impl, table)
        executor = executor_name(primary) if primary is not None else _entry(step.impl)
        key = cache_key(step.op, executor, step.knobs, args, _copy_of(label, step.name))
        found = cache.get(key) if key is not None else None
        if found is not None:
            trace.start = trace.end = time.monotonic() - options.t0
            trace.impl, trace.executor = found.impl, found.executor
            trace.cached, trace.attempts = True, 0
            trace.energy_source = "none"
            if step.impl is not None and found.impl != step.impl.name:
                trace.fallback_from = step.impl.name
            _emit(options, "cached", trace)
            return found.value, trace
    holding: Any = (
        options.resources.hold(step.placement, trace.cores, step.instance or label)
        if options.resources is not None
        else contextlib.nullcontext(Held(0.0, trace.cores))
    )
    with holding as held:
        trace.wait_s, trace.cores = held.wait_s, held.cores
        value = _run(step, args, options, table, trace)
    if cache is not None and key is not None:
        cache.put(key, trace.impl, value, trace.executor)
    return value, trace


def _run(step: Step, args: tuple[Any, ...], options: RunOptions, table: Any, trace: OpTrace) -> Any:
    trace.start = time.monotonic() - options.t0
    trace.attempts = 0
    _emit(options, "start", trace)
    candidates: list[Impl | None] = [step.impl, *step.fallbacks] if step.impl else [None]
    errors: list[str] = []
    planned = trace.impl
    for n, impl in enumerate(candidates):
        name = impl.name if impl is not None else "(override)"
        if n > 0:
            trace.fallback_from = planned
            trace.impl = name
            _emit(options, "fallback", trace)
        try:
            resolved = resolve(step.op, impl, table)
        except ExecutorError as error:
            errors.append(str(error))  # names the implementation already
            continue
        tries = 1 + max(0, options.retries)
        for attempt in range(tries):
            if attempt > 0:
                time.sleep(options.backoff_s * 2 ** (attempt - 1))
                _emit(options, "retry", trace)
            trace.attempts += 1
            try:
                value = _call(step, args, resolved, options, trace)
            except ExecutorError as error:
                errors.append(f"{name}: {error}")
                break
            except Exception as error:  # noqa: BLE001 - any failure of the executor is retried
                log.info("%s: %s failed (attempt %d): %s", trace.step, name, attempt + 1, error)
                if attempt == tries - 1:
                    errors.append(f"{name}: {type(error).__name__}: {error}")
                continue
            trace.impl, trace.executor = resolved.impl, resolved.executor
            if trace.impl == trace.fallback_from:
                trace.fallback_from = ""
            trace.end = time.monotonic() - options.t0
            _emit(options, "end", trace)
            return value
    trace.end = time.monotonic() - options.t0
    trace.error = errors[-1] if errors else "no implementation ran"
    _emit(options, "failed", trace)
    message = f"step '{trace.step}' ({step.op}) failed: " + "; ".join(errors)
    raise StepFailed(message, trace)


def _call(
    step: Step, args: tuple[Any, ...], resolved: Resolved, options: RunOptions, trace: OpTrace
) -> Any:
    """One attempt: instance, call (batched or not), energy and cost."""
    device = trace.device
    knobs = dict(step.knobs)
    reading = meter().start(device, trace.gpu_ids)
    size = 1
    try:
        instance = None
        if resolved.open_instance is not None:
            trace.instance = step.instance or f"{resolved.impl}@{device}"
            first = Call(step.op, args, knobs, device, trace.gpu_ids, trace.cores)
            owner = executor_name(resolved.open_instance)
            instance, loaded = INSTANCES.get(trace.instance, owner, resolved.open_instance, first)
            trace.instance_loaded = trace.instance_loaded or loaded
        call = Call(step.op, args, knobs, device, trace.gpu_ids, trace.cores, instance)
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


def _entry(impl: Impl | None) -> str:
    return impl.entry if impl is not None else ""


def _copy_of(label: str, name: str) -> str:
    """The parallel copies a label names: "#1#0" of "a.b@2#1#0"."""
    suffix = label[len(name) :] if label.startswith(name) else label
    return "".join(re.findall(r"#\d+", suffix))


def _emit(options: RunOptions, kind: str, trace: OpTrace) -> None:
    if options.on_event is None:
        return
    try:
        options.on_event(kind, trace)
    except Exception:  # a progress display must not fail the run
        log.exception("on_event hook failed on %s of %s", kind, trace.step)
