"""FAKE executors for tests: deterministic stand-ins for every capability.

Never what `mkc run` uses by default. A fake returns a value of its
capability's result type derived from a digest of its arguments and its
`model` knob only, so the result of a plan does not depend on where or how it
was placed, and the local runtime, the Python plan and the Ray plan can be
compared for equality. Use with `--executors tests.fake_executors` (plans) or
`EXECUTORS` (the runtime's override table, keyed by capability).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from murakkab.catalogue import stdlib_catalogue
from murakkab.executors import Call
from murakkab.ir.types import ListType, PrimType, Type


def digest(call: Call) -> str:
    seen = {"capability": call.capability, "args": call.args, "model": call.knobs.get("model")}
    text = json.dumps(seen, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def fake_value(type_: Type, seed: str, length: int = 3) -> Any:
    """A value of `type_` made from `seed`."""
    if isinstance(type_, ListType):
        return [fake_value(type_.element, f"{seed}.{i}", length) for i in range(length)]
    name = type_.name if isinstance(type_, PrimType) else "any"
    if name == "number":
        return int(seed[:6], 16) / 0xFFFFFF
    if name in ("text", "any"):
        return f"fake:{seed}"
    if name == "code":
        return f"def solution():\n    return {seed!r}\n"
    return {"kind": name, "id": seed}  # video, scene, image, audio


def fake(capability: str) -> Callable[[Call], Any]:
    found = stdlib_catalogue().lookup(capability)
    if found is None:
        raise KeyError(capability)
    result_type = found.result

    def run(call: Call) -> Any:
        return fake_value(result_type, f"{capability}:{digest(call)}")

    run.__name__ = f"fake_{capability.replace('.', '_')}"
    return run


EXECUTORS: dict[str, Callable[[Call], Any]] = {
    capability.name: fake(capability.name) for capability in stdlib_catalogue().all()
}


# ---- FAKE behaviours for the runtime's tests (tests/test_runtime.py) -------------------


def fake_dispatch(call: Call) -> Any:
    """A FAKE entry ("tests.fake_executors:fake_dispatch") for any capability."""
    return EXECUTORS[call.capability](call)


def fake_always_fails(call: Call) -> Any:
    """A FAKE entry that always fails (a retryable error)."""
    raise RuntimeError(f"FAKE failure of {call.capability}")


def sleeping(seconds: float, capability: str) -> Callable[[Call], Any]:
    """A FAKE executor that sleeps, then answers like the fake of `capability`."""
    inner = fake(capability)

    def run(call: Call) -> Any:
        time.sleep(seconds)
        return inner(call)

    run.__name__ = f"fake_sleeping_{capability.replace('.', '_')}"
    return run


class Flaky:
    """A FAKE executor failing its first `fails` calls, then answering like `fake`."""

    def __init__(self, fails: int, capability: str) -> None:
        self.fails = fails
        self.calls = 0
        self.inner = fake(capability)
        self._lock = threading.Lock()
        self.__name__ = "fake_flaky"

    def __call__(self, call: Call) -> Any:
        with self._lock:
            self.calls += 1
            failing = self.calls <= self.fails
        if failing:
            raise RuntimeError(f"FAKE flaky failure {self.calls} of {self.fails}")
        return self.inner(call)


class Recorder:
    """A FAKE executor that records every Call it gets, then answers like `fake`."""

    def __init__(self, capability: str, seconds: float = 0.0) -> None:
        self.calls: list[Call] = []
        self.inner = fake(capability)
        self.seconds = seconds
        self._lock = threading.Lock()
        self.__name__ = "fake_recorder"

    def __call__(self, call: Call) -> Any:
        with self._lock:
            self.calls.append(call)
        time.sleep(self.seconds)
        return self.inner(call)


class FakeModel:
    """A FAKE executor with a model instance: `open_instance` counts loads; calls
    answer with the instance's id, and `run_batch` records group sizes."""

    def __init__(self, capability: str, load_s: float = 0.0, batching: bool = False) -> None:
        self.capability = capability
        self.load_s = load_s
        self.loads = 0
        self.batches: list[int] = []
        self.instances: list[Any] = []
        self._lock = threading.Lock()
        self.__name__ = "fake_model"
        self.open_instance = self._open
        if batching:
            self.run_batch = self._run_batch

    def _open(self, call: Call) -> dict[str, Any]:
        time.sleep(self.load_s)
        with self._lock:
            self.loads += 1
            return {"fake_model": self.capability, "load": self.loads}

    def __call__(self, call: Call) -> Any:
        with self._lock:
            self.instances.append(call.instance)
        return f"fake:{call.capability}:{call.args[0]}"

    def _run_batch(self, calls: list[Call]) -> list[Any]:
        with self._lock:
            self.batches.append(len(calls))
            self.instances.extend(c.instance for c in calls)
        time.sleep(0.02)
        return [f"fake:{c.capability}:{c.args[0]}" for c in calls]
