"""`run_plan`: the local runtime, the embedded default backend.

The plan's steps form a dataflow graph per scope (the workflow's top level, and
each copy or round of a flow op's body). A step is launched when the steps it
reads have finished; leaf steps run on a thread pool through `invoke_step`
(which holds their cores or GPUs, so a launched step may still wait for its
node's budget). `flow.parallel` launches its `count` copies at once, each in a
scope of its own, and finishes with the list of their yields; `flow.repeat`
runs its rounds one after another, binding `body_args[0]` to its argument, then
to each round's yield, and finishes with the last. All scheduling happens under
one lock, in whichever thread finished the step that made others ready, so no
thread ever waits on another step.

Leaf steps run on one thread pool per process (up to 64 threads, started as
needed and kept), unless `options.max_workers` asks for a pool of the run's
own; a run started from inside an op always gets its own, so that it cannot
starve. The pools' threads are daemon threads (`_Pool`, not a
ThreadPoolExecutor, whose threads the interpreter joins at exit), so an op
still running never keeps the process from exiting.

A step failing for good stops the run: nothing new starts, the running steps
finish (their results go to the cache), and the result says which step failed
and why. Ctrl-C stops scheduling too, and waits at most `options.grace_s` for
the running steps to finish; then it sets the run's cancel event
(`options.cancel`, which executors see as `Call.cancel`: the sandbox kills its
process group and removes its files), waits at most `CANCEL_WAIT_S` for the
steps to stop, and returns status "interrupted" without waiting any longer.
Python cannot stop a thread: a step that ignores the event is abandoned, still
running in a daemon thread, and dies with the process. A second Ctrl-C ends
the grace period at once, a third the wait after the cancel; neither raises.
Setting `options.cancel` from elsewhere (a parent run) stops the run the same
way, without the grace period.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from murakkab.plan import Plan, Step
from murakkab.runtime.args import resolve_args, scope_deps
from murakkab.runtime.invoke import StepFailed, invoke_step
from murakkab.runtime.options import RunOptions
from murakkab.runtime.resources import Resources
from murakkab.runtime.trace import OpTrace, RunResult

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 64
CANCEL_WAIT_S = 1.0  # after setting the cancel event, how long steps get to stop
Env = collections.ChainMap[str, Any]
_WORKER = "mkc-op"
_pool_lock = threading.Lock()
_pool: _Pool | None = None


class _Pool:
    """Daemon threads running tasks from a queue, started as needed up to `size`:
    a task goes to an idle thread when there is one, else to a new thread while
    there are fewer than `size`, else waits for a thread to be free."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(1, size)
        self.name = name
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads that finished a task and will take the next

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < self.size:
                self._threads += 1
                name = f"{self.name}_{self._threads - 1}"
                threading.Thread(target=self._work, name=name, daemon=True).start()
        self._tasks.put(task)

    def shutdown(self) -> None:
        """The threads end once the tasks queued before are done; waits for none."""
        with self._lock:
            threads, self._threads = self._threads, self.size  # none started after
        for _ in range(threads):
            self._tasks.put(None)

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            try:
                task()
            except BaseException:  # noqa: BLE001 - a task's own bug must not kill the thread
                log.exception("runtime task failed")
            with self._lock:
                self._idle += 1


def _shared_pool() -> _Pool:
    """The process's pool: its threads outlive a run, so a run does not pay for
    starting them (tens of ms for 64 threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool(DEFAULT_WORKERS, _WORKER)
        return _pool


def _in_shared_pool() -> bool:
    """A run started by an op (a composition running a plan) gets a pool of its
    own: waiting for its ops in a thread of the shared pool could starve it."""
    return threading.current_thread().name.startswith(_WORKER)


def run_plan(plan: Plan, inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run `plan` on `inputs` (the workflow's parameters; the plan's `defaults`,
    from the file's run request, fill the ones not given)."""
    values = {**plan.defaults, **inputs}
    missing = [name for name, _ in plan.params if name not in values]
    if missing:
        raise ValueError(f"{plan.workflow} needs the input(s) {', '.join(missing)}")
    prepared = options.prepared()
    resources = options.resources or Resources.of(prepared.resolved_cluster())
    cancel = options.cancel if options.cancel is not None else threading.Event()
    prepared = dataclasses.replace(
        prepared, t0=time.monotonic(), resources=resources, cancel=cancel
    )
    return _Run(plan, prepared).execute(values)


