"""One epoch's fleet plan as a mixed-integer program (the reference's formulation, widened).

Variables, per epoch:
- x[c, r] in [0, 1]: the fraction of SLO class c's requests that take route r
  (configuration, LLM serving at an operating point, tool device); every route
  offered meets c's SLO (setup.py), so routing is SLO-safe by construction;
- u[c] in [0, 1]: the fraction left unserved, priced far above any plan, so it
  is non-zero only when the inventory cannot carry the load;
- n[p] integer: instances of LLM pool p (a model profile at an operating point;
  shared by every workflow, or one workflow's own), GPUs of a tool pool, or CPU
  cores.
Constraints: each class is routed in full; each pool's capacity covers the
forecast *peak* token load of what is routed to it (peak requests/s times mean
tokens per request, or mean tool work), times the buffer: the reference sizes
"on peak (p90 token load)", the load's high percentile over time, which the
forecast peak stands for; GPUs per type and cores stay within the inventory; a hosted
model's load stays under its rate limit; with the quality objective, the
hourly cost stays within the budget. Energy and cost are priced on the
forecast *mean* load: idle power and price for every instance held, plus the
busy-idle power gap per token served (per tool-second for tools).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from murakkab.fleet.classes import SloClass
from murakkab.fleet.lp import LinearProgram, Solver, solve
from murakkab.fleet.plan import (
    SHARED,
    FleetPlan,
    LlmPool,
    ToolPool,
    demands,
    held_during_handover,
    holding,
    machine_of,
)
from murakkab.fleet.serving import CPU
from murakkab.fleet.setup import Inventory, Route, Setup

Objective = Literal["energy", "cost", "quality"]
OBJECTIVES: tuple[Objective, ...] = ("energy", "cost", "quality")
# Leaving a class unserved costs this many times serving it on its dearest route.
UNSERVED_PENALTY = 10.0
# The other objective breaks ties among equally good plans, at this weight.
TIE_BREAK = 1e-3


@dataclass(frozen=True)
class Load:
    """Forecast requests per second per workflow over one epoch."""

    mean_rps: dict[str, float]
    peak_rps: dict[str, float]


@dataclass(frozen=True)
class Goal:
    objective: Objective = "energy"
    budget_per_hour: float | None = None  # usd, for the quality objective
    solver: Solver = "highs"
    time_limit_s: float = 300.0


def plan_epoch(
    setup: Setup,
    load: Load,
    inventory: Inventory,
    goal: Goal = Goal(),
    shared: bool = True,
    outgoing: FleetPlan | None = None,
    handover_share: float = 0.0,
) -> FleetPlan:
    """The epoch's plan: all workflows together on shared pools, or one at a time.

    `outgoing`: the plan still serving while this one is provisioned. Both are held
    during the hand-over (`handover_share` of the epoch), so the inventory must hold,
    per pool, the larger count, and instances beyond the outgoing plan's are priced
    for the hand-over too: keeping a pool is cheaper than moving to another.
    """
    handover = (outgoing, handover_share)
    if shared:
        return _plan(setup, list(setup.classes), load, inventory, goal, SHARED, handover)
    plan = FleetPlan()
    # The heaviest workflow plans first; later ones get what the inventory has left.
    # During a hand-over the workflows not planned yet still hold their outgoing
    # instances, so those are set aside too.
    order = sorted(setup.workflows, key=lambda w: -load.mean_rps.get(w.name, 0.0))
    holds = [FleetPlan() if outgoing is None else _own(outgoing, w.name) for w in order]
    for index, workflow in enumerate(order):
        left = inventory
        for other in holds[:index] + holds[index + 1 :]:
            left = left.without(other.gpus(), other.cores())
        classes = [c for c in setup.classes if c.workflow == workflow.name]
        own = _plan(setup, classes, load, left, goal, workflow.name, handover)
        plan = plan.merged(own)
        holds[index] = own if outgoing is None else held_during_handover(holds[index], own)
    return plan


def _plan(
    setup: Setup,
    classes: list[SloClass],
    load: Load,
    inventory: Inventory,
    goal: Goal,
    owner: str,
    handover: tuple[FleetPlan | None, float] = (None, 0.0),
) -> FleetPlan:
    lp = LinearProgram()
    notes: list[str] = []
    energy: dict[int, float] = defaultdict(float)  # W (= Wh per hour)
    cost: dict[int, float] = defaultdict(float)  # usd per hour
    quality: dict[int, float] = defaultdict(float)
    unserved: dict[str, int] = {}
    routed: dict[str, list[tuple[Route, int]]] = {}
    capacity: dict[LlmPool | ToolPool, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    total_mean = sum(load.mean_rps.get(c.workflow, 0.0) * c.share for c in classes) or 1.0
    for cls in classes:
        mean = load.mean_rps.get(cls.workflow, 0.0) * cls.share
        peak = max(mean, load.peak_rps.get(cls.workflow, 0.0) * cls.share)
        if peak <= 0:
            continue
        routes = setup.routes.get(cls.id, [])
        row: dict[int, float] = {}
        unserved[cls.id] = lp.var(f"u[{cls.id}]", upper=1.0)
        row[unserved[cls.id]] = 1.0
        routed[cls.id] = []
        for index, route in enumerate(routes):
            x = lp.var(f"x[{cls.id}#{index}]", upper=1.0)
            routed[cls.id].append((route, x))
            row[x] = 1.0
            for pool, instances in demands(owner, route, peak):
                capacity[pool][x] += instances
            energy[x] += route.busy_watts(mean)
            cost[x] += route.usage_per_hour(mean)
            quality[x] += mean * route.config.quality / total_mean
        lp.row(f"route[{cls.id}]", row, 1.0, 1.0)
    counts = _pools(lp, capacity, energy, cost)
    outgoing = _outgoing_of(handover[0], owner)
    holding = _inventory(lp, counts, inventory, outgoing, notes)
    scale_e, scale_c = _scale(lp, energy), _scale(lp, cost)
    if goal.objective == "quality" and goal.budget_per_hour is not None:
        lp.row("budget", cost, upper=goal.budget_per_hour)
    primary, secondary, scale_p, scale_s = {
        "energy": (energy, cost, scale_e, scale_c),
        "cost": (cost, energy, scale_c, scale_e),
        "quality": ({i: -q for i, q in quality.items()}, cost, 1.0, scale_c),
    }[goal.objective]
    lp.minimise({i: c / scale_p for i, c in primary.items()})
    lp.minimise({i: TIE_BREAK * c / scale_s for i, c in secondary.items()})
    if handover[0] is not None:
        # Instances beyond the outgoing plan's are held beside it during the hand-over:
        # priced for that share of the epoch, so keeping machines beats moving.
        extra: dict[int, float] = defaultdict(float)
        covered = {n for _, ns in holding.values() for n in ns}
        for h, ns in holding.values():
            extra[h] += handover[1] * primary.get(ns[0], 0.0) / scale_p
        for n in counts.values():
            if n not in covered:
                extra[n] += handover[1] * primary.get(n, 0.0) / scale_p
        lp.minimise(extra)
    for cls_id, u in unserved.items():
        # Dearer than the dearest route, holding its instances included.
        worst = 1.0
        for _, x in routed[cls_id]:
            held = sum(
                demand[x] * primary.get(counts[pool], 0.0)
                for pool, demand in capacity.items()
                if x in demand and pool in counts
            )
            worst = max(worst, (abs(primary.get(x, 0.0)) + held) / scale_p)
        lp.minimise({u: UNSERVED_PENALTY * worst})
    solution = solve(lp, goal.solver, goal.time_limit_s)
    plan = FleetPlan(solver=goal.solver, status=solution.status, solve_s=solution.seconds)
    plan.objective = solution.objective
    plan.notes.extend(notes)
    if not solution.ok:
        plan.notes.append(f"{goal.solver}: {solution.status} after {solution.seconds:.1f} s")
        return plan
    for instance_pool, var in counts.items():
        count = round(solution[var])
        if count > 0:
            if isinstance(instance_pool, LlmPool):
                plan.llm[instance_pool] = count
            else:
                plan.tools[instance_pool] = count
    for cls_id, pairs in routed.items():
        kept = [(route, solution[x]) for route, x in pairs if solution[x] > 1e-7]
        plan.routes[cls_id] = kept

        if solution[unserved[cls_id]] > 1e-6:
            plan.unserved[cls_id] = solution[unserved[cls_id]]
    for cls in classes:
        if cls.id in routed and not routed[cls.id]:
            plan.notes.append(f"{cls.id}: no configuration meets {cls.describe()}")
    return plan


def _pools(
    lp: LinearProgram,
    capacity: dict,
    energy: dict[int, float],
    cost: dict[int, float],
) -> dict[LlmPool | ToolPool, int]:
    """An instance count per pool, its capacity row (demand in instances), and what
    holding it costs."""
    counts: dict[LlmPool | ToolPool, int] = {}
    for pool, demand in sorted(capacity.items(), key=lambda item: item[0].key):
        if isinstance(pool, LlmPool) and pool.serving.hosted:
            lp.row(f"rate-limit[{pool.key}]", demand, upper=1.0)
            continue
        n = lp.var(f"n[{pool.key}]", integer=True)
        counts[pool] = n
        lp.row(f"capacity[{pool.key}]", {**demand, n: -1.0}, upper=0.0)
        idle, price = holding(pool)
        energy[n] += idle
        cost[n] += price
    return counts


def _inventory(
    lp: LinearProgram,
    counts: dict,
    inventory: Inventory,
    outgoing: dict[Any, int],
    notes: list[str],
) -> dict[Any, tuple[int, list[int]]]:
    """GPUs per type and cores within the inventory, the outgoing plan's included.

    During the hand-over a kind of machine (a model profile, whatever its operating
    point; a tool pool) holds max(new, outgoing): h >= sum of its new pools' n,
    h >= outgoing; an outgoing machine the new plan does not use holds what it has.
    Returns, per machine, the variable holding it and its new pools' count variables.
    """
    floor: dict[str, float] = defaultdict(float)
    leaving: dict[Any, int] = defaultdict(int)
    unit: dict[Any, tuple[str, int]] = {}
    for pool, count in outgoing.items():
        machine = machine_of(pool)
        leaving[machine] += count
        unit[machine] = (_device(pool), _units(pool))
        floor[_device(pool)] += count * _units(pool)
    machines: dict[Any, list[int]] = defaultdict(list)
    for pool, n in counts.items():
        machines[machine_of(pool)].append(n)
        unit[machine_of(pool)] = (_device(pool), _units(pool))
    fixed: dict[str, float] = defaultdict(float)
    for machine, count in leaving.items():
        if machine not in machines:
            fixed[unit[machine][0]] += count * unit[machine][1]
    held: dict[str, dict[int, float]] = defaultdict(dict)
    holding: dict[Any, tuple[int, list[int]]] = {}
    for index, (machine, ns) in enumerate(machines.items()):
        device, units = unit[machine]
        limit = inventory.cpu_cores if device == CPU else inventory.count(device)
        if leaving.get(machine, 0) > 0 and floor[device] <= limit:
            h = lp.var(f"h[{index}]", integer=True)
            lp.row(f"handover[{index}]", {h: 1.0, **{n: -1.0 for n in ns}}, lower=0.0)
            lp.row(f"outgoing[{index}]", {h: 1.0}, lower=float(leaving[machine]))
            held[device][h] = float(units)
            holding[machine] = (h, ns)
        else:
            for n in ns:
                held[device][n] = float(units)
    for device in sorted(set(held) | set(fixed)):
        limit = inventory.cpu_cores if device == CPU else inventory.count(device)
        if floor[device] > limit:
            notes.append(
                f"the outgoing plan already holds {floor[device]:.0f} {device}, over the {limit}"
            )
            fixed[device] = 0.0
        lp.row(f"inventory[{device}]", held.get(device, {}), upper=max(0.0, limit - fixed[device]))
    return holding


def _device(pool: LlmPool | ToolPool) -> str:
    return pool.serving.device if isinstance(pool, LlmPool) else pool.device


def _units(pool: LlmPool | ToolPool) -> int:
    return pool.serving.gpus if isinstance(pool, LlmPool) else 1


def _own(plan: FleetPlan, owner: str) -> FleetPlan:
    return FleetPlan(
        {p: n for p, n in plan.llm.items() if p.owner == owner},
        {t: n for t, n in plan.tools.items() if t.owner == owner},
    )


def _outgoing_of(plan: FleetPlan | None, owner: str) -> dict[Any, int]:
    if plan is None:
        return {}
    pools: dict[Any, int] = {t: n for t, n in plan.tools.items() if t.owner == owner}
    for pool, count in plan.llm.items():
        if pool.owner == owner and not pool.serving.hosted:
            pools[pool] = count
    return pools


def _scale(lp: LinearProgram, coefs: dict[int, float]) -> float:
    """A typical size of an objective, so that weights mean the same at any load."""
    values = sorted(abs(c) for c in coefs.values() if c != 0)
    if not values:
        return 1.0
    return max(1e-9, values[len(values) // 2] * math.sqrt(len(values)))


@dataclass(frozen=True)
class Prediction:
    """What a plan is predicted to cost over one hour of a load."""

    gpus: dict[str, int]
    cores: int
    energy_kwh: float
    cost_usd: float
    quality: float  # request-weighted mean over the requests routed


def predict(plan: FleetPlan, load: Load) -> Prediction:
    watts, cost = plan.idle_watts(), plan.hourly_held_cost()
    weighted = served = 0.0
    for routes in plan.routes.values():
        for route, fraction in routes:
            rps = load.mean_rps.get(route.cls.workflow, 0.0) * route.cls.share * fraction
            watts += route.busy_watts(rps)
            cost += route.usage_per_hour(rps)
            weighted += rps * route.config.quality
            served += rps
    quality = weighted / served if served else 0.0
    return Prediction(plan.gpus(), plan.cores(), watts / 1000, cost, quality)
