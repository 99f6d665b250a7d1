"""The placement pass: encode/decode on hand-built problems, greedy against Z3,
determinism, the unsat diagnostic, --dump-smt, parallel copies in waves, the
refusal of logical IR, and the reference scenario."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import z3

from murakkab.diagnostics import DiagnosticError
from murakkab.ir.parser import parse_module
from murakkab.optimize.space import flatten_dependencies
from murakkab.placement.conflict import core
from murakkab.placement.decode import decode
from murakkab.placement.encode import encode
from murakkab.placement.greedy import greedy
from murakkab.placement.guards import write_dump
from murakkab.placement.problem import Instance, Job, Mode, NodeSpec, Problem
from murakkab.placement.schedule import Schedule, metrics, validate
from murakkab.placement.solve import solve
from murakkab.placement.synthetic import random_problem
from murakkab.source import SourceFile
from tests.goldens import ROOT, run_mkc

ONE_NODE = "examples/clusters/one_a100_node.toml"
THIS_MACHINE = "examples/clusters/this_machine.toml"  # 2 cores, no GPU


def cpu(duration: float, cores: int = 1) -> Mode:
    return Mode(f"cpu {cores}", "cpu", duration, 6.0 * cores * duration, 0.0, cores=cores)


def gpu(duration: float, gpus: int = 1, memory: float = 1.0) -> Mode:
    energy = 800.0 * gpus * duration
    device = f"gpu:a100x{gpus}"
    return Mode(device, device, duration, energy, 0.0, gpu_type="a100", gpus=gpus, memory_gb=memory)


def node(name: str = "n0", cores: int = 4, gpus: int = 2) -> NodeSpec:
    return NodeSpec(name, cores, (("a100", gpus),) if gpus else (), (("a100", 80.0),))


def placed(problem: Problem) -> Schedule:
    """Solve the encoding once with Z3 and decode the model: no pass, no search."""
    enc = encode(problem)
    solver = z3.Solver()
    for _, formula in enc.constraints:
        solver.add(formula)
    assert solver.check() == z3.sat
    schedule = decode(enc, solver.model())
    assert validate(problem, schedule) == []
    return schedule


def unsat(problem: Problem) -> bool:
    solver = z3.Solver()
    for _, formula in encode(problem).constraints:
        solver.add(formula)
    return solver.check() == z3.unsat


# ---- encode / decode on three-job problems -------------------------------------------


def test_precedence_orders_the_jobs() -> None:
    problem = Problem((Job("a", "t", (cpu(2.0),)), Job("b", "t", (cpu(1.0),), ("a",))), (node(),))
    schedule = placed(problem)
    assert schedule.jobs["b"].start >= schedule.jobs["a"].start + 2.0 - 1e-9


def test_jobs_that_overlap_share_the_cores() -> None:
    jobs = (Job("a", "t", (cpu(2.0, 2),)), Job("b", "t", (cpu(2.0, 2),)))
    tight = Problem(jobs, (node(cores=2),), latency=3.0)
    assert unsat(tight)  # both need the node's 2 cores: one after the other takes 4 s
    roomy = Problem(jobs, (node(cores=4),), latency=3.0)
    schedule = placed(roomy)
    assert metrics(roomy, schedule).makespan == pytest.approx(2.0)


def test_a_gpu_runs_one_job_at_a_time_and_ids_differ_when_they_overlap() -> None:
    jobs = (Job("a", "t", (gpu(1.0),)), Job("b", "t", (gpu(1.0),)))
    sequential = Problem(jobs, (node(gpus=1),))
    schedule = placed(sequential)
    a, b = schedule.jobs["a"], schedule.jobs["b"]
    assert a.gpu_ids == b.gpu_ids == (0,)
    assert abs(a.start - b.start) >= 1.0 - 1e-9
    side_by_side = Problem(jobs, (node(gpus=2),), latency=1.0)
    schedule = placed(side_by_side)
    assert {schedule.jobs["a"].gpu_ids, schedule.jobs["b"].gpu_ids} == {(0,), (1,)}


def test_a_model_too_big_for_the_gpu_is_ruled_out_and_named_in_the_core() -> None:
    big = Job("big", "t", (gpu(1.0, memory=120.0), cpu(5.0)))
    schedule = placed(Problem((big,), (node(),)))
    assert schedule.jobs["big"].mode == 1  # the CPU: 120 GiB does not fit an 80 GiB GPU
    only_gpu = Problem((Job("big", "t", (gpu(1.0, memory=120.0),)),), (node(),))
    assert core(only_gpu, 2000) == ["memory:a100"]


def test_fused_ops_share_node_and_device() -> None:
    nodes = (node("n0", cores=2, gpus=0), node("n1", cores=2, gpus=1))
    jobs = (
        Job("a", "t", (cpu(1.0, 2), gpu(0.5)), group="g"),
        Job("b", "t", (cpu(1.0, 2), gpu(0.5)), ("a",), group="g"),
    )
    for objective in ("gpus", "latency"):
        schedule = placed(Problem(jobs, nodes, objective=objective))
        a, b = schedule.jobs["a"], schedule.jobs["b"]
        assert a.node == b.node
        assert jobs[0].modes[a.mode].gpu_type == jobs[1].modes[b.mode].gpu_type


def test_the_latency_bound_forces_the_faster_mode_and_conflicts_when_too_tight() -> None:
    job = Job("a", "t", (cpu(10.0), gpu(2.0)))
    schedule = placed(Problem((job,), (node(),), latency=5.0))
    assert schedule.jobs["a"].mode == 1
    assert core(Problem((job,), (node(),), latency=1.0), 2000) == ["latency"]


def test_symmetric_nodes_are_used_in_order() -> None:
    problem = Problem((Job("a", "t", (cpu(1.0),)),), (node("n0"), node("n1")))
    enc = encode(problem)
    solver = z3.Solver()
    for _, formula in enc.constraints:
        solver.add(formula)
    solver.add(z3.Not(enc.x[(0, 0, 0)]))  # keep it off the first of two identical nodes
    assert solver.check() == z3.unsat  # symmetry breaking: the second is used only after it


def test_served_instances_hold_their_gpus_and_calls_share_them() -> None:
    instance = Instance("m@gpu:a100x2", "a100", 2, 72.0, ("c1", "c2"))
    call = Mode("calls m", "gpu:a100x2", 3.0, 100.0, 0.0)
    jobs = (
        Job("c1", "llm", (call,), instance=instance.key),
        Job("c2", "llm", (call,), instance=instance.key),
        Job("tool", "t", (gpu(1.0), cpu(4.0))),
    )
    problem = Problem(jobs, (node(gpus=2),), (instance,), latency=5.0)
    schedule = placed(problem)
    assert schedule.jobs["c1"].gpu_ids == schedule.jobs["c2"].gpu_ids == (0, 1)
    assert schedule.jobs["c1"].start == schedule.jobs["c2"].start == 0.0  # calls overlap
    assert schedule.jobs["tool"].mode == 1  # the instance's GPUs are not the tool's


def test_decode_left_shifts_the_model_start_times() -> None:
    jobs = (Job("a", "t", (cpu(1.0),)), Job("b", "t", (cpu(5.0),)))
    problem = Problem(jobs, (node(),), latency=10.0)
    enc = encode(problem)
    solver = z3.Solver()
    for _, formula in enc.constraints:
        solver.add(formula)
    solver.add(enc.start[0] == 3)  # a model may start a job late
    assert solver.check() == z3.sat
    assert decode(enc, solver.model()).jobs["a"].start == 0.0


# ---- solving --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_z3_proves_small_problems_and_never_loses_to_the_greedy(seed: int) -> None:
    problem = random_problem(10, 4, seed=seed)
    first = greedy(problem)
    outcome = solve(problem, "z3", 2000)
    assert outcome.status == "optimal" and outcome.schedule is not None
    assert validate(problem, outcome.schedule) == []
    if first.feasible and first.metrics is not None:
        assert outcome.value is not None and outcome.value <= first.metrics.gpus


def test_z3_improves_on_the_greedy_when_energy_is_the_objective() -> None:
    problem = random_problem(10, 4, seed=4, objective="energy")
    outcome = solve(problem, "z3", 2000)
    assert outcome.status == "optimal" and outcome.gap == 0.0
    assert outcome.value is not None and outcome.greedy_value is not None
    assert outcome.value <= outcome.greedy_value + 1e-6


def test_cpsat_agrees_with_z3_on_the_optimum() -> None:
    pytest.importorskip("ortools")
    problem = random_problem(10, 4, seed=2, objective="energy")
    z3_outcome, cpsat_outcome = solve(problem, "z3", 2000), solve(problem, "cpsat", 2000)
    assert cpsat_outcome.schedule is not None and validate(problem, cpsat_outcome.schedule) == []
    assert cpsat_outcome.value == pytest.approx(z3_outcome.value, rel=1e-3)


def test_solving_is_deterministic() -> None:
    problem = random_problem(12, 4, seed=5, objective="energy")
    first, second = solve(problem, "z3", 1000), solve(problem, "z3", 1000)
    assert first.schedule == second.schedule and first.status == second.status


def test_the_gpu_limit_of_an_alternative_is_exact() -> None:
    problem = random_problem(10, 4, seed=1)
    outcome = solve(replace(problem, min_gpus=4, max_gpus=4, objective="latency"), "z3", 2000)
    assert outcome.metrics is not None and outcome.metrics.gpus == 4


# ---- the pass -------------------------------------------------------------------------


def explain(path: str, *flags: str) -> list[dict]:  # type: ignore[type-arg]
    status, out, err = run_mkc(["explain", path, "--json", *flags])
    assert status == 0, err
    return [d for d in json.loads(out)["decisions"] if d["pass"] == "placement"]


def test_the_reference_scenario_holds_the_fewest_gpus_that_meet_the_slo() -> None:
    records = explain("examples/video_and_code.mk", "--cluster", ONE_NODE)
    plan = next(d for d in records if d["kind"] == "placement")
    assert (plan["objective"], plan["status"], plan["gpus"]) == ("gpus", "optimal", 5)
    assert plan["latency_s"] < 30
    ops = {d["op"]: d for d in records if d["kind"] == "placed"}
    assert ops["transcript"]["device"] == ops["objects"]["device"] == "gpu:a100x1"
    assert ops["transcript"]["gpu_ids"] == ops["objects"]["gpu_ids"] == [4]
    served = next(d for d in records if d["kind"] == "instance")
    assert (served["instance"], served["gpu_ids"]) == ("gemma-3-27b@gpu:a100x4", [0, 1, 2, 3])
    assert ops["answer"]["gpu_ids"] == ops["solution"]["gpu_ids"] == [0, 1, 2, 3]
    fewer, more = (
        next(d for d in records if d.get("which") == w) for w in ("fewer-gpus", "more-gpus")
    )
    assert fewer["gpus"] == 4 and not fewer["meets"] and "misses latency < 28s" in fewer["why"]
    assert more["gpus"] == 6 and "1 more than needed" in more["why"]


def test_every_op_is_placed_and_the_ir_round_trips(tmp_path: Path) -> None:
    status, out, err = run_mkc(["compile", "examples/code_gen_debate.mk", "--emit", "ir", "-q"])
    assert status == 0, err
    assert out.startswith("level placed")
    for line in out.splitlines():
        if " = " in line and "flow." not in line and "(" in line:
            assert "start = " in line, line
    dumped = tmp_path / "placed.mkir"
    dumped.write_text(out, encoding="utf-8")
    status, again, err = run_mkc(["opt", str(dumped)])
    assert status == 0 and again == out, err


def test_dump_smt_writes_parseable_smtlib(tmp_path: Path) -> None:
    target = tmp_path / "video_qa.smt2"
    args = ["compile", "examples/video_qa.mk", "-q", "-o", str(tmp_path / "out"), "--emit", "ir"]
    status, _, err = run_mkc([*args, "--dump-smt", str(target)])
    assert status == 0, err
    assertions = z3.parse_smt2_file(str(target))
    assert len(assertions) > 10
    solver = z3.Solver()
    solver.add(assertions)
    assert solver.check() == z3.sat


def test_an_unplaceable_workflow_is_mk0507_with_the_conflict_and_a_bound() -> None:
    path = ROOT / "tests" / "golden" / "diagnostics" / "MK0507.mk"
    status, _, err = run_mkc(
        ["compile", str(path), "--cluster", THIS_MACHINE, "-q", "-o", "/dev/null"]
    )
    assert status == 1
    assert "error[MK0507]" in err and "cores of node 'localhost'" in err
    assert "relax latency to <=" in err


def test_options_are_checked() -> None:
    status, _, err = run_mkc(
        ["compile", "examples/video_qa.mk", "-p", "placement{solver=gurobi}", "-q"]
    )
    assert status == 1 and "MK0501" in err


# ---- parallel copies, logical IR, --dump-smt errors, the dependency graph ----------------

THREE_COPIES = """import stdlib.code

