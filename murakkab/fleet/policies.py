"""The four fleet policies `mkc simulate` compares, from what a framework user deploys to joint.

- static: every workflow on Gemma-3-27B on A100s at tensor parallelism 4, run at
  its saturation throughput (vLLM's maximum), tools on A100s beside it; one fleet
  sized for the whole trace's peak and never changed; no SLO awareness. Its
  configuration is the cheapest Gemma one that reaches the quality-good tier,
  what a user serving the majority tier picks (video Q/A: 5 frames with speech
  to text; code: 4 debaters, 4 rounds).
- autoscale: the same deployment with the auto-scaler (epochs.py) moving each
  pool's count with the load.
- opt: each workflow planned on its own (its own pools), every epoch, with the
  auto-scaler between epochs.
- joint: all workflows planned together on shared pools, every epoch, with the
  auto-scaler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from murakkab.fleet.epochs import EpochOptions, Timeline, observed, run_epochs
from murakkab.fleet.formulation import Goal, plan_epoch
from murakkab.fleet.plan import FleetPlan
from murakkab.fleet.serving import ToolOption, servings
from murakkab.fleet.setup import Inventory, Route, Setup, place_tools, route_latency
from murakkab.fleet.tiers import workflow_tiers
from murakkab.fleet.workload import Config, FleetWorkflow
from murakkab.profiles.schema import ModelProfile, Profile, ToolProfile

POLICIES = ("static", "autoscale", "opt", "joint")
STATIC_MODEL, STATIC_GPU, STATIC_TP = "gemma-3-27b", "a100", 4


@dataclass(frozen=True)
class PolicyInputs:
    setup: Setup
    profiles: list[Profile]
    rps: dict[str, np.ndarray]  # requests/s per minute, per workflow
    inventory: Inventory
    goal: Goal
    options: EpochOptions


def run_policy(name: str, inputs: PolicyInputs) -> Timeline:
    if name in ("opt", "joint"):
        shared = name == "joint"
        return run_epochs(
            inputs.setup, inputs.rps, inputs.inventory, inputs.goal, shared, inputs.options
        )
    static = static_plan(inputs)
    options = replace(inputs.options, autoscale=name == "autoscale", replan=False)
    timeline = run_epochs(
        inputs.setup, inputs.rps, inputs.inventory, inputs.goal, True, options, fixed=static
    )
    timeline.notes.extend(static.notes)
    return timeline


def static_plan(inputs: PolicyInputs) -> FleetPlan:
    """The hand-picked deployment, sized by the same capacity rule on the trace's peak."""
    setup = inputs.setup
    routes: dict[str, list[Route]] = {}
    profile = next(
        p
        for p in inputs.profiles
        if isinstance(p, ModelProfile)
        and (p.model, p.device, p.tp) == (STATIC_MODEL, STATIC_GPU, STATIC_TP)
    )
    serving = servings(profile)[-1]  # at saturation
    options = {
        (p.executor, p.impl, p.device): ToolOption(p)
        for p in inputs.profiles
        if isinstance(p, ToolProfile)
    }
    for cls in setup.classes:
        workflow = next(w for w in setup.workflows if w.name == cls.workflow)
        good = workflow_tiers(workflow.shape, inputs.profiles)[0].good
        config = static_config(workflow, good)
        placed = place_tools(config, STATIC_GPU, options) or place_tools(config, "cpu", options)
        assert placed is not None
        routes[cls.id] = [
            Route(cls, config, serving, STATIC_GPU, placed, route_latency(config, serving, placed))
        ]
    fixed = Setup(setup.workflows, setup.classes, routes)
    minutes = max(len(r) for r in inputs.rps.values())
    peak = observed(inputs.rps, 0, minutes)
    peak_load = replace(peak, mean_rps=dict(peak.peak_rps))
    # The baseline is what a user deploys, not what the inventory allows: size it freely.
    unlimited = Inventory(tuple((g, 10**6) for g, _ in inputs.inventory.gpus), 10**8)
    plan = plan_epoch(fixed, peak_load, unlimited, inputs.goal, True)
    gpus = plan.gpus()
    over = {g: n for g, n in gpus.items() if n > inputs.inventory.count(g)}
    if over:
        plan.notes.append(
            "static: the peak-sized fleet holds "
            + ", ".join(f"{n} {g.upper()}" for g, n in over.items())
            + ", more than the inventory; simulated as deployed"
        )
    return plan


def static_config(workflow: FleetWorkflow, good: float) -> Config:
    """The cheapest Gemma-3-27B configuration reaching the quality-good tier (else its best)."""
    gemma = [c for c in workflow.configs if c.model == STATIC_MODEL] or list(workflow.configs)
    reaching = [c for c in gemma if c.quality >= good]
    if reaching:
        return min(reaching, key=lambda c: (c.tokens_p90, -c.quality))
    return max(gemma, key=lambda c: c.quality)
