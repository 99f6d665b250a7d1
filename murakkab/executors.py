"""Executor implementations: how a capability is carried out, priced and emitted.

A capability (declared in `stdlib/*.mk`) says *what* an executor computes;
an `Implementation` (declared in the `stdlib/*.py` module of the same family,
beside the `.mk` file) says *how*: the devices it runs on, the cost function
that predicts it, the profile it is measured by, and the Python callable an
emitted plan calls (its backend lowering). Adding an executor is one
capability declaration plus one `Implementation`; tests/test_executors.py
fails when either side is missing.

Implementation callables are named by import path and imported only when a
plan runs, so heavy libraries (OpenCV, onnxruntime, llama.cpp) never load at
compile time.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import murakkab.stdlib

COST_MODELS = ("llm", "tool", "composition")


@dataclass(frozen=True)
class Call:
    """One invocation of an implementation: what every `entry` callable receives.

    `args` follow the capability's parameters in order; `knobs` hold the chosen
    value of every knob (defaults filled in), e.g. {"model": "gemma-3-27b"}.

    The runtime (murakkab/runtime, docs/runtime.md) also says where the call
    runs: `device` ("cpu", "gpu:a100x4", "hosted"), the `gpu_ids` it holds
    (the node's indices of that GPU type: a subprocess using GPUs gets
    `cuda_environment(call)` and no more of this process's environment than
    it needs), the `cores` it holds, and `instance`, the
    object the implementation module's `open_instance(call)` returned for the
    step's instance key (None when the module defines none). `cancel` is the
    run's cancel event (None outside a run): it is set when the run is
    interrupted, and a long call should poll it, stop its work (kill its
    subprocesses) and raise. Callers that build a Call by hand may leave these
    at their defaults.
    """

    capability: str
    args: tuple[Any, ...]
    knobs: dict[str, Any]
    device: str = "cpu"
    gpu_ids: tuple[int, ...] = ()
    cores: int = 1
    instance: Any = None
    cancel: threading.Event | None = None


class ExecutorError(RuntimeError):
    """An implementation failed for a reason the user can act on (a missing
    package, an unreachable endpoint, a sandbox limit); the message says which."""


@dataclass(frozen=True)
class Implementation:
    capability: str  # qualified capability name: "video.scene_detect"
    name: str  # implementation name, unique per capability: "opencv.hist"
    devices: tuple[str, ...]  # "cpu", "gpu"
    cost_model: str  # one of COST_MODELS: how murakkab.cost predicts it
    entry: str  # backend lowering: "module:function", called as function(Call)
    description: str = ""
    requires: tuple[str, ...] = ()  # Python packages the entry needs at run time
    unit: str = "call"  # tool work unit its profile is measured in (see ToolProfile)
    # Environment variables naming weights the user supplies (MKC_CLIP_CHECKPOINT):
    # until they are set the optimizer does not choose it, nor a plan fall back to it.
    needs_env: tuple[str, ...] = ()

    def is_configured(self) -> bool:
        return all(os.environ.get(name) for name in self.needs_env)

    def load(self) -> Callable[..., Any]:
        """The callable behind `entry`, imported now."""
        module, _, attribute = self.entry.partition(":")
        loaded: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
        return loaded


@functools.cache
def implementations() -> dict[str, tuple[Implementation, ...]]:
    """Every implementation the standard library declares, by capability."""
    found: dict[str, list[Implementation]] = {}
    for info in pkgutil.iter_modules(murakkab.stdlib.__path__):
        module = importlib.import_module(f"murakkab.stdlib.{info.name}")
        for impl in getattr(module, "IMPLEMENTATIONS", ()):
            found.setdefault(impl.capability, []).append(impl)
    return {name: tuple(impls) for name, impls in sorted(found.items())}


def implementations_of(capability: str) -> tuple[Implementation, ...]:
    return implementations().get(capability, ())


def implementation(capability: str, name: str) -> Implementation | None:
    return next((i for i in implementations_of(capability) if i.name == name), None)


def cuda_environment(call: Call) -> dict[str, str]:
    """The one variable a subprocess of this call needs to see only its GPUs:
    CUDA_VISIBLE_DEVICES set to the call's `gpu_ids` ("" off a GPU, so a CPU op's
    subprocess sees none). Merge it into the minimal environment the executor
    builds; never copy this process's whole environment (API keys live there)."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in call.gpu_ids)}
