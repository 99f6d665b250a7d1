"""Pipelines: `-p "a,b{opt=1,other=x}"` parsed, resolved lazily and run in order.

A pass failure names the pass and the passes before it.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

from murakkab.passes import PIPELINES, REGISTRY
from murakkab.passes.base import Pass, PassContext

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.frontend.resolve import did_you_mean
from murakkab.ir.core import Module
from murakkab.ir.verifier import verify_module
from murakkab.source import Span

_ITEM = re.compile(r"\s*([a-z][a-z0-9-]*)\s*(?:\{([^{}]*)\})?\s*(?:,|$)")


def parse_pipeline(spec: str, flag: str = "-p") -> list[Pass]:
    """Instantiate the passes of a pipeline spec (or a named pipeline, see
    PIPELINES); errors name the flag and column."""
    spec = PIPELINES.get(spec.strip(), spec)
    passes: list[Pass] = []
    position = 0
    while position < len(spec.rstrip()):
        match = _ITEM.match(spec, position)
        if match is None or match.end() == position:
            _fail(
                flag,
                position,
                "expected a pass name such as 'dead-task-elimination' or 'name{opt=value}'",
            )
        assert match is not None
        passes.append(_instantiate(match, flag))
        position = match.end()
    return passes


def _instantiate(match: re.Match[str], flag: str) -> Pass:
    name, options_text = match.group(1), match.group(2) or ""
    if name not in REGISTRY:
        notes = did_you_mean(name, REGISTRY)
        _fail(
            flag,
            match.start(1),
            f"unknown pass '{name}'",
            *notes,
            hint="passes: " + ", ".join(REGISTRY),
        )
    module_name, _, class_name = REGISTRY[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    options: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in options_text.split(","))):
        key, _, raw = item.partition("=")
        attr = key.strip().replace("-", "_")
        if attr not in fields:
            _fail(flag, match.start(2), f"pass '{name}' has no option '{key.strip()}'")
        try:
            options[attr] = _convert(raw.strip(), fields[attr].type)
        except ValueError:
            _fail(
                flag,
                match.start(2),
                f"option '{key.strip()}' of '{name}' takes {fields[attr].type}",
            )
    try:
        return cls(**options)  # a pass may reject option values in __post_init__
    except ValueError as error:
        _fail(flag, match.start(), f"pass '{name}': {error}")


def _convert(raw: str, annotation: object) -> object:
    """An option's text as its field's type (annotations are strings here)."""
    kind = str(annotation)
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise ValueError(raw)
        return raw.lower() == "true"
    return raw


def _fail(flag: str, column: int, message: str, *notes: str, hint: str | None = None) -> NoReturn:
    span = Span.point(flag, 1, column + 1)
    raise DiagnosticError([Diagnostic.error("MK0501", span, message, *notes, hint=hint)])


def run_pipeline(
    module: Module,
    passes: list[Pass],
    ctx: PassContext | None = None,
    verify_each: bool = False,
    times: list[tuple[str, float]] | None = None,
    observe: Callable[[str, Module], None] | None = None,
    stop_after: str | None = None,
) -> Module:
    """Run `passes` in order. Instruments: the verifier after each pass, a
    (name, seconds) list for --time-passes, an observer for --print-ir-after;
    `stop_after` ends the run after the pass of that name."""
    ctx = ctx if ctx is not None else PassContext()
    for request in module.requests:  # what the module is compiled for, unless told
        ctx.slos.setdefault(request.workflow, request.slo)
        ctx.args.setdefault(request.workflow, request.args)
    done: list[str] = []
    for pass_ in passes:
        started = time.perf_counter()
        try:
            module = pass_.apply(module, ctx)
        except DiagnosticError:
            raise
        except Exception as error:
            after = ", ".join(done) or "nothing"
            raise RuntimeError(f"pass '{pass_.name}' failed (after: {after}): {error}") from error
        if times is not None:
            times.append((pass_.name, time.perf_counter() - started))
        done.append(pass_.name)
        if verify_each:
            problems = verify_module(module)
            if problems:
                note = f"after pass '{pass_.name}' (pipeline so far: {', '.join(done)})"
                raise DiagnosticError([replace(p, notes=p.notes + (note,)) for p in problems])
        if observe is not None:
            observe(pass_.name, module)
        if pass_.name == stop_after:
            break
    return module
