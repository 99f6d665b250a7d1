"""Tier thresholds for fleet SLO classes, from the same populations as `mkc profiles tiers`.

Quality tiers: percentiles of the qualities of a shape's served configurations
(profiles/tiers.py). Latency tiers: percentiles of the p90 latencies of every
configuration on every model profile of its model (the reference: "over all
workflow x model x hardware configurations"), each at every operating point
the planner may choose (serving.LOAD_FRACTIONS of saturation), with its
GPU-capable stages on the fastest device that has a profile for them. The
latency model is the planner's own (setup.route_latency), so a tier is a
latency some route reaches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from murakkab.fleet.classes import ClassSpec, Mix, SloClass
from murakkab.fleet.serving import CPU, ToolOption, servings
from murakkab.fleet.workload import Config, FleetWorkflow, config_of
from murakkab.profiles.schema import ModelProfile, Profile, ToolProfile, WorkflowProfile
from murakkab.profiles.tiers import (
    Tiers,
    latency_tiers,
    percentile_lower,
    quality_tiers,
    split_local,
)

FLOOR_PERCENTILE = 25.0


def resolve_classes(
    workflows: Sequence[FleetWorkflow], mix: Mix, profiles: Iterable[Profile]
) -> list[SloClass]:
    profiles = list(profiles)
    classes = []
    for workflow in workflows:
        quality, latency = workflow_tiers(workflow.shape, profiles)
        floor = quality_floor(workflow.shape, profiles)
        for spec in mix.of(workflow.name):
            classes.append(_class(workflow.name, spec, quality, latency, floor))
    return classes


def _class(
    workflow: str, spec: ClassSpec, quality: Tiers, latency: Tiers, floor: float
) -> SloClass:
    threshold = quality.get(spec.tier) if spec.metric == "quality" else latency.get(spec.tier)
    assert threshold is not None  # tiers were checked when the mix was parsed
    if spec.metric == "quality":
        return SloClass(workflow, "quality", spec.tier, spec.share, threshold, None)
    return SloClass(workflow, "latency", spec.tier, spec.share, floor, threshold)


def served_configurations(shape: str, profiles: list[Profile]) -> list[WorkflowProfile]:
    """A reference workflow's profiled configurations whose model is served (GPU or
    hosted): the population fleet mode plans from and takes its tiers over."""
    models = [p for p in profiles if isinstance(p, ModelProfile)]
    population = [p for p in profiles if isinstance(p, WorkflowProfile) and p.workflow == shape]
    return split_local(population, models)[0]


def quality_floor(shape: str, profiles: list[Profile]) -> float:
    """The quality a latency class still gets: the 25th percentile of the population
    (video Q/A: 50.3%, the reference's "e.g. 50%"; the basic tier is the 50th)."""
    return percentile_lower(
        [p.quality for p in served_configurations(shape, profiles)], FLOOR_PERCENTILE
    )


def workflow_tiers(shape: str, profiles: list[Profile]) -> tuple[Tiers, Tiers]:
    """(quality tiers, latency tiers) of a reference workflow."""
    models = [p for p in profiles if isinstance(p, ModelProfile)]
    served = served_configurations(shape, profiles)
    configs = [c for p in served if (c := config_of(shape, p)) is not None]
    return quality_tiers(served), latency_tiers(_latencies(configs, models, profiles))


def _latencies(
    configs: list[Config], models: list[ModelProfile], profiles: list[Profile]
) -> list[float]:
    from murakkab.fleet.setup import route_latency

    tools = [ToolOption(p) for p in profiles if isinstance(p, ToolProfile)]
    latencies = []
    for config in configs:
        placed = _fastest_tools(config, tools)
        for model in models:
            if model.model != config.model or model.device == CPU:
                continue
            for serving in servings(model):
                latencies.append(route_latency(config, serving, placed))
    return latencies


def _fastest_tools(config: Config, tools: list[ToolOption]) -> tuple:
    placed = []
    for stage in config.stages:
        options = [
            t
            for t in tools
            if t.profile.executor == stage.executor
            and t.profile.impl == stage.impl
            and (stage.on_gpu or t.device == CPU)
        ]
        if options:
            placed.append((stage, min(options, key=lambda t: t.seconds(stage.units_p90))))
    return tuple(placed)
