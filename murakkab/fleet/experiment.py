"""A fleet experiment end to end: workflows, mix, trace and inventory in; per-policy results out.

`mkc fleet plan`, `mkc simulate` and bench/fleet.py all go through `prepare`
and `run`, so the numbers each prints come from one path.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from murakkab.backends.sim.result import PolicyResult
from murakkab.backends.sim.simulate import simulate
from murakkab.cluster import locate_keys, span_of, syntax_message, syntax_span
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.fleet.classes import Mix, SloClass
from murakkab.fleet.epochs import EpochOptions
from murakkab.fleet.formulation import Goal
from murakkab.fleet.load import load_workflow
from murakkab.fleet.policies import PolicyInputs, run_policy
from murakkab.fleet.setup import Inventory, Setup, build_setup
from murakkab.fleet.tiers import resolve_classes
from murakkab.fleet.trace import STREAM_OF_SHAPE, Trace
from murakkab.fleet.workload import FleetWorkflow
from murakkab.profiles.schema import Profile
from murakkab.source import SourceFile, Span

# The reference experiment's inventory: 2,000 A100s and 500 H100s, and cores enough.
DEFAULT_INVENTORY = Inventory((("a100", 2000), ("h100", 500)), 200_000)


@dataclass
class Experiment:
    workflows: list[FleetWorkflow]
    classes: list[SloClass]
    setup: Setup
    profiles: list[Profile]
    trace: Trace
    streams: dict[str, str]  # workflow -> trace stream
    inventory: Inventory
    goal: Goal
    options: EpochOptions

    def rps(self) -> dict[str, np.ndarray]:
        """Requests per second, per minute, per workflow."""
        return {w.name: self.trace.rates[self.streams[w.name]] / 60.0 for w in self.workflows}


def prepare(
    paths: list[str],
    mix: Mix,
    trace: Trace,
    inventory: Inventory,
    goal: Goal,
    options: EpochOptions,
    profiles: list[Profile],
    sources: dict[str, SourceFile],
    stream_flags: Sequence[str] = (),
) -> Experiment:
    workflows = [load_workflow(Path(p), profiles, sources) for p in paths]
    streams = _streams(workflows, trace, stream_flags, sources)
    classes = resolve_classes(workflows, mix, profiles)
    gpu_types = [g for g, _ in inventory.gpus]
    setup = build_setup(workflows, classes, profiles, gpu_types)
    return Experiment(workflows, classes, setup, profiles, trace, streams, inventory, goal, options)


def run(experiment: Experiment, policy: str, seed: int = 0) -> PolicyResult:
    inputs = PolicyInputs(
        experiment.setup,
        experiment.profiles,
        experiment.rps(),
        experiment.inventory,
        experiment.goal,
        experiment.options,
    )
    started = time.perf_counter()
    timeline = run_policy(policy, inputs)
    planned = time.perf_counter() - started
    result = simulate(
        policy,
        experiment.workflows,
        experiment.classes,
        experiment.streams,
        experiment.trace,
        timeline.segments,
        seed,
    )
    result.plans, result.replans, result.scale_events = (
        timeline.plans,
        timeline.replans,
        timeline.scale_events,
    )
    result.plan_s = timeline.plan_s if timeline.plans else planned
    result.notes.extend(timeline.notes)
    return result


def load_inventory(path: str | None, gpus: str | None, sources: dict[str, SourceFile]) -> Inventory:
    """`--inventory FILE` ([gpus] a100 = 2000 ...; cpu_cores = N), then `--gpus a100=2000,...`."""
    counts = dict(DEFAULT_INVENTORY.gpus)
    cores = DEFAULT_INVENTORY.cpu_cores
    if path is not None:
        counts, cores = _inventory_file(path, sources)
    if gpus is not None:
        sources["--gpus"] = SourceFile.of("--gpus", gpus)
        column = 1
        for item in gpus.split(","):
            name, _, number = item.partition("=")
            if not number.strip().isdigit():
                span = Span("--gpus", 1, column, 1, column + max(1, len(item)))
                raise _error(span, f"expected TYPE=COUNT, found {item.strip()!r}")
            counts[name.strip().lower()] = int(number)
            column += len(item) + 1
    return Inventory(tuple(sorted(counts.items())), cores)


def _inventory_file(path: str, sources: dict[str, SourceFile]) -> tuple[dict[str, int], int]:
    """GPU counts and cores from an inventory file; errors located as cluster specs' are."""
    try:
        source = SourceFile.of(path, Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        sources["--inventory"] = SourceFile.of("--inventory", path)
        span = Span("--inventory", 1, 1, 1, len(path) + 1)
        raise _error(span, f"cannot read the inventory {path}: {error}") from None
    sources[path] = source
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        raise _error(syntax_span(source, error), syntax_message(error)) from None
    spans = locate_keys(source)
    table = data.get("gpus", {})
    if not isinstance(table, dict):
        raise _error(span_of(spans, ("gpus",), path), "gpus is a table: [gpus] a100 = 2000")
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            where = span_of(spans, ("gpus", key), path)
            raise _error(where, f"gpus.{key} is a count of GPUs, found {value!r}")
    cores = data.get("cpu_cores", DEFAULT_INVENTORY.cpu_cores)
    if not isinstance(cores, int) or isinstance(cores, bool) or cores < 0:
        raise _error(span_of(spans, ("cpu_cores",), path), f"cpu_cores is a count, found {cores!r}")
    return {str(k).lower(): int(v) for k, v in table.items()}, cores


def _streams(
    workflows: list[FleetWorkflow],
    trace: Trace,
    flags: Sequence[str],
    sources: dict[str, SourceFile],
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for flag in flags:
        sources["--stream"] = SourceFile.of("--stream", flag)
        name, _, stream = flag.partition("=")
        if stream not in trace.rates:
            raise _error(
                Span("--stream", 1, len(name) + 2, 1, len(flag) + 1),
                f"the trace has no stream {stream!r} (it has {', '.join(sorted(trace.rates))})",
            )
        chosen[name] = stream
    for workflow in workflows:
        if workflow.name in chosen:
            continue
        for candidate in (workflow.name, workflow.shape, STREAM_OF_SHAPE.get(workflow.shape, "")):
            if candidate in trace.rates:
                chosen[workflow.name] = candidate
                break
        else:
            span = Span.point(workflow.source, 1, 1)
            raise DiagnosticError(
                [
                    Diagnostic.error(
                        "MK0904",
                        span,
                        f"no stream of the trace {trace.name} drives workflow {workflow.name!r}",
                        hint=f"add --stream {workflow.name}=STREAM"
                        f" (streams: {', '.join(sorted(trace.rates))})",
                    )
                ]
            )
    return chosen


def _error(span: Span, message: str) -> DiagnosticError:
    return DiagnosticError([Diagnostic.error("MK0905", span, message)])
