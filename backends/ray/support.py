"""What an emitted Ray plan imports: the driver side (`RayRun`) and the worker side.

The driver builds the whole job as a graph of Ray object references without
waiting on any (a flow op's copies and rounds are unrolled as it goes), so Ray
starts every op as soon as its inputs exist, on any worker with room. Each op
runs `invoke_step` inside its worker: a task for a tool, a method call on the
actor of its model instance for a model (backends/ray/layout.py). A worker that
dies mid-op (killed, out of memory) loses no job: tasks are retried
(`max_retries`) and actors restarted with their calls retried
(`max_restarts`, `max_task_retries`). An op that fails for good (every retry and
fallback `invoke_step` made) is not retried by Ray: the error reaches the driver.

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
from murakkab.backends.support import plan_inputs
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from murakkab.plan import Plan, Step
from murakkab.runtime.invoke import StepFailed, invoke_step
from murakkab.runtime.options import RunOptions
from murakkab.runtime.trace import OpTrace, RunResult

# How often Ray runs an op again after its worker died; separate from the
# runtime's own `retries`, which cover an executor raising.
WORKER_RETRIES = 3
READY_TIMEOUT_S = 120.0  # placement group and actors: longer means the cluster is too small


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


class RayRun:
    """One run of a Ray plan, from the driver."""

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
        self.traces: list[Any] = []  # object references to OpTraces, in submission order
        self.actors: dict[str, Any] = {}
        self.group: Any = None
        self.notes: list[str] = []
        self._worker_options: RunOptions = options

    # ---- the run ---------------------------------------------------------------------

    def execute(self, workflow: Callable[..., Any], inputs: dict[str, Any]) -> RunResult:
        values = plan_inputs(self.plan, inputs)
        began = time.monotonic()
        started = False
        status, result, error = "ok", None, ""
        traces: list[OpTrace] = []
        try:
            started = self._connect()
            self._prepare()
            outcome = workflow(self, values)
            traces, failure = self._collect()
            if failure is not None:
                status, error = "failed", failure
            else:
                result = _resolve(outcome)
        except KeyboardInterrupt:
            status, error = "interrupted", "interrupted (Ctrl-C)"
        except Exception as failure:  # noqa: BLE001 - a failed run is a result
            status, error = "failed", _message(failure)
        finally:
            self._release(started)
        ordered = sorted(traces, key=lambda t: (t.start, t.step))
        wall = time.monotonic() - began
        return RunResult(self.plan.workflow, result, ordered, wall, status, error, backend="ray")

    def _connect(self) -> bool:
        """Use the Ray this process is connected to, else connect to `address`,
        else start a local Ray sized for the plan; True when we must shut it down."""
        if ray.is_initialized():
            return False
        common: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        folder = _module_folder(self.options.executors_module)
        if folder is not None:
            # The workers must import the --executors module as this process does.
            paths = [folder, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
            common["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}
        if self.address is not None:
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
        # Workers get no event hook (it would run in their process) and no local
        # resource gate: Ray holds the cores and GPUs.
        # Times count from now (workers on this machine share its monotonic clock).
        self._worker_options = dataclasses.replace(
            prepared, on_event=None, resources=None, t0=time.monotonic()
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

    def _collect(self) -> tuple[list[OpTrace], str | None]:
        """Every op's trace as it arrives (the event hook sees them on the driver);
        the first failure's message, if any op failed for good."""
        traces: list[OpTrace] = []
        failure: str | None = None
        pending = list(self.traces)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                trace = ray.get(done[0])
            except Exception as error:  # noqa: BLE001 - the op, or one it reads, failed
                cause = _cause(error)
                if isinstance(cause, RemoteStepFailed):
                    if cause.trace not in traces:
                        traces.append(cause.trace)
                        self._event("failed", cause.trace)
                    failure = failure or cause.message
                else:
                    failure = failure or _message(error)
                continue
            traces.append(trace)
            self._event("cached" if trace.cached else "end", trace)
        return traces, failure

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
        self.traces.append(trace)
        return value

    def actor_call(self, name: str, instance: str, args: tuple[Any, ...], label: str) -> Any:
        """Submit op `name` to the actor of its model instance; the reference to its value."""
        packed, refs = _pack(args)
        method = self.actors[instance].run_op.options(num_returns=2)
        value, trace = method.remote(
            self.steps[name], self._worker_options, name + label, packed, *refs
        )
        self.traces.append(trace)
        return value

    def parallel(
        self, count: int, body: Callable[..., Any], reads: dict[str, Any], label: str = ""
    ) -> list[Any]:
        """`count` copies of `body`, submitted now; Ray runs them at once."""
        return [body(self, dict(reads), label=f"{label}#{index}") for index in range(count)]

    def repeat(
        self,
        rounds: int,
        body: Callable[..., Any],
        reads: dict[str, Any],
        carried: str,
        initial: Any,
        label: str = "",
    ) -> Any:
        """`rounds` rounds of `body`, chained through their yields, submitted now."""
        value = initial
        for index in range(rounds):
            value = body(self, {**reads, carried: value}, label=f"{label}@{index}")
        return value


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

    def walk(item: Any) -> Any:
        if isinstance(item, ray.ObjectRef):
            refs.append(item)
            return _Slot(len(refs) - 1)
        if isinstance(item, (list, tuple)):
            return type(item)(walk(i) for i in item)
        if isinstance(item, dict):
            return {key: walk(i) for key, i in item.items()}
        return item

    return walk(value), refs


def _unpack(packed: Any, values: tuple[Any, ...]) -> Any:
    if isinstance(packed, _Slot):
        return values[packed.index]
    if isinstance(packed, (list, tuple)):
        return type(packed)(_unpack(i, values) for i in packed)
    if isinstance(packed, dict):
        return {key: _unpack(i, values) for key, i in packed.items()}
    return packed


def _resolve(value: Any) -> Any:
    if isinstance(value, ray.ObjectRef):
        return ray.get(value)
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    return value


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
