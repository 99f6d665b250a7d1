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
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            sources["--inventory"] = SourceFile.of("--inventory", path)
            raise _error("--inventory", 1, f"cannot read the inventory {path}: {error}") from None
        sources[path] = SourceFile.of(path, text)
        table = data.get("gpus", {})
        if not isinstance(table, dict) or not all(
            isinstance(v, int) and v >= 0 for v in table.values()
        ):
            raise _error(path, 1, "[gpus] maps GPU types to counts (a100 = 2000)")
        counts = {str(k).lower(): int(v) for k, v in table.items()}
        value = data.get("cpu_cores", cores)
        if not isinstance(value, int) or value < 0:
            raise _error(path, 1, "cpu_cores is a count of cores")
        cores = value
    if gpus is not None:
        sources["--gpus"] = SourceFile.of("--gpus", gpus)
        column = 1
        for item in gpus.split(","):
            name, _, number = item.partition("=")
            if not number.strip().isdigit():
                raise _error("--gpus", column, f"expected TYPE=COUNT, found {item.strip()!r}")
            counts[name.strip().lower()] = int(number)
            column += len(item) + 1
    return Inventory(tuple(sorted(counts.items())), cores)


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
                "--stream",
                len(name) + 2,
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


def _error(name: str, column: int, message: str) -> DiagnosticError:
    return DiagnosticError(
        [Diagnostic.error("MK0905", Span(name, 1, column, 1, column + 1), message)]
    )
