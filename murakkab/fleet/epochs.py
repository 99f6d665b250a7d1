"""The runtime policy around fleet plans: epochs, forecasts, provisioning and auto-scaling.

Every epoch (60 min by default) the planner runs on a forecast of the next
epoch's mean and peak load per workflow (EWMA of what was observed, alpha 0.5;
the first epoch is planned on its own load, as a fleet that starts up warm).
New instances take the provisioning delay (20 min) to come up; until then the
old plan keeps serving and both are held. Between re-plans an auto-scaler looks
at every pool's load over short windows (5 min): where the window's peak load
needs more instances than the pool has at its operating point, it scales out at
once (ready after `scale_out_min`, from a warm pool) and keeps `spare` extra;
where fewer are needed for `calm_windows` windows in a row, it scales in. When a
workflow's load strays far from its forecast it re-plans early.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from murakkab.backends.sim.simulate import Segment
from murakkab.fleet.formulation import Goal, Load, plan_epoch
from murakkab.fleet.plan import FleetPlan, LlmPool, ToolPool, demands, held_during_handover
from murakkab.fleet.serving import CPU
from murakkab.fleet.setup import Inventory, Setup


@dataclass(frozen=True)
class EpochOptions:
    epoch_min: int = 60
    provision_min: int = 20
    alpha: float = 0.5
    autoscale: bool = True
    window_min: int = 5
    scale_out_min: int = 5
    spare: float = 0.1
    calm_windows: int = 3
    replan_ratio: float = 1.5  # re-plan early when load exceeds the forecast peak this much
    replan: bool = True  # re-plan at epoch boundaries (off: one plan for the whole trace)


@dataclass
class Timeline:
    segments: list[Segment] = field(default_factory=list)
    plans: int = 0
    replans: int = 0
    scale_events: int = 0
    plan_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def observed(rps: dict[str, np.ndarray], start: int, stop: int) -> Load:
    """Mean and peak requests/s per workflow over minutes [start, stop)."""
    mean = {w: float(r[start:stop].mean()) if stop > start else 0.0 for w, r in rps.items()}
    peak = {w: float(r[start:stop].max()) if stop > start else 0.0 for w, r in rps.items()}
    return Load(mean, peak)


def run_epochs(
    setup: Setup,
    rps: dict[str, np.ndarray],
    inventory: Inventory,
    goal: Goal,
    shared: bool,
    options: EpochOptions = EpochOptions(),
    fixed: FleetPlan | None = None,
) -> Timeline:
    """The schedule a policy produces over the trace (`fixed`: one plan, never re-planned)."""
    minutes = max(len(r) for r in rps.values())
    timeline = Timeline()

    def make_plan(load: Load, outgoing: FleetPlan | None = None) -> FleetPlan:
        if fixed is not None:
            return fixed
        started = time.perf_counter()
        share = options.provision_min / options.epoch_min
        plan = plan_epoch(setup, load, inventory, goal, shared, outgoing, share)
        timeline.plan_s += time.perf_counter() - started
        timeline.plans += 1
        timeline.notes.extend(n for n in plan.notes if n not in timeline.notes)
        return plan

    epoch = options.epoch_min if options.replan and fixed is None else minutes
    forecast = observed(rps, 0, min(epoch, minutes))
    active = make_plan(forecast)
    scaler = _Scaler(active, options, inventory)
    timeline.segments.append(Segment(0.0, active, active))
    pending: tuple[int, FleetPlan] | None = None  # (ready minute, plan being provisioned)
    for minute in range(options.window_min, minutes, options.window_min):
        if pending is not None and minute >= pending[0]:
            active, pending = pending[1], None
            scaler = _Scaler(active, options, inventory)
            timeline.segments.append(Segment(minute * 60.0, active, active))
        if minute % epoch == 0 and pending is None:
            seen = observed(rps, minute - epoch, minute)
            forecast = _ewma(forecast, seen, options.alpha)
            pending = (minute + options.provision_min, make_plan(forecast, scaler.held))
            scaler.incoming = pending[1]
            held = _union(scaler.held, pending[1])
            timeline.segments.append(Segment(minute * 60.0, scaler.current, held))
            continue
        window = observed(rps, minute - options.window_min, minute)
        if (
            options.replan
            and fixed is None
            and pending is None
            and _strays(window, forecast, options)
        ):
            forecast = window
            pending = (minute + options.provision_min, make_plan(window, scaler.held))
            scaler.incoming = pending[1]
            timeline.replans += 1
            timeline.segments.append(
                Segment(minute * 60.0, scaler.current, _union(scaler.held, pending[1]))
            )
            continue
        if not options.autoscale:
            continue
        changed = scaler.step(window, minute)
        if changed:
            timeline.scale_events += 1
            held = scaler.held if pending is None else _union(scaler.held, pending[1])
            timeline.segments.append(Segment(minute * 60.0, scaler.current, held))
    return timeline


def _ewma(forecast: Load, seen: Load, alpha: float) -> Load:
    mean = {
        w: alpha * seen.mean_rps[w] + (1 - alpha) * forecast.mean_rps.get(w, 0.0)
        for w in seen.mean_rps
    }
    peak = {
        w: alpha * seen.peak_rps[w] + (1 - alpha) * forecast.peak_rps.get(w, 0.0)
        for w in seen.peak_rps
    }
    return Load(mean, peak)


def _strays(window: Load, forecast: Load, options: EpochOptions) -> bool:
    for workflow, peak in window.peak_rps.items():
        expected = forecast.peak_rps.get(workflow, 0.0)
        if expected > 0 and peak > options.replan_ratio * expected:
            return True
    return False


def _union(outgoing: FleetPlan, incoming: FleetPlan) -> FleetPlan:
    """What is held while one plan hands over to the next (routing stays the outgoing's)."""
    held = held_during_handover(outgoing, incoming)
    return FleetPlan(held.llm, held.tools, outgoing.routes, outgoing.unserved)


class _Scaler:
    """Instance counts of one plan's pools, moved with the load between re-plans."""

    def __init__(self, plan: FleetPlan, options: EpochOptions, inventory: Inventory):
        self.plan, self.options, self.inventory = plan, options, inventory
        self.current = plan
        self.held = plan
        self.calm: dict[LlmPool | ToolPool, int] = {}
        self.arriving: list[tuple[int, LlmPool | ToolPool, int]] = []
        self.incoming: FleetPlan | None = None  # the next plan, while it is provisioned

    def step(self, window: Load, minute: int) -> bool:
        """Scale for the window just seen; True when the counts changed."""
        llm, tools = dict(self.current.llm), dict(self.current.tools)
        changed = False
        for ready, pool, count in list(self.arriving):
            if ready <= minute:
                self.arriving.remove((ready, pool, count))
                (llm if isinstance(pool, LlmPool) else tools)[pool] = count  # type: ignore[index]
                changed = True
        held_llm, held_tools = dict(llm), dict(tools)
        for pool, need in _needed(self.plan, window).items():
            counts: dict[Any, int] = llm if isinstance(pool, LlmPool) else tools
            have = counts.get(pool, 0)
            target = max(1, math.ceil(need * (1 + self.options.spare)))
            if target > have and not any(p == pool for _, p, _ in self.arriving):
                target = have + self._room(pool, target - have, held_llm, held_tools)
                if target > have:
                    self.arriving.append((minute + self.options.scale_out_min, pool, target))
                    (held_llm if isinstance(pool, LlmPool) else held_tools)[pool] = target  # type: ignore[index]
                    changed = True
                self.calm[pool] = 0
            elif target < have:
                self.calm[pool] = self.calm.get(pool, 0) + 1
                if self.calm[pool] >= self.options.calm_windows:
                    counts[pool] = target
                    (held_llm if isinstance(pool, LlmPool) else held_tools)[pool] = target  # type: ignore[index]
                    self.calm[pool] = 0
                    changed = True
            else:
                self.calm[pool] = 0
        self.current = replace(self.current, llm=llm, tools=tools)
        self.held = replace(self.current, llm=held_llm, tools=held_tools)
        return changed

    def _room(self, pool: LlmPool | ToolPool, extra: int, llm: dict, tools: dict) -> int:
        """How many of `extra` instances the inventory still has GPUs (or cores) for."""
        device = pool.serving.device if isinstance(pool, LlmPool) else pool.device
        per = pool.serving.gpus if isinstance(pool, LlmPool) else 1
        if per == 0:
            return extra
        held = FleetPlan(llm, tools)
        if self.incoming is not None:  # a plan being provisioned holds its machines too
            held = held_during_handover(held, self.incoming)
        used = held.gpus().get(device, 0) if device != CPU else held.cores()
        limit = self.inventory.cpu_cores if device == CPU else self.inventory.count(device)
        return max(0, min(extra, (limit - used) // per))


def _needed(plan: FleetPlan, window: Load) -> dict[LlmPool | ToolPool, float]:
    """Instances each pool needs for a window's peak load at its operating point."""
    demand: dict[LlmPool | ToolPool, float] = {}
    for routes in plan.routes.values():
        for route, fraction in routes:
            peak = window.peak_rps.get(route.cls.workflow, 0.0) * route.cls.share * fraction
            if route.serving.hosted:
                continue
            for pool, instances in demands(plan.pool_of(route).owner, route, peak):
                demand[pool] = demand.get(pool, 0.0) + instances
    return demand
