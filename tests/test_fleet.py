"""Fleet mode: the MILP solvers, FIFO queues, --mix, traces, the epoch formulation and
the simulator, on scaled-down traces (0.01 of the reference load, two hours)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from murakkab.backends.sim.queues import finish_times, finish_times_loop

from murakkab.diagnostics import DiagnosticError
from murakkab.fleet.classes import DEFAULT_MIX, ClassSpec, parse_mix
from murakkab.fleet.epochs import EpochOptions, observed
from murakkab.fleet.experiment import DEFAULT_INVENTORY, Experiment, prepare, run
from murakkab.fleet.formulation import Goal, plan_epoch, predict
from murakkab.fleet.lp import LinearProgram, solve
from murakkab.fleet.plan import FleetPlan, LlmPool
from murakkab.fleet.setup import BUFFER, Inventory
from murakkab.fleet.trace import BURST_MINUTES, parse_trace, reference_trace
from murakkab.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = [str(ROOT / "examples" / "video_qa.mk"), str(ROOT / "examples" / "code_gen_debate.mk")]
# The reference trace's published hourly means and peaks (requests/minute), hours 0 and 1.
PUBLISHED = {"chat": [(3306, 3787), (3363, 3625)], "coding": [(532, 681), (484, 605)]}


# ---- lp -------------------------------------------------------------------------------


def _knapsack() -> LinearProgram:
    """maximise 5a + 4b + 3c s.t. 2a + 3b + c <= 5, 4a + b + 2c <= 11, integers >= 0."""
    lp = LinearProgram()
    a, b, c = (lp.var(name, upper=10, integer=True) for name in "abc")
    lp.row("r1", {a: 2, b: 3, c: 1}, upper=5)
    lp.row("r2", {a: 4, b: 1, c: 2}, upper=11)
    lp.minimise({a: -5, b: -4, c: -3})
    return lp


def _brute_force_knapsack() -> float:
    best = math.inf
    for a, b, c in itertools.product(range(11), repeat=3):
        if 2 * a + 3 * b + c <= 5 and 4 * a + b + 2 * c <= 11:
            best = min(best, -(5 * a + 4 * b + 3 * c))
    return best


@pytest.mark.parametrize("solver", ["highs", "z3"])
def test_lp_small_milp_is_solved_to_the_brute_force_optimum(solver: str) -> None:
    lp = _knapsack()
    solution = solve(lp, solver)  # type: ignore[arg-type]
    assert solution.status == "optimal"
    assert solution.ok
    assert solution.objective == pytest.approx(_brute_force_knapsack(), abs=1e-6)
    values = solution.values
    assert all(abs(v - round(v)) < 1e-6 for v in values)
    a, b, c = values
    assert 2 * a + 3 * b + c <= 5 + 1e-6
    assert 4 * a + b + 2 * c <= 11 + 1e-6


def test_lp_highs_and_z3_agree() -> None:
    highs, z3 = solve(_knapsack(), "highs"), solve(_knapsack(), "z3")
    assert highs.status == z3.status == "optimal"
    assert highs.objective == pytest.approx(z3.objective, abs=1e-6)
    assert (highs.solver, z3.solver) == ("highs", "z3")


@pytest.mark.parametrize("solver", ["highs", "z3"])
def test_lp_infeasible_program(solver: str) -> None:
    lp = LinearProgram()
    x = lp.var("x", upper=5, integer=True)
    y = lp.var("y", upper=5)
    lp.row("even", {x: 2}, lower=3, upper=3)  # 2x = 3 has no integer solution
    lp.row("y", {y: 1}, lower=1)
    lp.minimise({x: 1, y: 1})
    solution = solve(lp, solver)  # type: ignore[arg-type]
    assert solution.status == "infeasible"
    assert not solution.ok
    assert solution.values == ()
    assert solution.objective == math.inf


def test_lp_rejects_duplicate_variables_and_unknown_solvers() -> None:
    lp = LinearProgram()
    lp.var("x")
    with pytest.raises(ValueError, match="declared twice"):
        lp.var("x")
    with pytest.raises(ValueError, match="unknown solver"):
        solve(lp, "glpk")  # type: ignore[arg-type]


# ---- queues ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_finish_times_matches_the_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    server = rng.integers(0, 7, n)
    arrive = rng.uniform(0, 100, n)
    service = rng.exponential(2.0, n)
    fast = finish_times(server, arrive, service)
    slow = finish_times_loop(server, arrive, service)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)
    assert np.all(fast >= arrive + service - 1e-9)


def test_finish_times_single_server_by_hand() -> None:
    # Given out of arrival order: the queue serves in arrival order all the same.
    arrive = np.array([10.0, 0.0, 2.0, 1.0])
    service = np.array([2.0, 3.0, 1.0, 1.0])
    server = np.zeros(4, dtype=int)
    # 0 -> [0, 3]; 1 -> [3, 4]; 2 -> [4, 5]; 10 -> [10, 12] (the server was idle)
    expected = np.array([12.0, 3.0, 5.0, 4.0])
    np.testing.assert_allclose(finish_times(server, arrive, service), expected)
    np.testing.assert_allclose(finish_times_loop(server, arrive, service), expected)


def test_finish_times_servers_are_independent_and_empty_is_empty() -> None:
    arrive = np.array([0.0, 0.0, 1.0])
    service = np.array([5.0, 5.0, 1.0])
    server = np.array([0, 1, 0])
    np.testing.assert_allclose(finish_times(server, arrive, service), [5.0, 5.0, 6.0])
    assert len(finish_times(np.zeros(0, int), np.zeros(0), np.zeros(0))) == 0


# ---- classes --------------------------------------------------------------------------


def _mix_error(flag: str) -> tuple[str, int, str]:
    with pytest.raises(DiagnosticError) as caught:
        parse_mix([flag], {})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "MK0901"
    assert diagnostic.span.file == "--mix"
    assert diagnostic.span.line == 1
    return diagnostic.message, diagnostic.span.column, diagnostic.span.end_column


def test_parse_mix_default() -> None:
    mix = parse_mix([], {})
    assert mix.default == (ClassSpec("quality", "good", 0.7), ClassSpec("latency", "good", 0.3))
    assert mix.per_workflow == ()
    assert mix.of("video_qa") == mix.default
    assert DEFAULT_MIX.startswith("70%")


def test_parse_mix_per_workflow_prefix() -> None:
    sources: dict[str, SourceFile] = {}
    mix = parse_mix(["video_qa: 50% quality>=best, 50% latency<=fair"], sources)
    assert mix.of("video_qa") == (
        ClassSpec("quality", "best", 0.5),
        ClassSpec("latency", "fair", 0.5),
    )
    assert mix.of("code_gen_debate") == mix.default  # the default mix still holds
    assert "--mix" in sources


def test_parse_mix_without_prefix_replaces_the_default() -> None:
    mix = parse_mix(["100% quality>=basic", "code_gen_debate: 100% latency<=best"], {})
    assert mix.default == (ClassSpec("quality", "basic", 1.0),)
    assert mix.of("code_gen_debate") == (ClassSpec("latency", "best", 1.0),)


def test_parse_mix_shares_must_add_up() -> None:
    message, column, _ = _mix_error("80% quality>=good")
    assert "80%" in message and "100%" in message
    assert column == 1
    text = "video_qa: 50% quality>=good, 30% latency<=good"
    message, column, _ = _mix_error(text)
    assert "80%" in message
    assert column == text.index(":") + 2  # the body after the prefix


def test_parse_mix_unknown_tier_points_at_the_tier() -> None:
    text = "70% quality>=good, 30% latency<=grand"
    message, column, end = _mix_error(text)
    assert "grand" in message
    assert column == text.index("grand") + 1
    assert end == column + len("grand")


def test_parse_mix_wrong_operator_points_at_the_operator() -> None:
    text = "30% latency<=good, 70% quality<=good"
    message, column, end = _mix_error(text)
    assert "quality takes >=" in message
    assert column == text.index("quality<=") + len("quality") + 1
    assert end == column + 2


def test_parse_mix_unreadable_item_points_at_the_item() -> None:
    text = "70% quality>=good, thirty latency"
    message, column, _ = _mix_error(text)
    assert "thirty latency" in message
    assert column == text.index(",") + 2


# ---- trace ----------------------------------------------------------------------------


def test_reference_trace_keeps_the_published_hourly_means_and_peaks() -> None:
    trace = reference_trace()
    assert set(trace.rates) == {"chat", "coding"}
    assert trace.minutes == 1440
    assert all(len(r) == 1440 for r in trace.rates.values())
    assert trace.arrivals is None
    for stream, hours in PUBLISHED.items():
        for hour, (mean, peak) in enumerate(hours):
            block = trace.rates[stream][hour * 60 : hour * 60 + 60]
            assert block.mean() == pytest.approx(mean, rel=1e-9)
            assert block.max() == pytest.approx(peak)
            assert int(np.sum(block == peak)) == BURST_MINUTES
    assert trace.rates["chat"][:60].mean() == pytest.approx(3306)


def test_reference_trace_every_hour_keeps_its_mean() -> None:
    """All 24 hours of both streams: the burst never pushes an hour off its mean."""
    text = (ROOT / "stdlib" / "profiles" / "traces" / "azure-llm-2024-05-15.csv").read_text()
    rows = [
        line.split(",") for line in text.splitlines() if line and not line.startswith(("#", "hour"))
    ]
    trace = reference_trace()
    assert len(rows) == 24
    for row in rows:
        hour = int(row[0])
        for stream, column in (("chat", 1), ("coding", 3)):
            mean, peak = float(row[column]), float(row[column + 1])
            block = trace.rates[stream][hour * 60 : hour * 60 + 60]
            assert block.mean() == pytest.approx(mean, rel=1e-9), (stream, hour)
            assert block.max() == pytest.approx(max(mean, peak)), (stream, hour)


def test_reference_trace_is_deterministic_for_a_seed_and_scales() -> None:
    a, b = reference_trace(3), reference_trace(3)
    np.testing.assert_array_equal(a.rates["chat"], b.rates["chat"])
    window = a.hours(0, 2).scaled(0.01)
    assert window.minutes == 120
    np.testing.assert_allclose(window.rates["coding"], a.rates["coding"][:120] * 0.01)


def test_parse_trace_request_rows_replay_exactly() -> None:
    text = "# requests\ntime_s,stream\n0.5,chat\n61,coding\n30,chat\n125.25,chat\n"
    trace = parse_trace(SourceFile.of("requests.csv", text))
    assert trace.arrivals is not None
    np.testing.assert_array_equal(trace.arrivals["chat"], [0.5, 30.0, 125.25])
    np.testing.assert_array_equal(trace.arrivals["coding"], [61.0])
    assert trace.minutes == 3
    np.testing.assert_array_equal(trace.rates["chat"], [2.0, 0.0, 1.0])
    np.testing.assert_array_equal(trace.rates["coding"], [0.0, 1.0, 0.0])
    # A window keeps exact arrivals, shifted to its start.
    later = trace.hours(0, 1)
    np.testing.assert_array_equal(later.arrivals["chat"], [0.5, 30.0, 125.25])  # type: ignore[index]


def test_parse_trace_per_minute_form() -> None:
    trace = parse_trace(SourceFile.of("m.csv", "minute,chat\n0,10\n1,20.5\n"))
    np.testing.assert_array_equal(trace.rates["chat"], [10.0, 20.5])


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("time_s,stream\n1,chat\nabc,chat\n", 3, 1, "'abc'"),
        ("hour,chat_mean,chat_peak\n0,10,12\n1,10,x2\n", 3, 6, "'x2'"),
        ("minute,chat,coding\n0,1,2\n\n# note\n1,3,-4\n", 5, 5, "negative"),
    ],
)
def test_parse_trace_bad_numbers_name_line_and_column(
    text: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(DiagnosticError) as caught:
        parse_trace(SourceFile.of("bad.csv", text))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "MK0903"
    assert (diagnostic.span.file, diagnostic.span.line, diagnostic.span.column) == (
        "bad.csv",
        line,
        column,
    )
    assert words in diagnostic.message
    assert "bad.csv" in caught.value.sources


def test_parse_trace_unknown_form() -> None:
    with pytest.raises(DiagnosticError) as caught:
        parse_trace(SourceFile.of("x.csv", "when,chat\n0,1\n"))
    assert caught.value.diagnostics[0].code == "MK0903"


# ---- formulation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def experiment() -> Experiment:
    """The reference pair on two hours of the reference trace at 1% load, shipped priors only."""
    from murakkab.profiles.store import ProfileStore

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MKC_PROFILE_DB", str(ROOT / "tests" / "golden" / "no-such-store.sqlite3"))
        profiles = ProfileStore().all()
        sources: dict[str, SourceFile] = {}
        trace = reference_trace().hours(0, 2).scaled(0.01)
        return prepare(
            WORKFLOWS,
            parse_mix([], sources),
            trace,
            DEFAULT_INVENTORY,
            Goal("energy"),
            EpochOptions(),
            profiles,
            sources,
        )


def _hour_load(experiment: Experiment, hour: int = 0):  # type: ignore[no-untyped-def]
    return observed(experiment.rps(), hour * 60, hour * 60 + 60)


def test_experiment_classes_and_streams(experiment: Experiment) -> None:
    assert experiment.streams == {"video_qa": "chat", "code_gen_debate": "coding"}
    ids = {c.id for c in experiment.classes}
    assert ids == {
        "video_qa:quality-good",
        "video_qa:latency-good",
        "code_gen_debate:quality-good",
        "code_gen_debate:latency-good",
    }
    for cls in experiment.classes:
        assert (cls.max_latency_s is None) == (cls.metric == "quality")
        assert experiment.setup.routes[cls.id], cls.id


def test_plan_epoch_is_optimal_and_meets_every_class(experiment: Experiment) -> None:
    load = _hour_load(experiment)
    plan = plan_epoch(experiment.setup, load, experiment.inventory, experiment.goal, True)
    assert plan.status == "optimal"
    assert plan.unserved == {}
    classes = {c.id: c for c in experiment.classes}
    assert set(plan.routes) == set(classes)
    for cls_id, routes in plan.routes.items():
        assert routes
        assert sum(f for _, f in routes) == pytest.approx(1.0, abs=1e-6)
        cls = classes[cls_id]
        for route, fraction in routes:
            assert 0 < fraction <= 1 + 1e-9
            assert route.cls == cls
            assert route.config.quality >= cls.min_quality
            if cls.max_latency_s is not None:
                assert route.latency_p90 <= cls.max_latency_s


def test_plan_epoch_pools_cover_their_peak_load(experiment: Experiment) -> None:
    load = _hour_load(experiment)
    plan = plan_epoch(experiment.setup, load, experiment.inventory, experiment.goal, True)
    demand: dict[LlmPool, float] = {}
    for routes in plan.routes.values():
        for route, fraction in routes:
            pool = plan.pool_of(route)
            peak = max(load.mean_rps[route.cls.workflow], load.peak_rps[route.cls.workflow])
            tokens = peak * route.cls.share * fraction * route.config.tokens_mean * BUFFER
            demand[pool] = demand.get(pool, 0.0) + tokens
    assert demand
    for pool, tokens in demand.items():
        if pool.serving.hosted:
            continue
        count = plan.llm.get(pool, 0)
        assert count >= 1, pool.key
        assert tokens <= count * pool.serving.load_tps * (1 + 1e-6), pool.key
    for gpu, held in plan.gpus().items():
        assert held <= experiment.inventory.count(gpu)
    assert plan.cores() <= experiment.inventory.cpu_cores


def test_plan_epoch_tiny_inventory_marks_classes_unserved(experiment: Experiment) -> None:
    load = _hour_load(experiment)
    tiny = Inventory((("a100", 4), ("h100", 0)), 100)
    plan = plan_epoch(experiment.setup, load, tiny, experiment.goal, True)
    assert plan.status == "optimal"
    assert plan.unserved
    assert set(plan.unserved) <= {c.id for c in experiment.classes}
    assert all(0 < share <= 1 + 1e-9 for share in plan.unserved.values())
    for gpu, held in plan.gpus().items():
        assert held <= tiny.count(gpu)
    assert plan.cores() <= tiny.cpu_cores
    # What is routed plus what is unserved is the whole class.
    for cls_id, share in plan.unserved.items():
        routed = sum(f for _, f in plan.routes.get(cls_id, []))
        assert routed + share == pytest.approx(1.0, abs=1e-6)


def test_cost_and_energy_objectives_each_win_their_own_metric(experiment: Experiment) -> None:
    load = _hour_load(experiment)
    by_energy = plan_epoch(experiment.setup, load, experiment.inventory, Goal("energy"), True)
    by_cost = plan_epoch(experiment.setup, load, experiment.inventory, Goal("cost"), True)
    assert by_energy.status == by_cost.status == "optimal"
    energy, cost = predict(by_energy, load), predict(by_cost, load)
    assert cost.cost_usd <= energy.cost_usd * (1 + 1e-6)
    assert energy.energy_kwh <= cost.energy_kwh * (1 + 1e-6)
    assert energy.energy_kwh > 0 and cost.cost_usd > 0


def test_shared_plan_is_no_worse_than_per_workflow(experiment: Experiment) -> None:
    for hour in (0, 1):
        load = _hour_load(experiment, hour)
        joint = plan_epoch(experiment.setup, load, experiment.inventory, experiment.goal, True)
        alone = plan_epoch(experiment.setup, load, experiment.inventory, experiment.goal, False)
        assert joint.status == alone.status == "optimal"
        assert predict(joint, load).energy_kwh <= predict(alone, load).energy_kwh * (1 + 1e-6)
        # Per-workflow pools belong to one workflow each; shared pools to none.
        assert all(pool.owner == "" for pool in joint.llm)
        assert all(pool.owner in {"video_qa", "code_gen_debate"} for pool in alone.llm)


def test_predict_counts_what_the_plan_holds(experiment: Experiment) -> None:
    load = _hour_load(experiment)
    plan = plan_epoch(experiment.setup, load, experiment.inventory, experiment.goal, True)
    prediction = predict(plan, load)
    assert prediction.gpus == plan.gpus()
    assert prediction.cores == plan.cores()
    assert prediction.cost_usd >= plan.hourly_held_cost() - 1e-9
    minimum = min(c.min_quality for c in experiment.classes)
    assert minimum <= prediction.quality <= 1.0


# ---- simulator ------------------------------------------------------------------------


def test_simulation_is_deterministic(experiment: Experiment) -> None:
    first, second = run(experiment, "joint", seed=0), run(experiment, "joint", seed=0)
    assert first.minutes == second.minutes == 120
    assert first.energy_kwh == second.energy_kwh
    assert first.cost_usd == second.cost_usd
    assert first.classes == second.classes
    assert first.peak_gpus == second.peak_gpus
    assert set(first.gpus_by_group) == set(second.gpus_by_group)
    for group, series in first.gpus_by_group.items():
        np.testing.assert_array_equal(series, second.gpus_by_group[group])
    np.testing.assert_array_equal(first.cpu_cores, second.cpu_cores)


def test_joint_meets_its_slos_and_beats_static_on_latency(experiment: Experiment) -> None:
    joint = run(experiment, "joint", seed=0)
    static = run(experiment, "static", seed=0)
    assert joint.requests > 1000
    assert joint.requests == static.requests  # the same arrivals for the same seed
    assert joint.slo_attainment >= 0.95
    assert joint.plans >= 2  # one plan per hour
    latency = [cls_id for cls_id, c in joint.classes.items() if c.bound_s is not None]
    assert latency
    for cls_id in latency:
        assert static.classes[cls_id].attainment < joint.classes[cls_id].attainment, cls_id
    assert static.slo_attainment < joint.slo_attainment


def test_hand_over_stays_within_the_inventory(experiment: Experiment) -> None:
    """Both plans are held while one hands over to the next: never more GPUs than exist."""
    from dataclasses import replace

    from murakkab.fleet.policies import PolicyInputs, run_policy

    scarce = Inventory((("a100", 40), ("h100", 8)), 10_000)
    inputs = PolicyInputs(
        experiment.setup,
        experiment.profiles,
        experiment.rps(),
        scarce,
        experiment.goal,
        replace(experiment.options, epoch_min=30, provision_min=20),
    )
    timeline = run_policy("joint", inputs)
    assert timeline.plans >= 4
    for segment in timeline.segments:
        for gpu, held in segment.held.gpus().items():
            assert held <= scarce.count(gpu), (segment.start_s, gpu, held)


def test_moving_between_operating_points_is_not_provisioning() -> None:
    """Pools of one model profile at two operating points are the same machines."""
    from murakkab.fleet.plan import LlmPool, held_during_handover, machine_of
    from murakkab.fleet.serving import servings
    from murakkab.profiles.priors import shipped_priors
    from murakkab.profiles.schema import ModelProfile

    profile = next(
        p
        for p in shipped_priors()
        if isinstance(p, ModelProfile) and p.key == "model/gemma-3-27b/h100/tp4"
    )
    low, high = (LlmPool("", s) for s in servings(profile)[1:3])
    assert machine_of(low) == machine_of(high)
    held = held_during_handover(FleetPlan({low: 5}), FleetPlan({high: 3}))
    assert held.gpus() == {"h100": 5 * 4}  # the 3 new ones are 3 of the 5 old ones
    held = held_during_handover(FleetPlan({low: 2}), FleetPlan({high: 3}))
    assert held.gpus() == {"h100": 3 * 4}