workflow three(program: code) -> list<text> {
    task outputs = parallel copies in {3} {
        task output = code.execute(program)
        yield output
    }
    return outputs
}

run three("print(1)")
"""


def test_parallel_copies_that_do_not_fit_at_once_run_in_waves(tmp_path: Path) -> None:
    job = tmp_path / "three.mk"
    job.write_text(THREE_COPIES, encoding="utf-8")
    status, out, err = run_mkc(
        ["compile", str(job), "--cluster", THIS_MACHINE, "-q", "--emit", "ir"]
    )
    assert status == 0, err  # 3 copies of a 1-core op on 2 cores: 2 at once, then 1
    line = next(x for x in out.splitlines() if "code.execute" in x)
    assert "at_once = 2" in line and 'node = "localhost"' in line
    status, again, err = run_mkc(["compile", str(job), "--cluster", ONE_NODE, "-q", "--emit", "ir"])
    assert status == 0 and "at_once" not in again, err  # 32 cores: all three at once
    status, text, err = run_mkc(["explain", str(job), "--cluster", THIS_MACHINE, "--json"])
    assert status == 0, err
    records = [d for d in json.loads(text)["decisions"] if d["pass"] == "placement"]
    placed_op = next(d for d in records if d["kind"] == "placed")
    assert placed_op["mode"] == "cpu 1 core, 2 of 3 at once"
    plan = next(d for d in records if d["kind"] == "placement")
    one = placed_op["end_s"] - placed_op["start_s"]
    assert plan["latency_s"] == pytest.approx(one) and plan["status"] == "optimal"


def test_waves_hold_fewer_cores_for_longer() -> None:
    jobs = (Job("a", "t", (cpu(1.0, 3), replace(cpu(2.0, 2), label="2 of 3"))),)
    schedule = placed(Problem(jobs, (node(cores=2),)))
    assert schedule.jobs["a"].mode == 1  # the gang of 3 cores cannot fit; the waves can


@pytest.mark.parametrize("command", ["compile", "explain"])
def test_placement_of_logical_ir_is_mk0508(command: str) -> None:
    quiet = ["-q"] if command == "compile" else []
    status, _, err = run_mkc([command, "examples/video_qa.mk", "-p", "placement", *quiet])
    assert status == 1, err
    assert "error[MK0508]" in err and "examples/video_qa.mk:14:5" in err
    assert "run model-substitution before placement" in err


@pytest.mark.parametrize("target", ["folder", "missing/placement.smt2"])
def test_a_dump_smt_that_cannot_be_written_is_mk0509(tmp_path: Path, target: str) -> None:
    path = tmp_path / target if target != "folder" else tmp_path
    args = ["compile", "examples/video_qa.mk", "-q", "-o", "/dev/null", "--dump-smt", str(path)]
    status, _, err = run_mkc(args)
    assert status == 1, err
    assert err.startswith("--dump-smt:1:1: error[MK0509]") and str(path) in err
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_the_dump_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "p.smt2"
    target.write_text("old", encoding="utf-8")
    write_dump(str(target), "(assert true)\n")
    assert target.read_text(encoding="utf-8") == "(assert true)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.smt2"]  # no temporary left
    with pytest.raises(DiagnosticError) as error:
        write_dump(str(tmp_path / "gone" / "p.smt2"), "x")
    assert error.value.diagnostics[0].code == "MK0509" and "--dump-smt" in error.value.sources


FLOWS = """level logical

