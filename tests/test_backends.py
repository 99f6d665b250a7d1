"""The python and ray backends: every example compiles to both, both run (with the
FAKE test executors, tests/fake_executors.py) and give the local runtime's result;
hostile strings stay data; a Ray worker killed mid-op loses no job. The plan's
command line reads inputs as `mkc run` does and refuses bad ones (and broken
`--executors` modules) in one line; Ctrl-C exits 130; a Ray plan stops at its
first failure, cancelling what still runs.

Ray tests share one local Ray started by the `ray_session` fixture (start-up
takes seconds); the emitted Ray plans join it with `--ray-address`, and one
test lets a plan start (and stop) its own.
"""

from __future__ import annotations

import _thread
import ast
import functools
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tokenize
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from murakkab.backends import emit
from murakkab.backends.flow import FlowRun, copy_label, handles, map_leaves, round_label
from murakkab.backends.quoting import Identifiers, UnsafeValue, doc_text, py_literal, sanitize
from murakkab.backends.ray import load_program, run_ray
from murakkab.backends.ray.layout import ray_layout
from murakkab.backends.support import (
    PlanRun,
    load_executors,
    op_count,
    plan_arguments,
    ray_address_problem,
)
from murakkab.backends.view import gpu_count

from murakkab.plan import Placement, Plan, Step
from murakkab.report.inputs import parse_inputs
from murakkab.runtime.engine import RunOptions, run_plan
from tests.fake_ray_executors import held_module, killable, worker_pids
from tests.goldens import ROOT, example_plan, examples, hostile_plan, plan_golden, run_mkc

FAKES = "tests.fake_executors"
BACKENDS = ("python", "ray")
HOSTILE = (
    "\"\"\" ''' \\ \n \r \x00 \u2028 \u0085 \u202e {{ x }} {% if %} # "
    '"); import os; os.system("touch PWNED") #'
)


def fake_options(**changes: Any) -> RunOptions:
    return RunOptions(executors_module=FAKES, **changes)


def plan_in(source: str) -> Plan:
    """The plan an emitted program embeds (what it runs)."""
    plan: Plan = load_program(source, "emitted").PLAN
    return plan


@pytest.fixture(scope="module")
def emitted() -> dict[tuple[str, str], str]:
    """(example, backend) -> the emitted source; the hostile job is "hostile".

    Each job compiles once, with `mkc compile --emit plan`; its ray plan is
    emitted from the plan the python one embeds (the goldens pin that this is
    what `--backend ray` writes)."""
    out = {(name, "python"): example_plan(name, "python") for name in examples()}
    out[("hostile", "python")] = hostile_plan("python")
    for name in [*examples(), "hostile"]:
        out[(name, "ray")] = emit(plan_in(out[(name, "python")]), "ray")
    return out


@pytest.fixture(scope="module")
def local_results(emitted: dict[tuple[str, str], str]) -> dict[str, Any]:
    """What the local runtime returns for each job, with the fake executors."""
    out = {}
    for name in [*examples(), "hostile"]:
        result = run_plan(plan_in(emitted[(name, "python")]), {}, fake_options())
        assert result.status == "ok", result.error
        out[name] = result.result
    return out


