"""What an emitted Ray plan imports: the driver side (`RayRun`) and the worker side.

The driver builds the whole job as a graph of Ray object references without
waiting on any (a flow op's copies and rounds are unrolled as it goes), so Ray
starts every op as soon as its inputs exist, on any worker with room. Each op
runs `invoke_step` inside its worker: a task for a tool, a method call on the
actor of its model instance for a model (backends/ray/layout.py). A worker that
dies mid-op (killed, out of memory) loses no job: tasks are retried
(`max_retries`) and actors restarted with their calls retried
(`max_restarts`, `max_task_retries`). An op that fails for good (every retry and
fallback `invoke_step` made) is not retried by Ray: the error reaches the driver,
which then stops the run as the local runtime does, only harder: every op not
finished is cancelled (tasks with `force=True`, which ends their worker; actor
calls not started are dropped, and the actors, running calls and all, are
killed when the run releases them), and the run returns "failed" with the
traces of the ops that finished. Ctrl-C does the same and returns "interrupted".

Only Ray plans import this module; it needs `ray` (pip install "murakkab[ray]").
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from murakkab.backends.flow import FlowRun, handles, map_leaves
from murakkab.backends.support import (
    interrupted_error,
    plan_inputs,
    ray_address_problem,
)
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from murakkab.plan import Plan, Step
from murakkab.runtime.engine import on_ctrl_c
from murakkab.runtime.invoke import StepFailed, invoke_step
from murakkab.runtime.options import RunOptions
from murakkab.runtime.trace import OpTrace, RunResult

# How often Ray runs an op again after its worker died; separate from the
# runtime's own `retries`, which cover an executor raising.
WORKER_RETRIES = 3
READY_TIMEOUT_S = 120.0  # placement group and actors: longer means the cluster is too small
WAIT_S = 0.25  # the driver wakes this often while ops run, so that Ctrl-C is seen at once


class RunCancelled(Exception):
    """The caller's cancel event (`RunOptions.cancel`) was set during the run."""


class RayUnreachable(ConnectionError):
    """`--ray-address` names no cluster that answers; the message says so."""


class RemoteStepFailed(Exception):
    """`StepFailed` from a worker, in a form that pickles (its args are its fields)."""

    def __init__(self, message: str, trace: OpTrace) -> None:
        super().__init__(message, trace)
        self.message = message
        self.trace = trace

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class _Slot:
    """Where the value of the n-th object reference goes in a packed argument."""

    index: int


def run_op(
    step: Step, options: RunOptions, label: str, packed: Any, *values: Any
) -> tuple[Any, OpTrace]:
    """Worker side: one op through `invoke_step`; Ray resolved the references."""
    args = _unpack(packed, values)
    try:
        return invoke_step(step, tuple(args), options, label=label)
    except StepFailed as failed:
        raise RemoteStepFailed(failed.message, failed.trace) from None


_run_task = ray.remote(run_op)


@ray.remote
class ModelInstance:
    """The actor of one model instance: the runtime's instance cache lives in this
    process, so the model loads once and serves every op with its key."""

    def __init__(self, key: str) -> None:
        self.key = key

    def run_op(
        self, step: Step, options: RunOptions, label: str, packed: Any, *values: Any
    ) -> tuple[Any, OpTrace]:
        return run_op(step, options, label, packed, *values)


