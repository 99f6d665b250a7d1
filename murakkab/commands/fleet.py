"""`mkc fleet plan` and `mkc simulate`: many workflows on one fleet (docs/fleet.md).

`mkc fleet plan` plans one epoch (the trace's busiest hour unless --hour says)
and prints the pools, routing and predicted energy and cost. `mkc simulate`
replays the trace through one or all policies and prints peak GPUs, GPU-hours,
energy, cost and SLO attainment per policy, with charts (PNG and HTML) in -o
DIR; `--sweep h100=0:500:100` repeats one policy over inventories.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.source import SourceFile

if TYPE_CHECKING:
    from murakkab.fleet.experiment import Experiment

EXIT_OK, EXIT_USAGE = 0, 2


def register(commands: Any, command: Any) -> None:
    fleet = command(
        commands,
        "fleet",
        "plan many workflows on one fleet of GPUs",
        _help,
        "mkc fleet plan examples/video_qa.mk examples/code_gen_debate.mk",
    )
    actions = fleet.add_subparsers(title="actions", metavar="ACTION")
    plan = command(
        actions,
        "plan",
        "plan one epoch: instances per model/GPU/TP, routing, predicted energy and cost",
        cmd_plan,
        "mkc fleet plan examples/video_qa.mk examples/code_gen_debate.mk",
        "mkc fleet plan examples/video_qa.mk examples/code_gen_debate.mk"
        ' --mix "50% quality>=best, 50% latency<=fair" --objective cost',
    )
    _common(plan)
    plan.add_argument(
        "--hour",
        type=int,
        metavar="H",
        help="plan for this hour of the trace (default: the busiest)",
    )
    plan.add_argument(
        "--per-workflow", action="store_true", help="plan each workflow on its own pools"
    )
    plan.set_defaults(command="fleet plan")
    fleet.set_defaults(fleet_parser=fleet)
    simulate = command(
        commands,
        "simulate",
        "replay an arrival trace through fleet policies and compare them",
        cmd_simulate,
        "mkc simulate examples/video_qa.mk examples/code_gen_debate.mk"
        " --policy all -o fleet-report",
        "mkc simulate examples/video_qa.mk examples/code_gen_debate.mk"
        " --policy joint --sweep h100=0:500:100 --gpus a100=2000",
    )
    _common(simulate)
    simulate.add_argument(
        "--policy", default="all", choices=("static", "autoscale", "opt", "joint", "all")
    )
    simulate.add_argument("--seed", type=int, default=0, help="the simulator's seed (default 0)")
    simulate.add_argument(
        "--epoch-min", type=int, default=60, help="minutes between re-plans (default 60)"
    )
    simulate.add_argument(
        "--provision-min", type=int, default=20, help="minutes new instances take (default 20)"
    )
    simulate.add_argument(
        "--alpha", type=float, default=0.5, help="EWMA weight of the last epoch (default 0.5)"
    )
    simulate.add_argument(
        "--no-autoscale", action="store_true", help="no auto-scaler between epochs"
    )
    simulate.add_argument(
        "--sweep",
        metavar="GPU=START:STOP:STEP",
        help="repeat the policy over counts of one GPU type",
    )
    simulate.add_argument(
        "-o", "--output", metavar="DIR", help="write fleet.png, policies.png and report.html here"
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="WORKFLOW.mk", help="reference workflows to serve together"
    )
    parser.add_argument(
        "--mix",
        action="append",
        default=[],
        metavar="MIX",
        help='SLO classes, e.g. "70%% quality>=good, 30%% latency<=good"',
    )
    parser.add_argument(
        "--trace", metavar="FILE", help="arrival trace CSV (default: the reference Azure trace)"
    )
    parser.add_argument(
        "--stream",
        action="append",
        default=[],
        metavar="WORKFLOW=STREAM",
        help="which trace stream drives a workflow",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every rate (default 1)")
    parser.add_argument("--hours", metavar="A:B", help="use hours [A, B) of the trace")
    parser.add_argument("--inventory", metavar="FILE", help="GPUs by type and CPU cores (TOML)")
    parser.add_argument(
        "--gpus",
        metavar="TYPE=N,...",
        help="GPU counts, over the inventory's (default a100=2000,h100=500)",
    )
    parser.add_argument("--objective", default="energy", choices=("energy", "cost", "quality"))
    parser.add_argument(
        "--budget", type=float, metavar="USD_PER_HOUR", help="cost budget for --objective quality"
    )
    parser.add_argument(
        "--solver",
        default="highs",
        choices=("highs", "z3"),
        help="exact MILP solver (default highs)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=300.0, metavar="S", help="per plan (default 300 s)"
    )
    parser.add_argument("--db", metavar="PATH", help="the profile store (default: MKC_PROFILE_DB)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _help(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    args.fleet_parser.print_help(sys.stderr)
    return EXIT_USAGE


def _experiment(args: argparse.Namespace, sources: dict[str, SourceFile]) -> Experiment:
    from murakkab.cli import UsageError
    from murakkab.fleet.classes import parse_mix
    from murakkab.fleet.epochs import EpochOptions
    from murakkab.fleet.experiment import load_inventory, prepare
    from murakkab.fleet.formulation import Goal
    from murakkab.fleet.trace import load_trace, reference_trace
    from murakkab.profiles.store import ProfileStore

    if args.scale <= 0:
        raise UsageError("--scale must be positive")
    if args.objective == "quality" and args.budget is None:
        raise UsageError("--objective quality needs --budget USD_PER_HOUR")
    mix = parse_mix(args.mix, sources)
    trace = (
        load_trace(args.trace, sources, getattr(args, "seed", 0))
        if args.trace
        else reference_trace(getattr(args, "seed", 0))
    )
    if args.hours:
        start, _, stop = args.hours.partition(":")
        if not (
            start.isdigit() and stop.isdigit() and int(start) < int(stop) <= trace.minutes // 60
        ):
            raise UsageError(f"--hours takes A:B with 0 <= A < B <= {trace.minutes // 60}")
        trace = trace.hours(int(start), int(stop))
    trace = trace.scaled(args.scale)
    inventory = load_inventory(args.inventory, args.gpus, sources)
    goal = Goal(args.objective, args.budget, args.solver, args.time_limit)
    options = EpochOptions()
    if hasattr(args, "epoch_min"):
        window = EpochOptions().window_min
        if args.epoch_min < window or args.epoch_min % window or args.provision_min < 0:
            raise UsageError(
                f"--epoch-min is a multiple of the auto-scaler's {window}-minute window, "
                "--provision-min >= 0"
            )
        if not 0 < args.alpha <= 1:
            raise UsageError("--alpha is in (0, 1]")
        options = EpochOptions(
            args.epoch_min, args.provision_min, args.alpha, not args.no_autoscale
        )
    store = ProfileStore(Path(args.db), label="--db") if args.db else ProfileStore()
    return prepare(
        args.files, mix, trace, inventory, goal, options, store.all(), sources, args.stream
    )


def cmd_plan(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import UsageError, write_output
    from murakkab.fleet.epochs import observed
    from murakkab.fleet.formulation import plan_epoch, predict
    from murakkab.fleet.render import plan_json, render_plan

    experiment = _experiment(args, sources)
    rps = experiment.rps()
    hours = experiment.trace.minutes // 60
    if args.hour is None:
        busiest = max(
            range(hours),
            key=lambda h: sum(float(r[h * 60 : h * 60 + 60].sum()) for r in rps.values()),
        )
        hour = busiest
    elif 0 <= args.hour < hours:
        hour = args.hour
    else:
        raise UsageError(f"--hour must be in 0..{hours - 1}")
    load = observed(rps, hour * 60, hour * 60 + 60)
    plan = plan_epoch(
        experiment.setup, load, experiment.inventory, experiment.goal, not args.per_workflow
    )
    prediction = predict(plan, load)
    if args.json:
        write_output(
            json.dumps(plan_json(experiment, plan, prediction, hour, load), indent=2) + "\n", None
        )
    else:
        write_output(render_plan(experiment, plan, prediction, hour, load), None)
    return EXIT_OK if plan.status in ("optimal", "feasible") else 1


def cmd_simulate(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import UsageError, write_output
    from murakkab.fleet.experiment import run
    from murakkab.fleet.render import render_results, render_sweep, results_json, sweep_steps

    experiment = _experiment(args, sources)
    if args.sweep:
        gpu, steps = sweep_steps(args.sweep, sources)
        policy = "joint" if args.policy == "all" else args.policy
        rows = []
        for count in steps:
            counts = dict(experiment.inventory.gpus)
            counts[gpu] = count
            inventory = replace(experiment.inventory, gpus=tuple(sorted(counts.items())))
            from murakkab.fleet.setup import build_setup

            setup = build_setup(
                experiment.workflows,
                experiment.classes,
                experiment.profiles,
                [g for g, _ in inventory.gpus],
            )
            rows.append(
                (
                    count,
                    run(replace(experiment, inventory=inventory, setup=setup), policy, args.seed),
                )
            )
        write_output(render_sweep(gpu, policy, rows, args.json), None)
        return EXIT_OK
    policies = ("static", "autoscale", "opt", "joint") if args.policy == "all" else (args.policy,)
    results = [run(experiment, policy, args.seed) for policy in policies]
    if args.output:
        from murakkab.backends.sim.charts import write_report

        try:
            written = write_report(
                results,
                Path(args.output),
                "mkc simulate: " + ", ".join(w.name for w in experiment.workflows),
            )
        except OSError as error:
            raise UsageError(f"-o {args.output}: {error.strerror or error}") from None
        print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    text = (
        json.dumps(results_json(results), indent=2) + "\n"
        if args.json
        else render_results(experiment, results)
    )
    write_output(text, None)
    return EXIT_OK