def plan_process(
    path: Path, *args: str, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python PLAN ARGS`, finished."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def run_plan_file(path: Path, *args: str, cwd: Path = ROOT, timeout: float = 120) -> dict[str, Any]:
    """`python PLAN --executors tests.fake_executors --json ARGS`, as JSON."""
    done = plan_process(path, "--executors", FAKES, "--json", *args, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---- emitted code -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [*examples(), "hostile"])
def test_emitted_plan_matches_golden_and_parses(
    name: str, backend: str, emitted: dict[tuple[str, str], str]
) -> None:
    source = emitted[(name, backend)]
    ast.parse(source)
    golden = plan_golden(name, backend)
    assert golden.exists(), f"missing {golden}; run: python -m tests.goldens"
    assert source == golden.read_text(encoding="utf-8"), (
        f"the {backend} plan of {name} changed; reproduce: mkc compile "
        f"{'examples/' + name + '.mk' if name != 'hostile' else 'tests/golden/plans/hostile.mk'} "
        f"--emit plan --backend {backend} (regenerate with python -m tests.goldens if intended)"
    )


@pytest.mark.parametrize("name", examples())
def test_emitted_plan_embeds_the_compiled_plan(
    name: str, emitted: dict[tuple[str, str], str]
) -> None:
    python, ray_plan = plan_in(emitted[(name, "python")]), plan_in(emitted[(name, "ray")])
    assert python == ray_plan
    assert python.source == f"examples/{name}.mk" and python.pipeline == "default"
    header = emitted[(name, "python")].split('"""', 2)[1]
    for fact in (f"Source:     examples/{name}.mk", "Pipeline:   default", "SLO:", "Placement:"):
        assert fact in header
    assert python.placement.get("status"), "the placement pass's summary reaches the plan"


def test_one_function_per_op(emitted: dict[tuple[str, str], str]) -> None:
    source = emitted[("code_gen_debate", "python")]
    functions = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    plan = plan_in(source)
    expected = {step.name.replace(".", "_") for step in plan.walk()}
    assert expected <= functions
    assert {"proposals_body", "debated_body", "workflow", "main", "execute"} <= functions


def test_plan_emits_without_ray_installed(emitted: dict[tuple[str, str], str]) -> None:
    assert "import ray" not in emitted[("video_qa", "python")]
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from murakkab.backends import emit\n"
        "from murakkab.plan import Plan\n"
        f"plan = Plan.from_json({plan_in(emitted[('video_qa', 'python')]).to_json()!r})\n"
        "assert 'RayRun' in emit(plan, 'ray')\n"
        "exec(compile(emit(plan, 'python'), 'plan', 'exec'), {'__name__': 'plan'})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_cli_writes_plans(tmp_path: Path) -> None:
    target = tmp_path / "plan.py"
    status, _, err = run_mkc(
        ["compile", "examples/math_reflect.mk", "--emit", "plan", "-q", "-o", str(target)]
    )
    assert status == 0, err
    assert "PlanRun" in target.read_text() and "import ray" not in target.read_text()
    status, out, err = run_mkc(
        ["compile", "examples/math_reflect.mk", "--emit", "plan", "-q", "--backend", "ray"]
    )
    assert status == 0, err
    assert "RayRun" in out and "BUNDLES" in out


# ---- the python plan runs like the local runtime ------------------------------------------


@pytest.mark.parametrize("name", examples())
def test_python_plan_gives_the_local_result(
    name: str, tmp_path: Path, emitted: dict[tuple[str, str], str], local_results: dict[str, Any]
) -> None:
    path = tmp_path / "plan.py"
    path.write_text(emitted[(name, "python")], encoding="utf-8")
    out = run_plan_file(path)
    assert out["status"] == "ok", out["error"]
    assert out["result"] == local_results[name]
    local = run_plan(plan_in(emitted[(name, "python")]), {}, fake_options())
    assert sorted(op["step"] for op in out["ops"]) == sorted(t.step for t in local.traces)


def test_python_plan_takes_inputs_from_the_command_line(
    tmp_path: Path, emitted: dict[tuple[str, str], str]
) -> None:
    path = tmp_path / "plan.py"
    path.write_text(emitted[("video_qa", "python")], encoding="utf-8")
    inputs = {"query": "Who drives?", "videos": ["a.mp4", "b.mp4"]}
    out = run_plan_file(
        path, "--input", "query=Who drives?", "--input", 'videos=["a.mp4", "b.mp4"]'
    )
    local = run_plan(plan_in(emitted[("video_qa", "python")]), inputs, fake_options())
    assert out["result"] == local.result and out["result"] is not None


def test_python_plan_runs_independent_branches_at_once(
    emitted: dict[tuple[str, str], str],
) -> None:
    """frames and transcript both read scenes only: they must overlap in time."""
    module = load_program(emitted[("video_qa", "python")], "video_qa_plan")
    both = threading.Barrier(2, timeout=10)
    from tests.fake_executors import fake

    def waits_for_the_other(capability: str) -> Any:
        answer = fake(capability)

        def run(call: Any) -> Any:
            both.wait()  # only returns once the other branch is running too
            return answer(call)

        return run

    table = {c: waits_for_the_other(c) for c in ("video.frame_extract", "speech.transcribe")}
    result = module.execute({}, fake_options(executors=table))
    assert result.status == "ok", result.error


def test_python_plan_reports_a_failed_op(emitted: dict[tuple[str, str], str]) -> None:
    module = load_program(emitted[("video_qa", "python")], "video_qa_plan")

    def broken(call: Any) -> Any:
        raise RuntimeError("the detector is broken")

    table = {"vision.detect_objects": broken}
    result = module.execute({}, fake_options(executors=table, retries=0, backoff_s=0))
    assert result.status == "failed" and "the detector is broken" in result.error
    assert "objects" in {t.step for t in result.traces if t.error}


# ---- the command line of a plan -------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["query=42", "videos=a.mp4", "videos=b.mp4"],  # text stays text; list flags add up
        ["query=null", 'videos=["a.mp4", "b.mp4"]', "videos=c.mp4"],
        ["query=[1, 2]", "videos=@@at.mp4"],
    ],
)
def test_plan_reads_inputs_as_mkc_run_does(
    flags: list[str], tmp_path: Path, emitted: dict[tuple[str, str], str]
) -> None:
    """`python plan.py --input ...` and `mkc run --input ...` get the same values."""
    plan = plan_in(emitted[("video_qa", "python")])
    options = [item for flag in flags for item in ("--input", flag)]
    parsed = plan_arguments(options, plan, description="test").inputs
    assert parsed == parse_inputs(plan, flags, {})
    assert isinstance(parsed["query"], str) and all(isinstance(v, str) for v in parsed["videos"])
    path = tmp_path / "plan.py"
    path.write_text(emitted[("video_qa", "python")], encoding="utf-8")
    ours = run_plan_file(path, *options)
    run_dir = tmp_path / "run"
    command = ["run", "examples/video_qa.mk", "--executors", FAKES, "--json", "-q"]
    status, out, err = run_mkc([*command, "--run-dir", str(run_dir), *options])
    assert status == 0, err
    theirs = json.loads(out)
    stored = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["inputs"]
    assert stored == parsed
    assert ours["status"] == theirs["status"] == "ok"
    assert ours["result"] == theirs["result"]
    local = run_plan(plan, parsed, fake_options())
    assert ours["result"] == local.result


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["query=a", "query=b"], "given twice"),
        (["nope=1"], "no such input"),
        (["query"], "NAME=VALUE"),
        (['videos=["a.mp4", 3]'], "is not a video"),
    ],
)
def test_plan_refuses_bad_inputs_in_one_line(
    flags: list[str], says: str, emitted: dict[tuple[str, str], str], capsys: Any
) -> None:
    plan = plan_in(emitted[("video_qa", "python")])
    options = [item for flag in flags for item in ("--input", flag)]
    with pytest.raises(SystemExit) as stopped:
        plan_arguments(options, plan, description="test")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err and "--input" in err


BROKEN_EXECUTORS = {
    "raises": ('raise RuntimeError("no GPU here")\n', "importing it raised RuntimeError: no GPU"),
    "syntax": ("def broken(:\n", "importing it raised SyntaxError"),
    "exits": ("raise SystemExit(3)\n", "importing it raised SystemExit: 3"),
    "imports": ("import no_such_package_here\n", "cannot import it"),
    "values": ('EXECUTORS = {"llm.answer": 3}\n', "'llm.answer' to something that is not"),
    "table": ("EXECUTORS = 3\n", "has no EXECUTORS dict"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_EXECUTORS))
def test_plan_refuses_a_broken_executors_module(
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emitted: dict[tuple[str, str], str],
    capsys: Any,
) -> None:
    """A module that raises on import, or whose EXECUTORS is not a table of
    functions: one line naming --executors, exit status 2, no traceback."""
    source, says = BROKEN_EXECUTORS[kind]
    name = f"broken_executors_{kind}"
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # found in the current directory, as `python -m` would
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, name, raising=False)
    plan = plan_in(emitted[("video_qa", "python")])
    with pytest.raises(SystemExit) as stopped:
        plan_arguments(["--executors", name], plan, description="test")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"--executors {name}: " in err and says in err
    if kind == "raises":  # the same as a program: no traceback
        path = tmp_path / "plan.py"
        path.write_text(emitted[("video_qa", "python")], encoding="utf-8")
        done = plan_process(path, "--executors", name, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr


def test_load_executors_returns_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_executors import EXECUTORS

    monkeypatch.setattr(sys, "path", list(sys.path))
    assert load_executors(FAKES) == EXECUTORS


def test_python_plan_ctrl_c_exits_130_saying_what_finished(
    tmp_path: Path, emitted: dict[tuple[str, str], str]
) -> None:
    """SIGINT while an op runs: the running op gets its grace period, the plan
    says on one line how many ops finished and where they are, exit status 130."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "held_executors.py").write_text(
        held_module("speech.transcribe", str(marks)), encoding="utf-8"
    )
    path = tmp_path / "plan.py"
    path.write_text(emitted[("video_qa", "python")], encoding="utf-8")
    command = [sys.executable, str(path), "--executors", "held_executors", "--json"]
    process = subprocess.Popen(
        [*command, "--cache-dir", str(tmp_path / "cache")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not worker_pids(marks) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker_pids(marks) == [process.pid]  # transcribe is running in the plan
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert time.monotonic() - interrupted < 15  # the grace period, not the 60 s op
    assert process.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    plan = plan_in(emitted[("video_qa", "python")])
    result = json.loads(out)
    assert result["status"] == "interrupted"
    done = [op for op in result["ops"] if not op["error"]]
    assert "scenes" in {op["step"] for op in done}
    assert f"interrupted (Ctrl-C) after {len(done)} of {op_count(plan)} op(s) finished" in err
    assert str(tmp_path / "cache") in err


def test_python_plan_stops_when_its_cancel_event_is_set(
    tmp_path: Path, emitted: dict[tuple[str, str], str]
) -> None:
    """A caller's cancel event (`RunOptions.cancel`, e.g. a parent run's) reaches the
    running op as `Call.cancel`; the plan starts nothing new and ends "interrupted"."""
    module = load_program(emitted[("video_qa", "python")], "video_qa_plan")
    cancel = threading.Event()
    table = {"speech.transcribe": killable("speech.transcribe", str(tmp_path))}

    def cancel_once_running() -> None:
        deadline = time.monotonic() + 30
        while not worker_pids(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        cancel.set()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    began = time.monotonic()
    result = module.execute({}, fake_options(executors=table, cancel=cancel))
    assert time.monotonic() - began < 20
    assert result.status == "interrupted" and result.error.startswith("cancelled after")
    assert result.result is None and "answer" not in {t.step for t in result.traces}
    transcript = next(t for t in result.traces if t.step == "transcript")
    assert "cancelled" in transcript.error


def test_plan_refuses_retries_out_of_range(
    emitted: dict[tuple[str, str], str], capsys: Any
) -> None:
    plan = plan_in(emitted[("video_qa", "python")])
    with pytest.raises(SystemExit) as stopped:
        plan_arguments(["--retries", "-1"], plan, description="test")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--retries -1" in err


# ---- what both backends share ----------------------------------------------------------


def test_flow_ops_and_trees_are_shared() -> None:
    assert PlanRun.parallel is FlowRun.parallel and PlanRun.repeat is FlowRun.repeat
    assert copy_label("a", 2) == "a#2" and round_label("a#2", 0) == "a#2@0"
    seen: list[tuple[str, str]] = []

    def body(run: Any, reads: dict[str, Any], *, label: str) -> Any:
        seen.append((label, reads.get("c", "")))
        return reads.get("c", "") + "+"

    run = FlowRun()
    assert run.parallel(2, body, {}, "p") == ["+", "+"]
    assert run.repeat(2, body, {}, "c", "x", "r") == "x++"
    assert seen == [("p#0", ""), ("p#1", ""), ("r@0", "x"), ("r@1", "x+")]
    tree = [1, (2, {"k": [3]}), {"j": "s"}]
    assert handles(tree, int) == [1, 2, 3]
    assert map_leaves(tree, lambda v: v * 2) == [2, (4, {"k": [6]}), {"j": "ss"}]


def test_gpu_count_reads_the_device_with_parse_device() -> None:
    def step(device: str, ids: tuple[int, ...] = ()) -> Step:
        return Step("s", "llm.answer", (), placement=Placement(device, "vm", gpu_ids=ids))

    assert gpu_count(step("gpu:a100x4")) == 4
    assert gpu_count(step("gpu:a100x4", (0, 1))) == 2
    assert gpu_count(step("gpu:h100")) == gpu_count(step("gpu")) == 1
    assert gpu_count(step("cpu")) == gpu_count(step("hosted")) == 0


# ---- hostile strings ------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_job_keeps_strings_as_data(
    backend: str, emitted: dict[tuple[str, str], str], local_results: dict[str, Any]
) -> None:
    source = emitted[("hostile", backend)]
    plan = plan_in(source)
    assert HOSTILE in plan.defaults["problem"] and HOSTILE in plan.doc
    tree = ast.parse(source)
    # User strings are string constants (the docstring included), never code or comments.
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert plan.defaults["problem"] in constants and plan.defaults["sys"] in constants
    assert plan.doc in (ast.get_docstring(tree, clean=False) or "")
    called = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not {"os.system", "__import__"} & called
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"json", "sys"}
    comments = [
        t.string
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type == tokenize.COMMENT
    ]
    assert not [c for c in comments if "PWNED" in c or "{{" in c]
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert len(names) == len(set(names))
    assert {"main", "execute", "workflow"} <= set(names)  # none of them taken by an op


def test_hostile_python_plan_behaves_the_same(
    tmp_path: Path, emitted: dict[tuple[str, str], str], local_results: dict[str, Any]
) -> None:
    path = tmp_path / "plan.py"
    path.write_text(emitted[("hostile", "python")], encoding="utf-8")
    out = run_plan_file(path, cwd=tmp_path)
    assert out["result"] == local_results["hostile"]
    other = HOSTILE.replace("\x00", "")  # an argument cannot hold NUL
    out = run_plan_file(path, "--input", f"sys={other}", cwd=tmp_path)
    local = run_plan(plan_in(emitted[("hostile", "python")]), {"sys": other}, fake_options())
    assert out["result"] == local.result
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()


@given(st.text())
@settings(max_examples=300)
def test_py_literal_round_trips(text: str) -> None:
    literal = py_literal(text)
    assert "\n" not in literal and "\r" not in literal and literal.isprintable()
    assert ast.literal_eval(literal) == text


_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_data)
@settings(max_examples=200)
def test_py_literal_of_plain_data_round_trips(value: Any) -> None:
    assert ast.literal_eval(py_literal(value)) == value


def test_py_literal_of_special_floats() -> None:
    for value in (math.inf, -math.inf):
        assert eval(py_literal(value), {"__builtins__": {"float": float}}) == value
    assert math.isnan(eval(py_literal(math.nan), {"__builtins__": {"float": float}}))


def test_py_literal_refuses_what_is_not_plain_data() -> None:
    class Sneaky(str):
        def __repr__(self) -> str:
            return "__import__('os')"

    for value in (Sneaky("x"), object(), {1: "a"}, {("a",): 1}, b"bytes"):
        with pytest.raises(UnsafeValue):
            py_literal(value)


@given(st.text())
@settings(max_examples=300)
def test_doc_text_cannot_leave_a_docstring_or_a_comment(text: str) -> None:
    escaped = doc_text(text)
    module = ast.parse(f'def f():\n    """{escaped}"""\n    # {escaped}\n    return 1\n')
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef) and len(function.body) == 2
    assert ast.get_docstring(function, clean=False) == text
    assert len(f"# {escaped}".splitlines()) == 1


@given(st.lists(st.text(), max_size=12))
def test_identifiers_are_valid_unique_and_never_reserved(names: list[str]) -> None:
    given_names = Identifiers(("main", "workflow"))
    chosen = [given_names(name) for name in names]
    for name, identifier in zip(names, chosen):
        assert identifier.isidentifier() and identifier.isascii()
        assert identifier not in ("main", "workflow", "print", "class", "match")
        assert given_names(name) == identifier  # stable
    assert len(set(chosen)) == len(set(names))
    assert sanitize("1st task") == "op_1st_task"


@functools.cache
def _debate_plan() -> Plan:
    return plan_in(example_plan("code_gen_debate", "python"))


@given(st.lists(st.text(min_size=1), min_size=8, max_size=8, unique=True), st.text())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_names_and_inputs_emit_and_run_the_same(names: list[str], value: str) -> None:
    """Any step names and input text: both plans parse, the python plan gives the
    local runtime's result."""
    base = _debate_plan()
    steps = sorted(s.name for s in base.walk())
    assert len(steps) == len(names), "code_gen_debate changed shape: update the strategy"
    plan = _renamed(base, dict(zip(steps, names)))
    plan = replace(plan, defaults={"problem": value}, doc=value, source=value)
    for backend in BACKENDS:
        ast.parse(emit(plan, backend))
    module = load_program(emit(plan, "python"), "random_plan")
    ours = module.execute({}, fake_options())
    assert ours.status == "ok", ours.error
    assert ours.result == run_plan(plan, {}, fake_options()).result


def _renamed(plan: Plan, names: dict[str, str]) -> Plan:
    def tree(t: Any) -> Any:
        if t is None:
            return None
        if "ref" in t:
            return {"ref": names.get(t["ref"], t["ref"])}
        if "list" in t:
            return {"list": [tree(i) for i in t["list"]]}
        return t

    def step(s: Step) -> Step:
        return replace(
            s,
            name=names[s.name],
            args=tuple(tree(a) for a in s.args),
            deps=tuple(names.get(d, d) for d in s.deps),
            body=tuple(step(b) for b in s.body),
            body_args=tuple(names.get(a, a) for a in s.body_args),
            yields=tree(s.yields),
        )

    return replace(plan, steps=tuple(step(s) for s in plan.steps), result=tree(plan.result))


# ---- Ray resources ----------------------------------------------------------------------


def test_ray_layout_of_a_placed_plan(emitted: dict[tuple[str, str], str]) -> None:
    plan = plan_in(emitted[("video_qa", "ray")])
    layout = ray_layout(plan)
    nodes = {s.placement.node for s in plan.walk() if s.placement is not None}
    assert {b["node"] for b in layout["bundles"]} == nodes
    for bundle in layout["bundles"]:
        assert bundle["resources"][f"node:{bundle['node']}"] == pytest.approx(0.001)
    answer = next(s for s in plan.walk() if s.name == "answer")
    assert answer.placement is not None and len(answer.placement.gpu_ids) == 4
    assert layout["steps"]["answer"] == {"kind": "actor", "instance": answer.instance}
    assert layout["actors"][answer.instance]["num_gpus"] == 4
    scenes = layout["steps"]["scenes"]
    assert scenes["kind"] == "task" and scenes["num_gpus"] == 0 and scenes["num_cpus"] >= 1
    assert set(layout["local"]["resources"]) == {f"node:{n}" for n in nodes}
    assert layout["local"]["num_gpus"] >= 4


def test_ray_layout_time_shared_gpus_run_as_tasks() -> None:
    def llm(name: str, model: str, start: float) -> Step:
        return Step(
            name,
            "llm.answer",
            ({"const": "q"}, {"list": []}),
            knobs={"model": model},
            placement=Placement("gpu:a100x2", "vm", gpu_ids=(0, 1), start=start),
            predicted={"latency_s": 1.0},
            instance=f"{model}@gpu:a100x2",
        )

    plan = Plan("w", (), (llm("a", "m1", 0.0), llm("b", "m2", 1.0)), {"ref": "b"})
    layout = ray_layout(plan)
    assert layout["actors"] == {}
    assert layout["bundles"][0]["resources"]["GPU"] == 2  # the node's GPUs, not 4
    unplaced = Plan("w", (), (replace(llm("a", "m1", 0), placement=None),), {"ref": "a"})
    assert ray_layout(unplaced)["bundles"] == []


# ---- the ray plan runs like the local runtime ---------------------------------------------


# Before the shared session starts: two local Rays on two cores would crawl.
def test_ray_plan_file_starts_its_own_ray(
    tmp_path: Path, emitted: dict[tuple[str, str], str], local_results: dict[str, Any]
) -> None:
    pytest.importorskip("ray")
    path = tmp_path / "plan_ray.py"
    path.write_text(emitted[("video_qa", "ray")], encoding="utf-8")
    out = run_plan_file(path, cwd=tmp_path)
    assert out["status"] == "ok", out["error"]
    assert out["result"] == local_results["video_qa"]


def test_ray_address_is_checked_before_joining(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert ray_address_problem(f"127.0.0.1:{port}") is None
        assert ray_address_problem(f"ray://127.0.0.1:{port}") is None
    assert ray_address_problem("auto") is None and ray_address_problem("local") is None
    for address in (f"127.0.0.1:{port}", f"ray://localhost:{port}"):
        problem = ray_address_problem(address, timeout_s=2)
        assert problem is not None and problem.startswith(f"--ray-address {address}: ")


def test_ray_plan_file_fails_fast_on_an_unreachable_address(
    tmp_path: Path, emitted: dict[tuple[str, str], str]
) -> None:
    pytest.importorskip("ray")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    path = tmp_path / "plan_ray.py"
    path.write_text(emitted[("math_reflect", "ray")], encoding="utf-8")
    began = time.monotonic()
    done = plan_process(path, "--executors", FAKES, "--ray-address", f"127.0.0.1:{port}")
    assert time.monotonic() - began < 60
    assert done.returncode == 1, done.stderr
    assert f"--ray-address 127.0.0.1:{port}: cannot reach" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def ray_session(emitted: dict[tuple[str, str], str]) -> Iterator[str]:
    """One local Ray for the module, sized for every job's plan; its address."""
    ray = pytest.importorskip("ray")
    needs = [ray_layout(plan_in(emitted[(n, "ray")]))["local"] for n in [*examples(), "hostile"]]
    resources: dict[str, float] = {}
    for need in needs:
        resources.update(need["resources"])
    ray.init(
        address="local",
        num_cpus=max(n["num_cpus"] for n in needs),
        num_gpus=max(n["num_gpus"] for n in needs),
        resources=resources,
        include_dashboard=False,
        log_to_driver=False,
    )
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


@pytest.mark.parametrize("name", [*examples(), "hostile"])
def test_ray_plan_gives_the_local_result(
    name: str,
    ray_session: str,
    emitted: dict[tuple[str, str], str],
    local_results: dict[str, Any],
) -> None:
    result = run_ray(plan_in(emitted[(name, "ray")]), {}, fake_options())
    assert result.status == "ok", result.error
    assert result.backend == "ray" and result.result == local_results[name]
    local = run_plan(plan_in(emitted[(name, "ray")]), {}, fake_options())
    assert sorted(t.step for t in result.traces) == sorted(t.step for t in local.traces)


@pytest.mark.parametrize("name", ["code_gen_debate", "hostile"])
def test_ray_plan_file_joins_a_cluster(
    name: str,
    tmp_path: Path,
    ray_session: str,
    emitted: dict[tuple[str, str], str],
    local_results: dict[str, Any],
) -> None:
    path = tmp_path / "plan_ray.py"
    path.write_text(emitted[(name, "ray")], encoding="utf-8")
    out = run_plan_file(path, "--ray-address", ray_session, cwd=tmp_path)
    assert out["status"] == "ok" and out["backend"] == "ray", out["error"]
    assert out["result"] == local_results[name]
    assert not list(tmp_path.rglob("PWNED"))


def test_ray_reports_a_failed_op(ray_session: str, emitted: dict[tuple[str, str], str]) -> None:
    def broken(call: Any) -> Any:
        raise RuntimeError("the detector is broken")

    options = fake_options(executors={"vision.detect_objects": broken}, retries=0)
    result = run_ray(plan_in(emitted[("video_qa", "ray")]), {}, options)
    assert result.status == "failed" and "the detector is broken" in result.error
    assert any(t.step == "objects" and t.error for t in result.traces)


def _gone(pid: int, within_s: float = 20.0) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_ray_stops_at_the_first_failure(
    tmp_path: Path, ray_session: str, emitted: dict[tuple[str, str], str]
) -> None:
    """As the local runtime: a failure ends the run. The independent op still
    running (transcribe, held for 60 s) is cancelled and its worker ended; the
    run returns at once with the traces of what finished."""

    def broken(call: Any) -> Any:
        # Fail once transcribe is running (its worker marks the folder), however
        # slowly a loaded machine starts it.
        deadline = time.monotonic() + 20
        while not any(Path(folder).glob("pid-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        raise RuntimeError("the detector is broken")

    folder = str(tmp_path)

    executors = {
        "vision.detect_objects": broken,
        "speech.transcribe": killable("speech.transcribe", str(tmp_path)),
    }
    options = fake_options(executors=executors, retries=0)
    began = time.monotonic()
    result = run_ray(plan_in(emitted[("video_qa", "ray")]), {}, options)
    assert time.monotonic() - began < 30  # not the 60 s transcribe holds
    assert result.status == "failed" and "the detector is broken" in result.error
    steps = {t.step for t in result.traces}
    assert {"scenes", "frames", "objects"} <= steps and "answer" not in steps
    assert "transcript" not in steps
    held = worker_pids(tmp_path)
    assert len(held) == 1 and _gone(held[0]), "the cancelled task's worker still runs"


@pytest.mark.parametrize("how", ["ctrl_c", "cancel"])
def test_ray_ctrl_c_cancels_and_reports_interrupted(
    how: str, tmp_path: Path, ray_session: str, emitted: dict[tuple[str, str], str]
) -> None:
    """Ctrl-C (or the caller's cancel event) while an actor call runs: the run
    ends at once, "interrupted", saying what finished; the actor (and the call
    in it) is gone."""
    plan = plan_in(emitted[("math_reflect", "ray")])
    cancel = threading.Event()
    executors = {"llm.solve": killable("llm.solve", str(tmp_path))}
    options = fake_options(executors=executors, cancel=cancel)

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 60
        while not worker_pids(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        if how == "cancel":
            cancel.set()
        else:
            _thread.interrupt_main()  # KeyboardInterrupt in the test's thread, in run_ray

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    began = time.monotonic()
    result = run_ray(plan, {}, options)
    presser.join(timeout=5)
    assert time.monotonic() - began < 45
    assert result.status == "interrupted", result.error
    cause = "interrupted (Ctrl-C)" if how == "ctrl_c" else "cancelled"
    assert result.error.startswith(f"{cause} after 0 of {op_count(plan)} op(s) finished")
    assert result.traces == [] and result.result is None
    held = worker_pids(tmp_path)
    assert len(held) == 1 and _gone(held[0]), "the actor still runs"


# ---- a Ray worker killed mid-op loses no job -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "capability", "kind"),
    [("video_qa", "video.scene_detect", "task"), ("math_reflect", "llm.solve", "actor")],
)
def test_killed_ray_worker_loses_no_job(
    name: str,
    capability: str,
    kind: str,
    tmp_path: Path,
    ray_session: str,
    emitted: dict[tuple[str, str], str],
    local_results: dict[str, Any],
) -> None:
    plan = plan_in(emitted[(name, "ray")])
    step = next(s for s in plan.walk() if s.op == capability)
    assert ray_layout(plan)["steps"][step.name]["kind"] == kind
    options = fake_options(executors={capability: killable(capability, str(tmp_path))})
    outcome: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: outcome.update(r=run_ray(plan, {}, options)))
    runner.start()
    deadline = time.monotonic() + 60
    while not worker_pids(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = worker_pids(tmp_path)[0]
    assert victim != os.getpid()
    os.kill(victim, signal.SIGKILL)  # in the middle of the op
    runner.join(timeout=120)
    assert not runner.is_alive()
    result = outcome["r"]
    assert result.status == "ok", result.error
    assert result.result == local_results[name]
    retried = worker_pids(tmp_path)
    assert len(retried) == 2 and retried[0] == victim and retried[1] != victim
