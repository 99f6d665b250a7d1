"""The live progress display of `mkc run`: one line per op and a bar for the run, on stderr.

`RunProgress.on_event` is the runtime's event hook (`RunOptions.on_event`):
"start" shows an op as running, "retry" and "fallback" say so, "end",
"cached" and "failed" settle it. The runtime calls it from worker threads;
rich's Progress is thread-safe, and the bookkeeping here is under a lock.
Disabled (a no-op) when stderr is not a terminal, with `--json` or `-q`, or
when rich is not installed.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from types import TracebackType
from typing import Any

from murakkab.runtime.trace import OpTrace

# Finished ops stay on screen until this many more have finished (running ones always do).
KEEP_FINISHED = 8


class RunProgress:
    def __init__(self, workflow: str, total: int, enabled: bool) -> None:
        self.workflow = workflow
        self.total = total
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._settled: set[str] = set()
        self._finished: deque[Any] = deque()
        self._progress: Any = None
        self._overall: Any = None
        if enabled and sys.stderr.isatty():
            self._progress = _rich_progress()

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
            self._overall = self._progress.add_task(
                f"[bold]{self.workflow}[/]", total=self.total or None, state="", overall=True
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_event(self, kind: str, trace: OpTrace) -> None:
        if self._progress is None:
            return
        with self._lock:
            task = self._tasks.get(trace.step)
            if task is None:
                task = self._progress.add_task(trace.step, total=1, state="", overall=False)
                self._tasks[trace.step] = task
            state = _state(kind, trace)
            done = kind in ("end", "cached", "failed")
            self._progress.update(task, state=state, completed=1 if done else 0)
            if done and trace.step not in self._settled:
                self._settled.add(trace.step)
                self._progress.update(self._overall, completed=len(self._settled))
                self._finished.append(task)
                if len(self._finished) > KEEP_FINISHED:
                    self._progress.update(self._finished.popleft(), visible=False)


def _state(kind: str, trace: OpTrace) -> str:
    where = f"{trace.impl} on {trace.device}"
    if kind == "start":
        return f"[cyan]running[/] {where}"
    if kind == "retry":
        return f"[yellow]retrying[/] {where} (attempt {trace.attempts + 1})"
    if kind == "fallback":
        return f"[yellow]fallback[/] from {trace.fallback_from or '?'} to {trace.impl}"
    if kind == "cached":
        return "[dim]cached[/]"
    if kind == "failed":
        return f"[red]failed[/] {where}"
    latency = f"{trace.latency_s:.3g} s"
    if trace.fallback_from:
        return f"[green]done[/] {latency} ({trace.impl}, after {trace.fallback_from})"
    return f"[green]done[/] {latency}"


def _rich_progress() -> Any:
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text
    except ImportError:
        return None

    class OverallOnly(ProgressColumn):
        """A column shown on the run's line only: op lines have no bar or count."""

        def __init__(self, inner: ProgressColumn) -> None:
            super().__init__()
            self.inner = inner

        def render(self, task: Task) -> Any:
            return self.inner.render(task) if task.fields.get("overall") else Text("")

    return Progress(
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("{task.description}"),
        OverallOnly(BarColumn(bar_width=24)),
        OverallOnly(MofNCompleteColumn()),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
