"""FAKE executors for the Ray backend's tests: the fake executors of
tests/fake_executors.py, plus one that lets a test kill the worker running it.

`killable(capability, folder)` answers like the fake of `capability`, but first
writes a file named after its process id into `folder`; on its first attempt it
then waits (up to `hold_s`) for the test to kill that process, so the op is
certainly running when its worker dies. A retry (another worker) finds the
file and answers at once. While it waits it honours the runtime's cancel event
(`Call.cancel`, when the runtime sets one): cancelled, it raises at once.
`held_module(capability, folder)` is the source of an `--executors` module
whose op of `capability` is killable: what a plan run as a program imports.
Never what `mkc run` uses.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from murakkab.executors import Call
from tests.fake_executors import EXECUTORS as FAKE
from tests.fake_executors import fake

EXECUTORS = dict(FAKE)


def killable(capability: str, folder: str, hold_s: float = 60.0) -> Callable[[Call], Any]:
    answer = fake(capability)

    def run(call: Call) -> Any:
        marks = Path(folder)
        first = not any(marks.glob("pid-*"))
        temporary = marks / f".pid-{os.getpid()}"
        temporary.write_text(str(os.getpid()))
        temporary.rename(marks / f"pid-{os.getpid()}")  # whole, or not there at all
        if first:
            cancel = getattr(call, "cancel", None)
            deadline = time.monotonic() + hold_s
            while time.monotonic() < deadline:  # the test kills this process meanwhile
                if cancel is not None and cancel.is_set():
                    raise RuntimeError(f"{capability} cancelled")
                time.sleep(0.05)
        return answer(call)

    run.__name__ = f"killable_{capability.replace('.', '_')}"
    return run


def held_module(capability: str, folder: str, hold_s: float = 60.0) -> str:
    """The source of an `--executors` module: the fakes, with `capability` killable."""
    held = f"killable({capability!r}, {folder!r}, {hold_s!r})"
    return (
        "from tests.fake_ray_executors import EXECUTORS as FAKES, killable\n"
        f"EXECUTORS = {{**FAKES, {capability!r}: {held}}}\n"
    )


def worker_pids(folder: Path) -> list[int]:
    """The processes that ran the killable op, first attempt first."""
    marks = sorted(folder.glob("pid-*"), key=lambda p: p.stat().st_mtime_ns)
    return [int(p.name.removeprefix("pid-")) for p in marks]
