"""What an emitted plan imports at run time (besides the runtime): its command line,
the futures-based data flow of the Python plan, and what both backends report.

A Python plan is a list of calls `flow.op(fn, *args)`: `Dataflow` starts each
call on its own thread as soon as every future among its arguments (nested in
lists and dicts too) has a value, so independent branches run at the same time;
`finish` waits for every call of the scope and raises the first failure. The
first op that fails for good, or Ctrl-C, stops new ops from starting, as in
`run_plan`; after Ctrl-C the running ones get `RunOptions.grace_s` to finish,
then the run's cancel event (`Call.cancel`) is set and they get
`CANCEL_WAIT_S` more to stop (another Ctrl-C cuts a wait short), and the run
ends "interrupted" (exit status 130, one line saying what finished).
Nothing here imports Ray: the Ray plan reuses the command line
(`plan_arguments`, `load_executors`), `plan_inputs`, `interrupted_error` and
`report`; the flow ops both share are in backends/flow.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from murakkab.backends.flow import FlowRun, handles, map_leaves

from murakkab.plan import Plan, Step
from murakkab.report.inputs import InputError, parse_inputs
from murakkab.runtime.engine import CANCEL_WAIT_S, on_ctrl_c
from murakkab.runtime.invoke import StepFailed, invoke_step
from murakkab.runtime.options import Executor, RunOptions
from murakkab.runtime.resources import Resources
from murakkab.runtime.trace import OpTrace, RunResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class RunInterrupted(Exception):
    """What an op not started before Ctrl-C ends with (nobody reports it)."""


class PlanRun(FlowRun):
    """One run of a Python plan: the steps by name, the options, the traces so far."""

    def __init__(self, plan: Plan, options: RunOptions) -> None:
        prepared = options.prepared()
        # As `run_plan` does: hold each op's cores and GPUs on its node, times from now,
        # and a cancel event for the run (the caller's, when it gives one).
        resources = options.resources or Resources.of(prepared.resolved_cluster())
        self.cancel = options.cancel if options.cancel is not None else threading.Event()
        self.plan = plan
        self.options = dataclasses.replace(
            prepared, t0=time.monotonic(), resources=resources, cancel=self.cancel
        )
        self.steps: dict[str, Step] = {step.name: step for step in plan.walk()}
        self.traces: list[OpTrace] = []
        self.failed: StepFailed | None = None  # the first op that failed for good
        self.stopped: BaseException | None = None  # why no new op starts (a failure, Ctrl-C)
        self.running = 0  # ops invoked and not returned
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def execute(self, workflow: Callable[..., Any], inputs: dict[str, Any]) -> RunResult:
        """`workflow(run, values)` on the inputs (the plan's defaults fill the rest)."""
        values = plan_inputs(self.plan, inputs)
        return timed_run(
            self.plan,
            "python",
            lambda: workflow(self, values),
            self.traces,
            self._lock,
            on_interrupt=self.interrupt,
            cancel=self.cancel,
            cache_dir=self.options.cache_dir,
        )

    def invoke(self, name: str, args: tuple[Any, ...], label: str = "") -> Any:
        """Run one op (cache, retries, fallbacks) and record its trace."""
        with self._lock:
            if self.stopped is not None:  # stopped after the op was started
                raise self.stopped
            self.running += 1
        try:
            value, trace = invoke_step(self.steps[name], args, self.options, label=name + label)
        except StepFailed as failed:
            self.record(failed.trace)
            with self._lock:
                self.failed = self.failed or failed
                self.stopped = self.stopped or failed
            raise
        finally:
            with self._lock:
                self.running -= 1
                self._idle.notify_all()
        self.record(trace)
        return value

    def record(self, trace: OpTrace) -> None:
        with self._lock:
            self.traces.append(trace)

    def dataflow(self, label: str = "") -> Dataflow:
        return Dataflow(self, label)

    def run_copies(self, copies: Sequence[Callable[[], Any]]) -> list[Any]:
        """The copies of a `flow.parallel` body, each on its own thread, at the same time."""
        started = [_spawn(copy) for copy in copies]
        return [future.result() for future in started]

    def interrupt(self) -> None:
        """After Ctrl-C, as `run_plan` does: start nothing new, give the running ops
        `grace_s` to finish, then set the cancel event (`Call.cancel`) and give them
        `CANCEL_WAIT_S` to stop; an op that does not is abandoned (a daemon thread,
        it ends with the process). Another Ctrl-C ends the current wait at once."""
        with self._lock:
            self.stopped = self.stopped or RunInterrupted("interrupted (Ctrl-C)")
        again = threading.Event()
        with on_ctrl_c(again.set):
            if not self.cancel.is_set():
                self._wait_for_ops(self.options.grace_s, again)
            if self.running:
                again.clear()
                self.cancel.set()
                self._wait_for_ops(CANCEL_WAIT_S, again)

    def _wait_for_ops(self, seconds: float, again: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        with self._idle:
            while self.running and not again.is_set() and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(min(left, 0.02))  # wakes when an op returns, or soon after Ctrl-C


class Dataflow:
    """The ops of one scope (the workflow, or one copy of a body), each started
    once its inputs are ready."""

    def __init__(self, run: PlanRun, label: str) -> None:
        self.run = run
        self.label = label
        self._started: list[Future[Any]] = []

    def op(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """`fn(run, *values, label=...)` once every future in `args` is done."""
        waiting: list[Future[Any]] = handles(args, Future)
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
            if self.run.stopped is not None:  # as the local runtime: start nothing new
                out.set_exception(self.run.stopped)
                return
            if self.run.cancel.is_set():  # cancelled from elsewhere (a parent run)
                out.set_exception(RunInterrupted("cancelled"))
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
    """Run `work` on a new (daemon) thread; its value or exception lands in the future."""
    future: Future[Any] = out if out is not None else Future()

    def target() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(error)

    threading.Thread(target=target, daemon=True).start()
    return future


def _resolve(value: Any) -> Any:
    """`value` with each future in it replaced by its value."""
    return map_leaves(value, lambda item: item.result() if isinstance(item, Future) else item)


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
    """Parse `--input NAME=VALUE` (read against the input's type exactly as `mkc run`
    reads it, `murakkab.report.inputs`; defaults from the file's run request),
    `--executors MODULE`, `--cache-dir DIR`, `--retries N`, `--json` (and, for a
    Ray plan, `--ray-address ADDRESS`). A bad value or module is one line on
    stderr and exit status 2."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow input, read as `mkc run --input` reads it: text as is, number and "
        "bool parsed, list<...> a JSON list or one item (repeat the flag to add items), "
        "records a JSON object, @FILE the file's text; defaults come from the job's run request",
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
    try:
        inputs = parse_inputs(plan, args.input, {})
    except InputError as error:
        _refuse(parser, str(error))
    if args.executors is not None:
        try:
            load_executors(args.executors)
        except ExecutorsError as error:
            _refuse(parser, str(error))
    try:
        options = RunOptions(
            executors_module=args.executors,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            retries=args.retries,
        )
    except ValueError as error:  # --retries out of range
        _refuse(parser, f"--retries {args.retries}: {error}")
    return PlanArguments(inputs, options, args.json, getattr(args, "ray_address", None))


def _refuse(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """A bad command line: one line on stderr, exit status 2."""
    print(f"{parser.prog}: error: {_one_line(message)}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


class ExecutorsError(ValueError):
    """A bad `--executors MODULE`; the message is one line naming the flag."""


def load_executors(module: str, root: str | None = None) -> dict[str, Executor]:
    """The `EXECUTORS` table of `--executors MODULE`, imported now, so that a bad
    module is a usage error rather than a failed run: anything its import raises
    (ImportError, SyntaxError, RuntimeError, even SystemExit), a missing or
    non-dict `EXECUTORS`, or one whose values are not callables becomes
    `ExecutorsError`. As `python -m` does, `root` (default: the current
    directory) is searched first: it is put first on `sys.path` unless it is
    there already (or is the current directory and "" is). What `mkc run
    --executors` and `python plan.py --executors` share."""
    root = os.getcwd() if root is None else root
    if root not in sys.path and not (root == os.getcwd() and "" in sys.path):
        sys.path.insert(0, root)
    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        detail = _one_line(error)
        raise ExecutorsError(f"--executors {module}: cannot import it ({detail})") from None
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the module's own code raised
        detail = f"{type(error).__name__}: {_one_line(error)}"
        raise ExecutorsError(f"--executors {module}: importing it raised {detail}") from None
    table = getattr(loaded, "EXECUTORS", None)
    if not isinstance(table, Mapping):
        raise ExecutorsError(
            f"--executors {module}: the module has no EXECUTORS dict "
            "(capability, or capability/implementation, -> function of a Call)"
        )
    bad = sorted(repr(k) for k, fn in table.items() if not isinstance(k, str) or not callable(fn))
    if bad:
        listed = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ExecutorsError(
            f"--executors {module}: EXECUTORS maps {listed} to something that is not a "
            "function of a Call (keys are capability names)"
        )
    return dict(table)


def _one_line(error: object) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return " ".join(lines) if len(lines) <= 3 else f"{lines[0]} ... {lines[-1]}"


def ray_address_problem(address: str, timeout_s: float = 5.0) -> str | None:
    """Why the Ray cluster at `address` cannot be reached, or None: for `HOST:PORT`
    and `ray://HOST[:PORT]` a TCP connection is tried first (`ray.init` on an
    unreachable address would retry for minutes). Other forms (`auto`, `local`)
    are left to Ray."""
    from urllib.parse import urlsplit

    text = address.strip()
    if text in ("", "auto", "local") or (":" not in text and "://" not in text):
        return None
    scheme = text.partition("://")[0] if "://" in text else ""
    if scheme not in ("", "ray"):
        return None
    try:
        parts = urlsplit(text if scheme else f"//{text}")
        host, port = parts.hostname, parts.port or (10001 if scheme == "ray" else None)
    except ValueError as error:
        return f"--ray-address {address}: not HOST:PORT or ray://HOST:PORT ({error})"
    if not host or port is None:
        return None
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        if isinstance(error, TimeoutError):
            reason = f"no answer within {timeout_s:g} s"
        return (
            f"--ray-address {address}: cannot reach a Ray cluster at {host}:{port} ({reason}); "
            "is the address right and the cluster up (`ray status`)?"
        )


# ---- running and reporting ------------------------------------------------------------


def report(result: RunResult, as_json: bool) -> int:
    """Print the result (or the whole run as JSON); the exit status of the plan:
    0 ok, 1 failed, 130 interrupted (one line on stderr saying what finished)."""
    if as_json:
        print(json.dumps(result.as_dict(), indent=1, sort_keys=True, default=repr))
    elif result.status == "ok":
        value = result.result
        print(value if isinstance(value, str) else json.dumps(value, indent=1, default=repr))
    if result.status == "interrupted":
        print(f"{result.workflow}: {result.error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.status != "ok":
        print(f"{result.workflow}: {result.status}: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def plan_inputs(plan: Plan, inputs: dict[str, Any]) -> dict[str, Any]:
    """The workflow's inputs: `inputs` over the plan's defaults (its run request)."""
    values = {**plan.defaults, **inputs}
    missing = [name for name, _ in plan.params if name not in values]
    if missing:
        raise ValueError(f"{plan.workflow} needs the input(s) {', '.join(missing)}")
    return values


def op_count(plan: Plan) -> int:
    """How many op calls the plan makes: leaf steps times the copies and rounds around them."""

    def count(steps: tuple[Step, ...]) -> int:
        return sum((step.count or 1) * count(step.body) if step.is_flow else 1 for step in steps)

    return count(plan.steps)


def interrupted_error(
    plan: Plan,
    traces: Sequence[OpTrace],
    cache_dir: Path | None,
    cause: str = "interrupted (Ctrl-C)",
) -> str:
    """What an interrupted run says, on one line: how many ops finished, and where
    their results are."""
    done = sum(1 for trace in traces if not trace.error)
    text = f"{cause} after {done} of {op_count(plan)} op(s) finished"
    if cache_dir is not None:
        return f"{text}; their results are in the cache at {cache_dir} (a rerun resumes from it)"
    return f"{text}; without --cache-dir a rerun starts over"


def timed_run(
    plan: Plan,
    backend: str,
    body: Callable[[], Any],
    traces: list[OpTrace],
    lock: threading.Lock,
    *,
    on_interrupt: Callable[[], None] | None = None,
    cancel: threading.Event | None = None,
    cache_dir: Path | None = None,
) -> RunResult:
    """Run `body`; its value, or its failure, with the traces recorded, as a `RunResult`.
    Ctrl-C calls `on_interrupt` (which stops the run) and ends it "interrupted"; so
    does `cancel`, set from elsewhere (a parent run), once `body` has stopped."""
    began = time.monotonic()
    status, value, error, cause = "ok", None, "", "interrupted (Ctrl-C)"
    try:
        value = body()
    except KeyboardInterrupt:
        status = "interrupted"
        if on_interrupt is not None:
            on_interrupt()
    except StepFailed as failed:
        status, error = "failed", failed.message
    except Exception as failure:  # noqa: BLE001 - a failed run is a result, not a crash
        status, error = "failed", f"{type(failure).__name__}: {failure}"
    if status == "failed" and cancel is not None and cancel.is_set():
        status, cause = "interrupted", "cancelled"
    with lock:
        ordered = sorted(traces, key=lambda t: (t.start, t.step))
    if status == "interrupted":
        error = interrupted_error(plan, ordered, cache_dir, cause)
        value = None
    wall = time.monotonic() - began
    return RunResult(plan.workflow, value, ordered, wall, status, error, backend=backend)