class RayRun(FlowRun):
    """One run of a Ray plan, from the driver. `parallel` and `repeat` (FlowRun)
    unroll flow ops as they go: a copy or round only submits its ops."""

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        *,
        actors: dict[str, dict[str, Any]],
        bundles: list[dict[str, Any]],
        local: dict[str, Any],
        address: str | None = None,
    ) -> None:
        self.plan = plan
        self.options = options
        self.steps = {step.name: step for step in plan.walk()}
        # Copies: connecting to a cluster may drop resources it lacks from them.
        self.actor_specs = copy.deepcopy(actors)
        self.bundles = copy.deepcopy(bundles)
        self.local = copy.deepcopy(local)
        self.address = address
        # Each op's trace reference, in submission order, and whether an actor runs it.
        self.submitted: list[tuple[Any, bool]] = []
        self.finished: list[OpTrace] = []  # the traces that came back, in arrival order
        self._taken: set[Any] = set()  # the trace references already read
        self.actors: dict[str, Any] = {}
        self.group: Any = None
        self.notes: list[str] = []
        self._worker_options: RunOptions = options

    # ---- the run ---------------------------------------------------------------------

    def execute(self, workflow: Callable[..., Any], inputs: dict[str, Any]) -> RunResult:
        """Submit the whole workflow, then collect its ops' traces as they come back.
        The first op that fails for good, or Ctrl-C, cancels every op not finished
        and ends the run at once ("failed" or "interrupted", with the traces so far)."""
        values = plan_inputs(self.plan, inputs)
        began = time.monotonic()
        started = False
        status, result, error, cause = "ok", None, "", "interrupted (Ctrl-C)"
        stop = False
        try:
            started = self._connect()
            self._prepare()
            outcome = workflow(self, values)
            failure = self._collect()
            if failure is not None:
                status, error = "failed", failure
            else:
                result = _resolve(outcome)
        except KeyboardInterrupt:
            status, stop = "interrupted", True
        except RunCancelled:
            status, cause, stop = "interrupted", "cancelled", True
        except RayUnreachable as unreachable:
            status, error = "failed", str(unreachable)
        except Exception as failure:  # noqa: BLE001 - a failed run is a result
            status, error, stop = "failed", _message(failure), True
        finally:
            with on_ctrl_c(lambda: None):  # what is left is quick: let it finish
                if stop:
                    self._stop()
                self._release(started)
        ordered = sorted(self.finished, key=lambda t: (t.start, t.step))
        if status == "interrupted":
            error = interrupted_error(self.plan, ordered, self.options.cache_dir, cause)
        wall = time.monotonic() - began
        return RunResult(self.plan.workflow, result, ordered, wall, status, error, backend="ray")

    def _connect(self) -> bool:
        """Use the Ray this process is connected to, else connect to `address`,
        else start a local Ray sized for the plan; True when we must shut it down."""
        if ray.is_initialized():
            return False
        common = init_options(_module_folder(self.options.executors_module))
        if self.address is not None:
            problem = ray_address_problem(self.address)
            if problem is not None:
                raise RayUnreachable(problem)
            ray.init(address=self.address, **common)
        else:
            ray.init(
                address="local",
                num_cpus=self.local["num_cpus"],
                num_gpus=self.local["num_gpus"],
                resources=self.local["resources"],
                **common,
            )
        return True

    def _prepare(self) -> None:
        """Options for the workers, the placement group, the actors."""
        prepared = self.options.prepared()
        # Workers get no event hook (it would run in their process), no local
        # resource gate (Ray holds the cores and GPUs) and no cancel event (it does
        # not pickle; cancelling is `ray.cancel`, `_stop`).
        # Times count from now (workers on this machine share its monotonic clock).
        self._worker_options = dataclasses.replace(
            prepared, on_event=None, resources=None, cancel=None, t0=time.monotonic()
        )
        self._check_capacity()
        if self.bundles:
            self.group = placement_group([b["resources"] for b in self.bundles], strategy="PACK")
            ready, _ = ray.wait([self.group.ready()], timeout=READY_TIMEOUT_S)
            if not ready:
                raise RuntimeError(
                    "the Ray cluster cannot hold the plan's placement group "
                    f"{[b['resources'] for b in self.bundles]} "
                    f"(it has {ray.cluster_resources()})"
                )
        for key, spec in self.actor_specs.items():
            self.actors[key] = ModelInstance.options(  # type: ignore[attr-defined]
                num_cpus=spec["num_cpus"],
                num_gpus=spec["num_gpus"],
                max_concurrency=spec["max_concurrency"],
                max_restarts=WORKER_RETRIES,
                max_task_retries=WORKER_RETRIES,
                scheduling_strategy=self._strategy(spec["bundle"]),
            ).remote(key)

    def _check_capacity(self) -> None:
        """Drop `node:NAME` resources an existing cluster lacks (its nodes are not
        named after the plan's); refuse GPUs it does not have, rather than hang."""
        have = ray.cluster_resources()
        for bundle in self.bundles:
            resources = bundle["resources"]
            for name in [n for n in resources if n.startswith("node:") and n not in have]:
                del resources[name]
                self.notes.append(f"the Ray cluster has no resource '{name}'")
        wanted = sum(b["resources"].get("GPU", 0) for b in self.bundles) + sum(
            a["num_gpus"] for a in self.actor_specs.values() if a["bundle"] is None
        )
        if wanted > have.get("GPU", 0):
            raise RuntimeError(
                f"the plan holds {wanted} GPUs at once; the Ray cluster has "
                f"{int(have.get('GPU', 0))}"
            )
        for note in self.notes:
            print(f"mkc ray plan: {note}; ops go wherever Ray has room", file=sys.stderr)

    def _strategy(self, bundle: int | None) -> Any:
        if bundle is None or self.group is None:
            return "DEFAULT"
        return PlacementGroupSchedulingStrategy(self.group, placement_group_bundle_index=bundle)

    def _collect(self) -> str | None:
        """Every op's trace as it arrives (the event hook sees them on the driver);
        at the first op that failed for good, every other op is cancelled and its
        message returned. Waits in short slices, so that Ctrl-C is seen at once."""
        pending = [ref for ref, _ in self.submitted]
        cancel = self.options.cancel
        while pending:
            if cancel is not None and cancel.is_set():  # from elsewhere (a parent run)
                raise RunCancelled
            done, pending = ray.wait(pending, num_returns=1, timeout=WAIT_S)
            for ref in done:
                failure = self._take(ref)
                if failure is not None:
                    self._stop(pending)
                    return failure
        return None

    def _take(self, ref: Any) -> str | None:
        """Record the trace behind `ref`; the failure's message when its op failed."""
        self._taken.add(ref)
        try:
            trace = ray.get(ref)
        except Exception as error:  # noqa: BLE001 - the op, or one it reads, failed
            cause = _cause(error)
            if not isinstance(cause, RemoteStepFailed):
                return _message(error)
            if cause.trace not in self.finished:
                self.finished.append(cause.trace)
                self._event("failed", cause.trace)
            return cause.message
        self.finished.append(trace)
        self._event("cached" if trace.cached else "end", trace)
        return None

    def _stop(self, pending: list[Any] | None = None) -> None:
        """Keep the traces of ops that have just finished, then cancel every op
        submitted: a task is stopped at once (`force=True` ends its worker), an
        actor call not started is dropped (a running one ends with its actor,
        which `_release` kills). Finished ops are not touched."""
        if not ray.is_initialized() or not self.submitted:
            return
        if pending is None:
            pending = [ref for ref, _ in self.submitted if ref not in self._taken]
        try:
            done = ray.wait(pending, num_returns=len(pending), timeout=0)[0] if pending else []
            for ref in done:
                self._take(ref)
        except Exception:  # noqa: BLE001 - only what finished anyway
            pass
        for ref, on_actor in self.submitted:
            try:
                ray.cancel(ref, force=not on_actor)
            except Exception:  # noqa: BLE001 - finished, or already gone
                pass

    def _event(self, kind: str, trace: OpTrace) -> None:
        if self.options.on_event is not None:
            self.options.on_event(kind, trace)

    def _release(self, started: bool) -> None:
        if ray.is_initialized():
            for actor in self.actors.values():
                ray.kill(actor, no_restart=True)
            if self.group is not None:
                remove_placement_group(self.group)
        if started:
            ray.shutdown()

    # ---- what the emitted functions call ---------------------------------------------

    def task(
        self,
        name: str,
        args: tuple[Any, ...],
        label: str,
        *,
        num_cpus: float,
        num_gpus: float,
        bundle: int | None,
    ) -> Any:
        """Submit op `name` as a Ray task; the reference to its value."""
        packed, refs = _pack(args)
        value, trace = _run_task.options(
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            num_returns=2,
            max_retries=WORKER_RETRIES,
            retry_exceptions=False,
            scheduling_strategy=self._strategy(bundle),
        ).remote(self.steps[name], self._worker_options, name + label, packed, *refs)
        self.submitted.append((trace, False))
        return value

    def actor_call(self, name: str, instance: str, args: tuple[Any, ...], label: str) -> Any:
        """Submit op `name` to the actor of its model instance; the reference to its value."""
        packed, refs = _pack(args)
        method = self.actors[instance].run_op.options(num_returns=2)
        value, trace = method.remote(
            self.steps[name], self._worker_options, name + label, packed, *refs
        )
        self.submitted.append((trace, True))
        return value


