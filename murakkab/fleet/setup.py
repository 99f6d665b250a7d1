"""The fleet's world, fixed across epochs: SLO classes, routes, pools and hardware.

A *route* is one way to serve a request of an SLO class: a configuration of its
workflow, the LLM serving (model profile at an operating point) that runs its
LLM calls, and the device its GPU-capable tool stages run on (CPU cores or a
GPU type). Only routes that meet the class's SLO are kept: its quality floor,
and for a latency class the p90 latency bound, computed at the serving's
operating point with p90 token and work counts. The planner then chooses, per
epoch, what fraction of each class each route takes and how many instances
each pool needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from murakkab.fleet.classes import SloClass
from murakkab.fleet.serving import CPU, Serving, ToolOption, servings
from murakkab.fleet.workload import Config, FleetWorkflow, Stage
from murakkab.profiles.schema import ModelProfile, Profile, ToolProfile

# Instances are sized on forecast peak load times this buffer (the reference's 1.15).
BUFFER = 1.15
# A tool pool (GPUs or cores) is planned to run at most this busy, so queues stay short.
TOOL_UTILISATION = 0.8


@dataclass(frozen=True)
class Inventory:
    gpus: tuple[tuple[str, int], ...]  # (gpu type, count), sorted
    cpu_cores: int

    def count(self, gpu_type: str) -> int:
        return dict(self.gpus).get(gpu_type, 0)

    def without(self, used: dict[str, int], cores: int) -> Inventory:
        left = tuple((g, max(0, n - used.get(g, 0))) for g, n in self.gpus)
        return Inventory(left, max(0, self.cpu_cores - cores))

    def describe(self) -> str:
        gpus = ", ".join(f"{n} {g.upper()}" for g, n in self.gpus)
        return f"{gpus}; {self.cpu_cores} CPU cores"


@dataclass(frozen=True)
class Route:
    cls: SloClass
    config: Config
    serving: Serving
    tool_device: str  # "cpu" or a GPU type, for the GPU-capable stages
    tools: tuple[tuple[Stage, ToolOption], ...]
    latency_p90: float

    def tool_seconds(self, stage: Stage, option: ToolOption, percentile: str = "mean") -> float:
        units = stage.units_mean if percentile == "mean" else stage.units_p90
        return option.seconds(units) * stage.repeats

    def busy_watts(self, rps: float) -> float:
        """Power above idle that `rps` requests/s on this route draw: the busy-idle gap
        per token served and per tool-second."""
        watts = rps * self.config.tokens_mean * self.serving.joules_per_token()
        for stage, option in self.tools:
            kind = option.kind()
            watts += rps * self.tool_seconds(stage, option) * (kind.busy_watts - kind.idle_watts)
        return watts

    def usage_per_hour(self, rps: float) -> float:
        """usd per hour paid per use (hosted tokens) for `rps` requests/s."""
        return rps * self.config.tokens_mean * self.serving.price_per_token() * 3600


@dataclass
class Setup:
    workflows: tuple[FleetWorkflow, ...]
    classes: tuple[SloClass, ...]
    routes: dict[str, list[Route]]  # per class id
    notes: list[str] = field(default_factory=list)


def build_setup(
    workflows: Sequence[FleetWorkflow],
    classes: Sequence[SloClass],
    profiles: Iterable[Profile],
    gpu_types: Iterable[str],
) -> Setup:
    """Every SLO-meeting route of every class, on the GPU types given (and hosted models)."""
    profiles = list(profiles)
    allowed = set(gpu_types)
    by_model: dict[str, list[Serving]] = {}
    for profile in sorted(
        (p for p in profiles if isinstance(p, ModelProfile)), key=lambda p: p.key
    ):
        if profile.device in allowed or profile.device == "hosted":
            by_model.setdefault(profile.model, []).extend(servings(profile))
    tools = {
        (p.executor, p.impl, p.device): ToolOption(p)
        for p in profiles
        if isinstance(p, ToolProfile)
    }
    devices = [CPU, *sorted(allowed)]
    setup = Setup(tuple(workflows), tuple(classes), {})
    for cls in classes:
        workflow = next(w for w in workflows if w.name == cls.workflow)
        routes = []
        for config in workflow.configs:
            if config.quality < cls.min_quality:
                continue
            for device in devices:
                placed = place_tools(config, device, tools)
                if placed is None:
                    continue
                for serving in by_model.get(config.model, []):
                    if not workflow.allows(serving.device, serving.profile.tp):
                        continue
                    latency = route_latency(config, serving, placed)
                    if cls.max_latency_s is None or latency <= cls.max_latency_s:
                        routes.append(Route(cls, config, serving, device, placed, latency))
        setup.routes[cls.id] = routes
    return setup


def route_latency(
    config: Config, serving: Serving, tools: tuple[tuple[Stage, ToolOption], ...]
) -> float:
    """p90 end-to-end latency of one request on an unqueued route."""
    llm = config.sequential_calls * serving.ttft_s + config.critical_tokens_p90 * serving.tpot_s
    stages = sum(
        option.seconds(stage.units_p90) * stage.repeats for stage, option in tools if stage.critical
    )
    return llm + stages


def place_tools(
    config: Config, device: str, tools: dict[tuple[str, str, str], ToolOption]
) -> tuple[tuple[Stage, ToolOption], ...] | None:
    """Each stage's tool on `device` (CPU-only stages on CPU); None if one has no profile there."""
    if device != CPU and not any(stage.on_gpu for stage in config.stages):
        return None  # the same route as on CPU: offer it once
    placed = []
    for stage in config.stages:
        where = device if stage.on_gpu else CPU
        option = tools.get((stage.executor, stage.impl, where))
        if option is None:
            return None
        placed.append((stage, option))
    return tuple(placed)
