"""The 24 h fleet experiment of the reference data: video Q/A and code generation together.

    python bench/fleet.py                 # all four policies, HiGHS, Z3 on one epoch
    python bench/fleet.py --z3-epochs 0   # skip the Z3 comparison
    python bench/fleet.py --scale 0.1     # a tenth of the traffic (a quick look)

Workloads examples/video_qa.mk (driven by the chat stream) and
examples/code_gen_debate.mk (the coding stream) over the reference Azure trace
(24 hourly mean/peak rates, Poisson arrivals), 70% of requests in the
quality-good class and 30% in latency-good, inventory 2,000 A100s + 500 H100s,
energy objective. Every policy is simulated on the same arrivals (same seed):
static (Gemma-3-27B on A100 TP4 sized for the day's peak), autoscale (the same
with the auto-scaler), opt (each workflow planned alone every epoch) and joint
(all workflows planned together on shared pools every epoch); then joint again
under the cost objective (joint-cost).

Measured in this run: the planner's time per epoch (HiGHS, every epoch of the
joint policy), Z3's time and objective on the busiest epoch(s) against HiGHS's
on the same program, and each policy's whole simulation. The last lines are
what scripts compare, ratios against the static fleet:
`joint: gpus 2.9x, energy 3.8x, cost 4.6x, slo 99.7%`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from murakkab.fleet.classes import parse_mix  # noqa: E402
from murakkab.fleet.epochs import EpochOptions, observed  # noqa: E402
from murakkab.fleet.experiment import DEFAULT_INVENTORY, prepare, run  # noqa: E402
from murakkab.fleet.formulation import Goal, plan_epoch  # noqa: E402
from murakkab.fleet.render import ratio_line  # noqa: E402
from murakkab.fleet.trace import reference_trace  # noqa: E402
from murakkab.profiles.store import ProfileStore  # noqa: E402

WORKFLOWS = [str(ROOT / "examples" / "video_qa.mk"), str(ROOT / "examples" / "code_gen_debate.mk")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--z3-epochs", type=int, default=1, help="busiest epochs also solved by Z3")
    parser.add_argument("--z3-limit", type=float, default=600.0, help="seconds per Z3 epoch")
    args = parser.parse_args()

    sources: dict = {}
    profiles = ProfileStore().all()
    trace = reference_trace(args.seed).scaled(args.scale)
    experiment = prepare(
        WORKFLOWS,
        parse_mix([], sources),
        trace,
        DEFAULT_INVENTORY,
        Goal("energy"),
        EpochOptions(),
        profiles,
        sources,
    )
    print(
        f"fleet: {trace.minutes // 60} h of {trace.name} x{args.scale:g}, "
        f"{DEFAULT_INVENTORY.describe()}"
    )
    for cls in experiment.classes:
        print(f"  {cls.id}: {cls.describe()}")

    results = []
    runs = [(p, experiment) for p in ("static", "autoscale", "opt", "joint")]
    # The joint policy once more under the cost objective: what the cheapest plan gives up.
    runs.append(("joint-cost", replace(experiment, goal=Goal("cost"))))
    for policy, setting in runs:
        started = time.perf_counter()
        result = run(setting, policy.split("-")[0], args.seed)
        result.policy = policy
        wall = time.perf_counter() - started
        results.append(result)
        per_epoch = f", {result.plan_s / result.plans:.2f} s per plan" if result.plans else ""
        print(
            f"{policy:9s} {wall:6.1f} s (planning {result.plan_s:.1f} s in "
            f"{result.plans} plans{per_epoch}; "
            f"simulating {result.simulate_s:.1f} s, {result.requests:,} requests)  "
            f"peak {result.peak_gpus} GPUs "
            f"{result.peak_gpus_by_type()}, {result.gpu_hours:,.0f} GPU-h, "
            f"{result.energy_kwh:,.0f} kWh, "
            f"${result.cost_usd:,.0f}, SLO {result.slo_attainment:.2%}"
        )
        for cls_id, stats in result.classes.items():
            bound = "" if stats.bound_s is None else f" (bound {stats.bound_s:.2f} s)"
            print(
                f"    {cls_id}: met {stats.attainment:.2%}, p90 {stats.p90_s:.1f} s{bound}, "
                f"unserved {stats.unserved:,}"
            )
        for note in result.notes:
            print(f"    note: {note}")

    _solvers(experiment, args)
    base = results[0]
    for result in results:
        print(ratio_line(result, base))
    return 0


def _solvers(experiment, args) -> None:  # type: ignore[no-untyped-def]
    """HiGHS on every epoch; Z3 on the busiest ones, on the same programs."""
    rps = experiment.rps()
    hours = experiment.trace.minutes // 60
    loads = [observed(rps, h * 60, h * 60 + 60) for h in range(hours)]
    times = []
    for load in loads:
        plan = plan_epoch(
            experiment.setup, load, experiment.inventory, Goal("energy", solver="highs"), True
        )
        times.append((plan.solve_s, plan.objective))
    print(
        f"highs: {len(times)} epochs, {sum(t for t, _ in times):.1f} s in all, "
        f"max {max(t for t, _ in times):.2f} s per epoch"
    )
    busiest = sorted(range(hours), key=lambda h: -sum(loads[h].mean_rps.values()))[: args.z3_epochs]
    for hour in busiest:
        goal = Goal("energy", solver="z3", time_limit_s=args.z3_limit)
        plan = plan_epoch(experiment.setup, loads[hour], experiment.inventory, goal, True)
        highs_s, highs_objective = times[hour]
        print(
            f"z3: hour {hour}: {plan.status} in {plan.solve_s:.1f} s, "
            f"objective {plan.objective:.6f} "
            f"(highs: optimal in {highs_s:.2f} s, objective {highs_objective:.6f}; z3 / highs time "
            f"{plan.solve_s / max(highs_s, 1e-9):,.0f}x)"
        )


if __name__ == "__main__":
    sys.exit(main())
