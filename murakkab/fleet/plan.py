"""A fleet plan for one epoch: pools, their sizes, and where each class's requests go."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from murakkab.fleet.serving import CPU, Serving, ToolOption
from murakkab.fleet.setup import BUFFER, TOOL_UTILISATION, Route
from murakkab.fleet.workload import Stage
from murakkab.hardware import DEVICE_KINDS, device_kind

SHARED = ""  # the owner of a pool every workflow may use


@dataclass(frozen=True)
class LlmPool:
    owner: str  # SHARED, or the one workflow whose requests it serves
    serving: Serving

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.serving.key}" if self.owner else self.serving.key


@dataclass(frozen=True)
class ToolPool:
    owner: str
    executor: str  # the stage it runs, "speech.transcribe": one worker pool per tool
    device: str  # "cpu" (the count is cores) or a GPU type (the count is GPUs)

    @property
    def key(self) -> str:
        name = f"{self.executor}/{self.device}"
        return f"{self.owner}/{name}" if self.owner else name


@dataclass
class FleetPlan:
    """Instances per pool (GPU instances, GPUs for tools, CPU cores) and routing fractions."""

    llm: dict[LlmPool, int] = field(default_factory=dict)
    tools: dict[ToolPool, int] = field(default_factory=dict)
    routes: dict[str, list[tuple[Route, float]]] = field(default_factory=dict)  # per class id
    unserved: dict[str, float] = field(default_factory=dict)  # class id -> fraction
    solver: str = ""
    status: str = ""
    solve_s: float = 0.0
    objective: float = 0.0  # the program's objective value (normalised units)
    notes: list[str] = field(default_factory=list)

    def gpus(self) -> dict[str, int]:
        """GPUs held, by GPU type."""
        held: dict[str, int] = defaultdict(int)
        for pool, count in self.llm.items():
            if not pool.serving.hosted:
                held[pool.serving.device] += count * pool.serving.gpus
        for tool, count in self.tools.items():
            if tool.device != CPU:
                held[tool.device] += count
        return dict(sorted(held.items()))

    def cores(self) -> int:
        return sum(n for tool, n in self.tools.items() if tool.device == CPU)

    def pool_of(self, route: Route) -> LlmPool:
        shared = LlmPool(SHARED, route.serving)
        return shared if shared in self.llm else LlmPool(route.cls.workflow, route.serving)

    def hourly_held_cost(self) -> float:
        """usd per hour for what the plan holds (hosted tokens are priced per use)."""
        return sum(n * holding(pool)[1] for pool, n in _pools(self))

    def idle_watts(self) -> float:
        """What the plan holds draws doing nothing."""
        return sum(n * holding(pool)[0] for pool, n in _pools(self))

    def merged(self, other: FleetPlan) -> FleetPlan:
        """Two plans side by side (workflows planned one at a time)."""
        plan = FleetPlan(
            {**self.llm, **other.llm},
            {**self.tools, **other.tools},
            {**self.routes, **other.routes},
            {**self.unserved, **other.unserved},
            self.solver or other.solver,
            _worse(self.status, other.status),
            self.solve_s + other.solve_s,
            self.objective + other.objective,
            self.notes + other.notes,
        )
        return plan


def _worse(a: str, b: str) -> str:
    order = ["", "optimal", "feasible", "timeout", "infeasible"]
    return max(a, b, key=lambda s: order.index(s) if s in order else 0)


Machine = tuple[str, str, str, int] | ToolPool


def tool_pool(owner: str, stage: Stage, option: ToolOption) -> ToolPool:
    return ToolPool(owner, stage.executor, option.device)


def holding(pool: LlmPool | ToolPool) -> tuple[float, float]:
    """(idle watts, usd per hour) of one instance of a pool: an LLM instance, or one
    GPU or core of a tool pool."""
    if isinstance(pool, LlmPool):
        return pool.serving.idle_watts(), pool.serving.price_per_hour()
    kind = device_kind(pool.device) or DEVICE_KINDS["cpu-core"]
    return kind.idle_watts, kind.price_per_hour


def demands(owner: str, route: Route, rps: float) -> list[tuple[LlmPool | ToolPool, float]]:
    """The instances each pool a route uses needs for `rps` requests/s, buffer included:
    LLM tokens/s at the serving's planned load per instance (a hosted model's whole
    rate limit is one instance), tool-seconds per second at TOOL_UTILISATION."""
    pool = LlmPool(owner, route.serving)
    serving = route.serving
    per_instance = (
        serving.profile.rate_limit_tps or serving.load_tps if serving.hosted else serving.load_tps
    )
    needs: list[tuple[LlmPool | ToolPool, float]] = [
        (pool, rps * route.config.tokens_mean * BUFFER / per_instance)
    ]
    for stage, option in route.tools:
        seconds = rps * route.tool_seconds(stage, option) * BUFFER
        needs.append((tool_pool(owner, stage, option), seconds / TOOL_UTILISATION))
    return needs


def machine_of(pool: LlmPool | ToolPool) -> Machine:
    """What a pool's instances physically are. Pools of one model profile at different
    operating points are the same machines: moving load between them is routing, not
    provisioning."""
    if isinstance(pool, ToolPool):
        return pool
    serving = pool.serving
    return (pool.owner, serving.model, serving.device, serving.profile.tp)


def held_during_handover(old: FleetPlan, new: FleetPlan) -> FleetPlan:
    """What is held while `old` hands over to `new`: per machine kind, the larger count
    (the new plan's pools, plus the outgoing instances it does not keep)."""
    llm, tools = dict(new.llm), dict(new.tools)
    kept: dict[Machine, int] = defaultdict(int)
    for pool, count in _pools(new):
        kept[machine_of(pool)] += count
    leaving: dict[Machine, list[tuple[LlmPool | ToolPool, int]]] = defaultdict(list)
    for pool, count in _pools(old):
        leaving[machine_of(pool)].append((pool, count))
    for machine, pools in leaving.items():
        extra = sum(count for _, count in pools) - kept[machine]
        if extra <= 0:
            continue
        first = pools[0][0]
        if isinstance(first, LlmPool):
            llm[first] = llm.get(first, 0) + extra
        else:
            tools[first] = tools.get(first, 0) + extra
    return FleetPlan(llm, tools, new.routes, new.unserved)


def _pools(plan: FleetPlan) -> list[tuple[LlmPool | ToolPool, int]]:
    pools: list[tuple[LlmPool | ToolPool, int]] = list(plan.llm.items())
    return pools + list(plan.tools.items())