workflow @w(%p: text) -> text {
  %a = text.summarize(%p) : text
  %b = flow.parallel() {agents = 2, knob = "n"} : list<text> {
    %b.x = text.summarize(%p) : text
    yield %b.x
  }
  %c = flow.repeat(%c.prev = %b) {knob = "r", rounds = 2} : list<text> {
    %c.y = text.summarize(%c.prev, %a) : text
    %c.z = flow.parallel() {agents = 2, knob = "n"} : list<text> {
      %c.z.w = text.summarize(%p, %c.y) : text
      yield %c.z.w
    }
    yield %c.z
  }
  %d = text.summarize(%c, %a) : text
  return %d
}
"""


def test_regions_are_flattened_into_one_dependency_graph() -> None:
    """The graph placement and the optimizer both schedule on: a region argument
    stands for its initial value, a region's readers wait for what it yields."""
    flat = flatten_dependencies(parse_module(SourceFile.of("flows", FLOWS)).workflows[0])
    assert flat.order == ["a", "b.x", "c.y", "c.z.w", "d"]
    assert flat.deps == {
        "a": [],
        "b.x": [],
        "c.y": ["a", "b.x"],
        "c.z.w": ["c.y"],
        "d": ["a", "c.z.w"],
    }
    assert flat.sinks == ["d"]


def test_dump_smt_without_a_placement_pass_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "problem.smt2"
    args = ["compile", "examples/grade_submissions.mk", "-p", "none", "--dump-smt", str(path)]
    status, _, err = run_mkc(args)
    assert status == 1 and "error[MK0509]" in err and "no placement pass" in err
    assert not path.exists()