class _Run:
    def __init__(self, plan: Plan, options: RunOptions) -> None:
        self.plan = plan
        self.options = options
        self.lock = threading.Lock()
        self.over = threading.Event()  # complete, or stopping with nothing running
        assert options.cancel is not None  # run_plan made one
        self.cancel = options.cancel
        self.private = options.max_workers is not None or _in_shared_pool()
        self.pool = (
            _Pool(options.max_workers or DEFAULT_WORKERS, _WORKER)
            if self.private
            else _shared_pool()
        )
        self.traces: list[OpTrace] = []
        self.running = 0  # leaf steps submitted and not finished
        self.stopping = False
        self.complete = False
        self.result: Any = None
        self.error = ""
        self.graphs: dict[int, _Graph] = {}

    def execute(self, inputs: dict[str, Any]) -> RunResult:
        status = "ok"
        cause = ""
        try:
            with self.lock:
                root = _Scope(self, self.plan.steps, collections.ChainMap(dict(inputs)), "")
                root.on_done = self._finish
                try:
                    root.start()
                except Exception as error:  # noqa: BLE001 - a malformed plan
                    self.fail(f"cannot start {self.plan.workflow}: {type(error).__name__}: {error}")
            self._wait()
            if self.cancel.is_set() and not self.complete:
                cause = "cancelled"
        except KeyboardInterrupt:
            cause = "interrupted (Ctrl-C)"
        if cause:
            status = "interrupted"
            self._stop(self.options.grace_s if not self.cancel.is_set() else 0.0)
        if self.private:
            self.pool.shutdown()
        if status == "ok" and not self.complete:
            status = "failed"
        with self.lock:
            traces = sorted(self.traces, key=lambda t: (t.start, t.step))
            abandoned = self.running
        if status == "interrupted":
            done = sum(1 for t in traces if not t.error)
            self.error = f"{cause} after {done} op(s) finished"
            if self.options.cache_dir is not None:
                self.error += f"; their results are in the cache at {self.options.cache_dir}"
            if abandoned:
                self.error += (
                    f"; {abandoned} op(s) did not stop when cancelled and were abandoned"
                    " (they end with the process)"
                )
        return RunResult(
            workflow=self.plan.workflow,
            result=self.result if status == "ok" else None,
            traces=traces,
            wall_s=time.monotonic() - self.options.t0,
            status=status,
            error=self.error,
        )

    def _wait(self) -> None:
        """Until the run is over, or its cancel event is set (from elsewhere)."""
        while not self.over.wait(0.1):  # a timeout, so that Ctrl-C is seen promptly
            if self.cancel.is_set():
                return

    def _stop(self, grace_s: float) -> None:
        """Start nothing new; give the running steps `grace_s` to finish, then set
        the cancel event and give them CANCEL_WAIT_S to stop. Meanwhile Ctrl-C
        ends the current wait instead of raising."""
        again = threading.Event()
        with on_ctrl_c(again.set):
            self.stopping = True  # a plain store: the workers see it at their next step
            self._wait_for_steps(grace_s, again)
            if self.running:
                again.clear()
                self.cancel.set()
                self._wait_for_steps(CANCEL_WAIT_S, again)

    def _wait_for_steps(self, seconds: float, again: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        while self.running and not again.is_set() and (left := deadline - time.monotonic()) > 0:
            again.wait(min(left, 0.02))  # polls `running`; wakes at once on Ctrl-C

    def _finish(self, env: Env) -> None:
        self.result = resolve_args(self.plan.result, env)
        self.complete = True
        self.over.set()

    def _check_over(self) -> None:
        if self.stopping and self.running == 0:
            self.over.set()

    def fail(self, message: str) -> None:
        """Called under the lock: the first failure stops the run."""
        if not self.stopping:
            self.error = message
        self.stopping = True
        self._check_over()

    def graph(self, steps: tuple[Step, ...]) -> _Graph:
        found = self.graphs.get(id(steps))
        if found is None:
            found = self.graphs[id(steps)] = _Graph(steps)
        return found

    def submit(self, scope: _Scope, step: Step, label: str) -> None:
        """Called under the lock: run a leaf step on the pool."""
        args = tuple(resolve_args(tree, scope.env) for tree in step.args)
        self.running += 1
        self.pool.submit(lambda: self._leaf(scope, step, args, label))

    def _leaf(self, scope: _Scope, step: Step, args: tuple[Any, ...], label: str) -> None:
        trace: OpTrace | None = None
        value: Any = None
        failure = ""
        if not self.stopping:
            try:
                value, trace = invoke_step(step, args, self.options, label=label)
            except StepFailed as failed:
                trace, failure = failed.trace, failed.message
            except BaseException as error:  # noqa: BLE001 - a bug must still end the run cleanly
                failure = f"step '{label}' ({step.op}): internal error: {error!r}"
        with self.lock:
            self.running -= 1
            if trace is not None:
                self.traces.append(trace)
            if failure:
                self.fail(failure)
            elif trace is not None and not self.stopping:
                try:
                    scope.finished(step, value)
                except Exception as error:  # noqa: BLE001 - a malformed plan
                    self.fail(f"after step '{label}': {type(error).__name__}: {error}")
            self._check_over()


class _Graph:
    """The dependencies among one scope's steps, computed once per body."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        deps = scope_deps(steps)
        self.steps = steps
        self.deps = deps
        self.dependents: dict[str, list[Step]] = {step.name: [] for step in steps}
        for step in steps:
            for name in deps[step.name]:
                self.dependents[name].append(step)


class _Scope:
    """One instance of a list of steps: the top level, or a copy or round of a body.
    Every method is called with the run's lock held."""

    def __init__(self, run: _Run, steps: tuple[Step, ...], env: Env, suffix: str) -> None:
        self.run = run
        self.graph = run.graph(steps)
        self.env = env
        self.suffix = suffix
        self.waiting = {name: set(deps) for name, deps in self.graph.deps.items()}
        self.pending = len(steps)
        self.on_done: Callable[[Env], None] = lambda env: None

    def start(self) -> None:
        if self.pending == 0:
            self.on_done(self.env)
            return
        for step in self.graph.steps:
            if not self.waiting[step.name]:
                self.launch(step)

    def finished(self, step: Step, value: Any) -> None:
        self.env[step.name] = value
        self.pending -= 1
        for dependent in self.graph.dependents[step.name]:
            waiting = self.waiting[dependent.name]
            waiting.discard(step.name)
            if not waiting and not self.run.stopping:
                self.launch(dependent)
        if self.pending == 0:
            self.on_done(self.env)

    def launch(self, step: Step) -> None:
        if self.run.stopping:
            return
        if step.op == "flow.parallel":
            self._parallel(step)
        elif step.op == "flow.repeat":
            self._repeat(step, 0, resolve_args(step.args[0], self.env) if step.args else None)
        else:
            self.run.submit(self, step, step.name + self.suffix)

    def _parallel(self, step: Step) -> None:
        results: list[Any] = [None] * step.count
        left = [step.count]

        def collect(index: int, env: Env) -> None:
            results[index] = resolve_args(step.yields, env)
            left[0] -= 1
            if left[0] == 0:
                self.finished(step, results)

        if step.count <= 0:
            self.finished(step, [])
            return
        for index in range(step.count):
            copy = _Scope(self.run, step.body, self.env.new_child(), f"{self.suffix}#{index}")
            copy.on_done = lambda env, index=index: collect(index, env)  # type: ignore[misc]
            copy.start()

    def _repeat(self, step: Step, round_: int, carried: Any) -> None:
        if round_ >= step.count:
            self.finished(step, carried)
            return
        bound = {step.body_args[0]: carried} if step.body_args else {}
        body = _Scope(self.run, step.body, self.env.new_child(bound), f"{self.suffix}@{round_}")
        body.on_done = lambda env: self._repeat(step, round_ + 1, resolve_args(step.yields, env))
        body.start()


@contextlib.contextmanager
def on_ctrl_c(handler: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C calls `handler` instead of raising KeyboardInterrupt while the block
    runs (in the main thread only: elsewhere Ctrl-C does not reach the run)."""
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: handler())
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
