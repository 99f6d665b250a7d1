"""What an emitted plan imports at run time (besides the runtime): its command line,
the futures-based data flow of the Python plan, and the flow ops' loops.

A Python plan is a list of calls `flow.op(fn, *args)`: `Dataflow` starts each
call on its own thread as soon as every future among its arguments (nested in
lists and dicts too) has a value, so independent branches run at the same time;
`finish` waits for every call of the scope and raises the first failure.
Nothing here imports Ray: the Ray plan reuses only `plan_arguments` and
`report`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from murakkab.plan import Plan, Step
from murakkab.runtime.invoke import StepFailed, invoke_step
from murakkab.runtime.options import RunOptions, executors_of
from murakkab.runtime.resources import Resources
from murakkab.runtime.trace import OpTrace, RunResult


def copy_label(label: str, index: int) -> str:
    """The label suffix of copy `index` of a `flow.parallel` body."""
    return f"{label}#{index}"


def round_label(label: str, index: int) -> str:
    """The label suffix of round `index` of a `flow.repeat` body."""
    return f"{label}@{index}"


class PlanRun:
    """One run of a Python plan: the steps by name, the options, the traces so far."""

    def __init__(self, plan: Plan, options: RunOptions) -> None:
        prepared = options.prepared()
        # As `run_plan` does: hold each op's cores and GPUs on its node, times from now.
        resources = options.resources or Resources.of(prepared.resolved_cluster())
        self.plan = plan
        self.options = dataclasses.replace(prepared, t0=time.monotonic(), resources=resources)
        self.steps: dict[str, Step] = {step.name: step for step in plan.walk()}
        self.traces: list[OpTrace] = []
        self.failed: StepFailed | None = None  # the first op that failed for good
        self._lock = threading.Lock()

    def execute(self, workflow: Callable[..., Any], inputs: dict[str, Any]) -> RunResult:
        """`workflow(run, values)` on the inputs (the plan's defaults fill the rest)."""
        values = plan_inputs(self.plan, inputs)
        return timed_run(
            self.plan, "python", lambda: workflow(self, values), self.traces, self._lock
        )

    def invoke(self, name: str, args: tuple[Any, ...], label: str = "") -> Any:
        """Run one op (cache, retries, fallbacks) and record its trace."""
        try:
            value, trace = invoke_step(self.steps[name], args, self.options, label=name + label)
        except StepFailed as failed:
            self.record(failed.trace)
            with self._lock:
                self.failed = self.failed or failed
            raise
        self.record(trace)
        return value

    def record(self, trace: OpTrace) -> None:
        with self._lock:
            self.traces.append(trace)

    def dataflow(self, label: str = "") -> Dataflow:
        return Dataflow(self, label)

    def parallel(
        self, count: int, body: Callable[..., Any], reads: dict[str, Any], label: str = ""
    ) -> list[Any]:
        """`count` copies of `body`, at the same time; what each yields, in order."""

        def copy(index: int) -> Callable[[], Any]:
            return lambda: body(self, dict(reads), label=copy_label(label, index))

        copies = [_spawn(copy(index)) for index in range(count)]
        return [future.result() for future in copies]

    def repeat(
        self,
        rounds: int,
        body: Callable[..., Any],
        reads: dict[str, Any],
        carried: str,
        initial: Any,
        label: str = "",
    ) -> Any:
        """`rounds` rounds of `body`, each given the previous round's value as `carried`."""
        value = initial
        for index in range(rounds):
            value = body(self, {**reads, carried: value}, label=round_label(label, index))
        return value


class Dataflow:
    """The ops of one scope (the workflow, or one copy of a body), each started
    once its inputs are ready."""

    def __init__(self, run: PlanRun, label: str) -> None:
        self.run = run
        self.label = label
        self._started: list[Future[Any]] = []

    def op(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """`fn(run, *values, label=...)` once every future in `args` is done."""
        waiting = [f for arg in args for f in _futures(arg)]
        out: Future[Any] = Future()
        self._started.append(out)
        pending = [len(waiting)]
        lock = threading.Lock()

        def start() -> None:
            try:
                values = [_resolve(arg) for arg in args]
            except BaseException as error:  # an input failed: so does this op
                out.set_exception(error)
                return
            if self.run.failed is not None:  # as the local runtime: start nothing new
                out.set_exception(self.run.failed)
                return
            _spawn(lambda: fn(self.run, *values, label=self.label), out)

        def ready(_: Future[Any]) -> None:
            with lock:
                pending[0] -= 1
                last = pending[0] == 0
            if last:
                start()

        if not waiting:
            start()
        for future in waiting:
            future.add_done_callback(ready)
        return out

    def finish(self, result: Any) -> Any:
        """Wait for every op of the scope; raise the first failure, else the result."""
        for future in self._started:
            future.exception()
        for future in self._started:
            if (error := future.exception()) is not None:
                raise error
        return _resolve(result)


def _spawn(work: Callable[[], Any], out: Future[Any] | None = None) -> Future[Any]:
    """Run `work` on a new thread; its value or exception lands in the future."""
    future: Future[Any] = out if out is not None else Future()

    def target() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(error)

    threading.Thread(target=target, daemon=True).start()
    return future


def _futures(value: Any) -> list[Future[Any]]:
    if isinstance(value, Future):
        return [value]
    if isinstance(value, list):
        return [f for item in value for f in _futures(item)]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _futures(item)]
    return []


def _resolve(value: Any) -> Any:
    if isinstance(value, Future):
        return value.result()
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    return value


# ---- the command line of an emitted plan ---------------------------------------------


@dataclass(frozen=True)
class PlanArguments:
    inputs: dict[str, Any]
    options: RunOptions
    as_json: bool
    ray_address: str | None = None


def plan_arguments(
    argv: Sequence[str] | None,
    plan: Plan,
    *,
    description: str,
    ray: bool = False,
) -> PlanArguments:
    """Parse `--input NAME=VALUE` (JSON values accepted; defaults from the file's
    run request), `--executors MODULE`, `--cache-dir DIR`, `--json` (and, for a
    Ray plan, `--ray-address ADDRESS`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow input (a JSON value, or else the text as it is); repeatable; "
        "defaults come from the job's run request",
    )
    parser.add_argument(
        "--executors",
        metavar="MODULE",
        help="a module whose EXECUTORS dict overrides implementations (tests: "
        "tests.fake_executors)",
    )
    parser.add_argument("--cache-dir", metavar="DIR", help="cache op results here")
    parser.add_argument("--retries", type=int, default=2, help="extra attempts per implementation")
    parser.add_argument("--json", action="store_true", help="print the run as JSON")
    if ray:
        parser.add_argument(
            "--ray-address",
            metavar="ADDRESS",
            help="run on this Ray cluster (default: start a local Ray for this run)",
        )
    args = parser.parse_args(argv)
    known = {name for name, _ in plan.params}
    inputs: dict[str, Any] = {}
    for item in args.input:
        name, equals, text = item.partition("=")
        if not equals or name not in known:
            parser.error(f"--input wants NAME=VALUE with NAME one of {', '.join(sorted(known))}")
        inputs[name] = _input_value(text)
    missing = sorted(known - set(inputs) - set(plan.defaults))
    if missing:
        parser.error(f"missing --input for {', '.join(missing)}")
    if args.executors is not None:
        # As `python -m` does: the executors module may live in the current directory.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            executors_of(args.executors)
        except (ImportError, ValueError) as error:
            parser.error(f"--executors {args.executors}: {error}")
    options = RunOptions(
        executors_module=args.executors,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        retries=args.retries,
    )
    return PlanArguments(inputs, options, args.json, getattr(args, "ray_address", None))


def _input_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def report(result: RunResult, as_json: bool) -> int:
    """Print the result (or the whole run as JSON); the exit status of the plan."""
    if as_json:
        print(json.dumps(result.as_dict(), indent=1, sort_keys=True, default=repr))
    elif result.status == "ok":
        value = result.result
        print(value if isinstance(value, str) else json.dumps(value, indent=1, default=repr))
    if result.status != "ok":
        print(f"{result.workflow}: {result.status}: {result.error}", file=sys.stderr)
        return 1
    return 0


def plan_inputs(plan: Plan, inputs: dict[str, Any]) -> dict[str, Any]:
    """The workflow's inputs: `inputs` over the plan's defaults (its run request)."""
    values = {**plan.defaults, **inputs}
    missing = [name for name, _ in plan.params if name not in values]
    if missing:
        raise ValueError(f"{plan.workflow} needs the input(s) {', '.join(missing)}")
    return values


def timed_run(
    plan: Plan,
    backend: str,
    body: Callable[[], Any],
    traces: list[OpTrace],
    lock: threading.Lock,
) -> RunResult:
    """Run `body`; its value, or its failure, with the traces recorded, as a `RunResult`."""
    began = time.monotonic()
    status, value, error = "ok", None, ""
    try:
        value = body()
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted (Ctrl-C)"
    except StepFailed as failed:
        status, error = "failed", failed.message
    except Exception as failure:  # noqa: BLE001 - a failed run is a result, not a crash
        status, error = "failed", f"{type(failure).__name__}: {failure}"
    with lock:
        ordered = sorted(traces, key=lambda t: (t.start, t.step))
    wall = time.monotonic() - began
    return RunResult(plan.workflow, value, ordered, wall, status, error, backend=backend)