def init_options(executors_folder: str | None) -> dict[str, Any]:
    """The `ray.init` keywords of every murakkab driver (plans and `mkc run`): no
    dashboard, quiet logs, and workers that can import the `--executors` module
    from `executors_folder` as the driver does."""
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if executors_folder is not None:
        paths = [
            executors_folder,
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
        ]
        options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}
    return options


def _module_folder(name: str | None) -> str | None:
    """The folder on `sys.path` that holds module `name` (its top package)."""
    if name is None:
        return None
    spec = importlib.util.find_spec(name.partition(".")[0])
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    top = origin.parent if origin.name == "__init__.py" else origin
    return str(top.parent)


def _pack(value: Any) -> tuple[Any, list[Any]]:
    """`value` with each object reference in it replaced by a `_Slot`, and the
    references, passed to the task as top-level arguments so that Ray waits for them."""
    refs: list[Any] = []

    def slot(item: Any) -> Any:
        if not isinstance(item, ray.ObjectRef):
            return item
        refs.append(item)
        return _Slot(len(refs) - 1)

    return map_leaves(value, slot), refs


def _unpack(packed: Any, values: tuple[Any, ...]) -> Any:
    return map_leaves(packed, lambda item: values[item.index] if isinstance(item, _Slot) else item)


def _resolve(value: Any) -> Any:
    """`value` with each object reference in it replaced by its value."""
    refs = handles(value, ray.ObjectRef)
    if not refs:
        return value
    got = dict(zip(map(id, refs), ray.get(refs)))

    def value_of(item: Any) -> Any:
        return got[id(item)] if isinstance(item, ray.ObjectRef) else item

    return map_leaves(value, value_of)


def _cause(error: BaseException) -> BaseException:
    """The exception a task raised, under Ray's wrapping (RayTaskError.cause)."""
    seen = 0
    while (cause := getattr(error, "cause", None)) is not None and seen < 8:
        error, seen = cause, seen + 1
    return error


def _message(error: BaseException) -> str:
    cause = _cause(error)
    if isinstance(cause, RemoteStepFailed):
        return cause.message
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"
