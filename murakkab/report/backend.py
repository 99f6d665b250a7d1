"""The backend side of `mkc run`: `--executors` imported and checked, `--backend`
and `--ray-address` checked (and a Ray cluster joined) before anything is
written, then the plan run on the local runtime or on Ray. Ray and the runtime
are imported only when used, so that `mkc --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from murakkab.plan import Plan


def check_executors(module: str | None, root: str | None) -> dict[str, Any] | None:
    """`--executors MODULE`, imported now (`backends.support.load_executors`, what
    `python plan.py --executors` uses too): a module that does not import, or
    whose EXECUTORS is not a table of functions, is a usage error, not a failed
    run. Like `python -m`, `root` (the directory the run was first started from)
    is searched first."""
    from murakkab.backends.support import ExecutorsError, load_executors
    from murakkab.cli import UsageError

    if module is None:
        return None
    try:
        return dict(load_executors(module, root))
    except ExecutorsError as error:
        raise UsageError(str(error)) from None


def backend_missing(backend: str) -> str | None:
    """Why `--backend` cannot run here, checked before anything is written."""
    if backend != "ray":
        return None
    if importlib.util.find_spec("ray") is None:
        return '--backend ray needs Ray, which is not installed: pip install "murakkab[ray]"'
    try:
        module = importlib.import_module("murakkab.backends.ray")
    except ImportError as error:
        return f"--backend ray is not available in this build of murakkab ({error})"
    if not callable(getattr(module, "run_ray", None)):
        return "--backend ray is not available in this build of murakkab (no run_ray)"
    return None


def join_ray(settings: dict[str, Any], args: argparse.Namespace) -> bool:
    """`--ray-address`, checked and joined before anything is written, so that a
    bad address is a usage error (and never stored), and joining is not counted
    in the run's latency. True when this process joined and must leave after."""
    from murakkab.cli import UsageError

    address = settings["ray_address"]
    if settings["backend"] != "ray":
        if args.ray_address:
            raise UsageError("--ray-address needs --backend ray")
        return False
    if address is None:
        return False  # the backend starts a local Ray, sized for the plan
    from murakkab.backends.support import ray_address_problem

    problem = ray_address_problem(address)
    if problem is not None:
        raise UsageError(problem)
    ray = importlib.import_module("ray")
    if ray.is_initialized():
        return False
    init_options = importlib.import_module("murakkab.backends.ray.support").init_options
    try:
        ray.init(address=address, **init_options(settings["executors_root"]))
    except Exception as error:  # noqa: BLE001 - Ray says why in its own exception types
        detail = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        message = f"--ray-address {address}: cannot join a Ray cluster there ({detail})"
        raise UsageError(message) from None
    return True


def backend_run(plan: Plan, inputs: dict[str, Any], options: Any, settings: dict[str, Any]) -> Any:
    """Run the plan on `settings["backend"]`: the local runtime, or Ray."""
    if settings["backend"] == "ray":
        run_ray = importlib.import_module("murakkab.backends.ray").run_ray
        return run_ray(plan, inputs, options, address=settings["ray_address"])
    from murakkab.runtime.engine import run_plan

    return run_plan(plan, inputs, options)
