"""`mkc run`: result, report, run directory, inputs, failures, resume (fake executors)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

import murakkab.runtime.engine
from murakkab.cli import main
from murakkab.commands import run as run_command
from murakkab.plan import Placement, Plan, Step
from murakkab.report.chart import render_html, ticks
from murakkab.report.inputs import InputError, input_value
from murakkab.report.run_report import OpRow, RunReport, Total, build_report, lane_of
from murakkab.runtime.invoke import CANCELLED
from murakkab.runtime.trace import OpTrace, RunResult
from tests.goldens import ROOT, run_mkc

FAKES = ["--executors", "tests.fake_executors"]
RUN_FILES = ("job.mk", "run.json", "plan.json", "trace.json", "report.txt", "schedule.html")


def run(example: str, run_dir: Path, *more: str) -> tuple[int, str, str]:
    return run_mkc(["run", f"examples/{example}.mk", "--run-dir", str(run_dir), *FAKES, *more])


def run_json(example: str, run_dir: Path, *more: str) -> dict[str, Any]:
    status, out, err = run(example, run_dir, "--json", *more)
    assert status == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "mkc run" in out and "--resume" in out


def test_run_prints_the_result_and_a_report_of_every_op(tmp_path: Path) -> None:
    status, out, err = run("video_qa", tmp_path / "run")
    assert status == 0, err
    assert out.startswith("fake:")
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert trace["status"] == "ok" and trace["ops"]
    for op in trace["ops"]:
        assert op["step"] in err
    assert "pred s" in err and "meas s" in err and "slo latency < 30s: met" in err
    assert "quality" in err and "not measured" in err
    for name in (*RUN_FILES, "schedule.png", "cache"):
        assert (tmp_path / "run" / name).exists(), name
    assert (tmp_path / "run" / "report.txt").read_text() in err


def test_json_has_predicted_and_measured_per_op(tmp_path: Path) -> None:
    data = run_json("code_gen_debate", tmp_path / "run")
    assert data["status"] == "ok" and data["result"].startswith("def solution")
    assert data["run_dir"] == str(tmp_path / "run")
    ops = data["ops"]
    assert len(ops) == len(json.loads((tmp_path / "run" / "trace.json").read_text())["ops"])
    steps = {op["step"] for op in ops}
    assert any("#" in step for step in steps) and any("@" in step for step in steps)
    for op in ops:
        assert op["predicted"]["latency_s"] > 0 and "start_s" in op["predicted"]
        assert op["measured"]["latency_s"] >= 0 and op["measured"]["energy_source"]
    totals = data["totals"]
    assert totals["latency"]["predicted"] > 0 and totals["latency"]["measured"] > 0
    assert totals["quality"]["measured"] is None
    assert {check["metric"] for check in data["slo"]} == {"latency", "quality"}


def test_default_run_dir_is_under_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MKC_PROFILE_DB", str(tmp_path / "no-store.sqlite3"))
    example = str(ROOT / "examples" / "math_reflect.mk")
    assert main(["run", example, *FAKES, "-q"]) == 0
    (made,) = (tmp_path / "runs").iterdir()
    assert made.name.endswith("-math_reflect")
    assert all((made / name).exists() for name in RUN_FILES)


def test_resume_serves_finished_ops_from_the_cache(tmp_path: Path) -> None:
    first = run_json("math_reflect", tmp_path / "run")
    assert not any(op["status"] == "cached" for op in first["ops"])
    status, out, err = run_mkc(["run", "--resume", str(tmp_path / "run"), "--json"])
    assert status == 0, err
    second = json.loads(out)
    assert second["result"] == first["result"]
    assert [op["status"] for op in second["ops"]] == ["cached"] * len(first["ops"])


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("question", "--input expects NAME=VALUE"),
        ("prompt=hi", "--input prompt: no such input; math_reflect takes question: text"),
        ("question=@no/such/file.txt", "--input question: cannot read no/such/file.txt"),
    ],
)
def test_bad_inputs_are_usage_errors(tmp_path: Path, flag: str, expected: str) -> None:
    status, _, err = run("math_reflect", tmp_path / "run", "--input", flag)
    assert status == 2 and expected in err and "Traceback" not in err


def test_a_missing_input_names_the_expected_ones(tmp_path: Path) -> None:
    job = tmp_path / "job.mk"
    text = (ROOT / "examples" / "math_reflect.mk").read_text()
    job.write_text(text[: text.index("\nrun ")] + "\n")
    status, _, err = run_mkc(["run", str(job), "--run-dir", str(tmp_path / "run"), *FAKES])
    assert status == 2 and "missing --input for question" in err and "question: text" in err


def test_inputs_reach_the_workflow(tmp_path: Path) -> None:
    question = tmp_path / "question.txt"
    question.write_text("What is 2 + 2?\n")
    base = run_json("math_reflect", tmp_path / "a")
    given = run_json("math_reflect", tmp_path / "b", "--input", f"question=@{question}")
    assert given["result"] != base["result"]
    stored = json.loads((tmp_path / "b" / "run.json").read_text())
    assert stored["inputs"] == {"question": "What is 2 + 2?"}


def test_input_values_follow_the_parameter_type(tmp_path: Path) -> None:
    assert input_value("videos", "clip.mp4", "list<video>") == ["clip.mp4"]
    assert input_value("videos", '["a.mp4", "b.mp4"]', "list<video>") == ["a.mp4", "b.mp4"]
    assert input_value("n", "3", "number") == 3 and input_value("x", "0.5", "number") == 0.5
    assert input_value("flag", "true", "bool") is True
    assert input_value("query", "[not json", "text") == "[not json"
    with pytest.raises(InputError, match="--input n: 'many' is not a number"):
        input_value("n", "many", "number")
    with pytest.raises(InputError, match="is not a video"):
        input_value("videos", "[1, 2]", "list<video>")
    status, out, err = run(
        "video_qa", tmp_path / "run", "--input", "videos=a.mp4", "--input", "videos=b.mp4"
    )
    assert status == 0, err
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["inputs"]["videos"] == ["a.mp4", "b.mp4"]


def test_missing_implementation_fails_cleanly_and_keeps_the_partial_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    status, out, err = run_mkc(["run", "examples/math_reflect.mk", "--run-dir", str(run_dir), "-q"])
    assert status == 1 and out == ""
    assert "mkc run: error:" in err and "Traceback" not in err
    assert "vllm" in err and "not installed" in err
    assert f"mkc run --resume {run_dir}" in err
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "failed" and trace["error"]
    assert any(op["error"] for op in trace["ops"])
    for name in ("plan.json", "report.txt", "schedule.html", "cache"):
        assert (run_dir / name).exists(), name
    assert "not run" in (run_dir / "report.txt").read_text()


def test_interrupted_run_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(plan: Any, inputs: Any, options: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(murakkab.runtime.engine, "run_plan", interrupted)
    status, _, err = run("math_reflect", tmp_path / "run", "-q")
    assert status == 130 and "interrupted" in err and "--resume" in err
    assert json.loads((tmp_path / "run" / "trace.json").read_text())["status"] == "interrupted"


def test_bad_executors_module_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run_mkc(
        ["run", "examples/math_reflect.mk", "--run-dir", str(tmp_path), "--executors", "no.such"]
    )
    assert status == 2 and "--executors no.such" in err


def test_ray_backend_without_ray_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = run_command.importlib.util.find_spec
    monkeypatch.setattr(
        run_command.importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "ray" else real(name, *rest),
    )
    status, _, err = run("math_reflect", tmp_path / "run", "--backend", "ray")
    assert status == 1 and 'pip install "murakkab[ray]"' in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_resume_needs_a_run_directory(tmp_path: Path) -> None:
    status, _, err = run_mkc(["run", "--resume", str(tmp_path)])
    assert status == 2 and "not a run directory" in err


def test_html_chart_escapes_user_text() -> None:
    row = OpRow("a<b>", "llm.answer", "x&y", "cpu x1", "local cpu", "failed", {}, 0.0, 1.0)
    report = RunReport(
        "w<script>",
        "failed",
        "<img src=x>",
        "local",
        "",
        1.0,
        None,
        (row,),
        (Total("latency", "s", 2.0, 1.0),),
        (),
    )
    page = render_html(report)
    assert "<script>" not in page and "<img" not in page and "a&lt;b&gt;" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_ticks_are_round() -> None:
    assert ticks(10) == [0, 2, 4, 6, 8, 10]
    assert ticks(0.3)[:3] == [0, 0.05, 0.1]


# ---- the run directory is never someone else's ------------------------------------------


def test_run_dir_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    precious = tmp_path / "mine" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me")
    status, _, err = run("math_reflect", precious.parent, "-q")
    assert status == 2 and "--run-dir" in err and "not a run directory" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in precious.parent.iterdir()) == ["notes.txt"]
    assert precious.read_text() == "keep me"


def test_run_dir_refuses_a_run_of_another_job_or_workflow(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run("math_reflect", run_dir, "-q")[0] == 0
    before = (run_dir / "trace.json").read_text()
    status, _, err = run("code_gen_debate", run_dir, "-q")
    assert status == 2 and f"--run-dir {run_dir}: is a run of" in err and "math_reflect" in err
    assert (run_dir / "trace.json").read_text() == before
    stored = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**stored, "workflow": "other"}))
    status, _, err = run("math_reflect", run_dir, "-q")
    assert status == 2 and "is a run of workflow other, not math_reflect" in err


def test_run_dir_of_the_same_job_is_resumed_and_an_empty_one_is_used(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_json("math_reflect", run_dir)
    second = run_json("math_reflect", run_dir)
    assert {op["status"] for op in second["ops"]} == {"cached"}


def test_run_dir_that_cannot_be_made_names_the_flag(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    status, _, err = run("math_reflect", afile / "sub", "-q")
    assert status == 2 and f"--run-dir {afile / 'sub'}: cannot make the directory" in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_run_dir_that_cannot_be_written_names_the_flag(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _, err = run("math_reflect", locked / "run", "-q")
        assert status == 2 and "--run-dir" in err and "internal error" not in err
        status, _, err = run("math_reflect", locked, "-q")
        assert status == 2 and "--run-dir" in err and "cannot write" in err
    finally:
        locked.chmod(0o700)


# ---- usage errors, never internal ones ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise RuntimeError('no GPU here')", "importing it raised RuntimeError: no GPU here"),
        ("def broken(:\n", "importing it raised SyntaxError"),
        ("EXECUTORS = {'llm.solve': 42}", "EXECUTORS maps 'llm.solve' to something that is not a"),
        ("EXECUTORS = [1]", "no EXECUTORS dict"),
    ],
)
def test_an_executors_module_that_fails_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: str
) -> None:
    name = f"mkc_test_executors_{abs(hash(source))}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    status, _, err = run_mkc(
        ["run", "examples/math_reflect.mk", "--run-dir", str(tmp_path / "run")]
        + ["--executors", name]
    )
    assert status == 2 and f"--executors {name}: " in err and expected in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"format": 1}, "has no 'file' field"),
        ({"inputs": ["x"]}, "'inputs' must be an object of input values, not [\"x\"]"),
        ({"assume": 5}, "'assume' must be a list of strings, not 5"),
        ({"retries": "abc"}, "'retries' must be a whole number from 0 to 10"),
        ({"backend": "spark"}, "'backend' must be 'local' or 'ray'"),
        ({"executors": ["m"]}, "'executors' must be a string or null"),
    ],
)
def test_a_mistyped_run_json_names_the_file_and_field(
    tmp_path: Path, stored: dict[str, Any], expected: str
) -> None:
    good = {"format": 1, "file": str(ROOT / "examples" / "math_reflect.mk")}
    good["workflow"] = "math_reflect"
    (tmp_path / "run.json").write_text(
        json.dumps(stored if stored == {"format": 1} else good | stored)
    )
    status, _, err = run_mkc(["run", "--resume", str(tmp_path)])
    assert status == 2 and f"--resume {tmp_path}: {tmp_path / 'run.json'}" in err, err
    assert expected in err and "internal error" not in err


def test_a_stored_input_of_the_wrong_type_is_a_usage_error(tmp_path: Path) -> None:
    run_json("math_reflect", tmp_path / "run")
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    (tmp_path / "run" / "run.json").write_text(json.dumps(stored | {"inputs": {"question": 5}}))
    status, _, err = run_mkc(["run", "--resume", str(tmp_path / "run")])
    assert status == 2 and "stored input question (run.json) is 5, not a text" in err


def test_a_job_without_a_workflow_says_so(tmp_path: Path) -> None:
    job = tmp_path / "lib.mk"
    job.write_text("import stdlib.code\n")
    status, _, err = run_mkc(["run", str(job), "--run-dir", str(tmp_path / "run"), *FAKES])
    assert status == 1 and f"mkc run: error: {job} defines no workflow to run" in err
    assert "internal error" not in err and not (tmp_path / "run").exists()
    status, _, err = run_mkc(["compile", str(job), "--emit", "plan", "-q"])
    assert status == 2 and "defines no workflow" in err and "internal error" not in err


@pytest.mark.parametrize("target", ["directory", "missing/x.py"])
def test_compile_output_that_cannot_be_written_names_the_flag(tmp_path: Path, target: str) -> None:
    (tmp_path / "directory").mkdir()
    output = tmp_path / target
    status, _, err = run_mkc(
        ["compile", "examples/math_reflect.mk", "--emit", "plan", "-q", "-o", str(output)]
    )
    assert status == 2 and f"mkc compile: error: -o {output}: cannot write it (" in err
    assert "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["directory"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11", "11 is out of range: 0 to 10"),
        ("-1", "-1 is out of range"),
        ("x", "'x' is not a whole number"),
    ],
)
def test_retries_out_of_range_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "examples/math_reflect.mk", "--run-dir", str(tmp_path), "--retries", value])
    assert exited.value.code == 2
    assert f"argument --retries: {expected}" in capsys.readouterr().err


# ---- --ray-address -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("address", ["garbage:xx", "127.0.0.1:{port}"])
def test_a_bad_ray_address_is_a_usage_error_before_the_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    monkeypatch.setattr(run_command, "_backend_missing", lambda backend: None)
    address = address.format(port=_closed_port())
    status, _, err = run(
        "math_reflect", tmp_path / "run", "--backend", "ray", "--ray-address", address
    )
    assert status == 2 and f"mkc run: error: --ray-address {address}: " in err, err
    assert not (tmp_path / "run").exists()


def test_ray_address_needs_the_ray_backend(tmp_path: Path) -> None:
    status, _, err = run("math_reflect", tmp_path / "run", "--ray-address", "auto")
    assert status == 2 and "--ray-address needs --backend ray" in err


# ---- the report --------------------------------------------------------------------------


def test_slo_is_not_checked_when_ops_came_from_the_cache(tmp_path: Path) -> None:
    first = run_json("math_reflect", tmp_path / "run")
    assert {c["verdict"] for c in first["slo"] if c["metric"] == "latency"} == {"met"}
    status, out, err = run_mkc(["run", "--resume", str(tmp_path / "run"), "--json"])
    assert status == 0, err
    (latency,) = [c for c in json.loads(out)["slo"] if c["metric"] == "latency"]
    count = len(first["ops"])
    assert latency["verdict"] == "not checked"
    assert latency["reason"] == f"{count} op(s) served from the cache"
    report = (tmp_path / "run" / "report.txt").read_text()
    assert f"slo latency < 30s: not checked ({count} op(s) served from the cache;" in report


def test_ops_running_at_ctrl_c_are_abandoned_not_unrun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(plan: Any, inputs: Any, options: Any) -> Any:
        options.on_event("start", OpTrace("draft", "llm.solve", "vllm", "cpu", start=0.01))
        raise KeyboardInterrupt

    monkeypatch.setattr(murakkab.runtime.engine, "run_plan", interrupted)
    status, out, err = run("math_reflect", tmp_path / "run", "--json")
    assert status == 130, err
    rows = {op["step"]: op for op in json.loads(out)["ops"]}
    assert rows["draft"]["status"] == "abandoned"
    assert rows["draft"]["measured"]["start_s"] == 0.01
    assert rows["draft"]["measured"]["latency_s"] is None
    assert rows["answer.critique"]["status"] == "not run"
    report = (tmp_path / "run" / "report.txt").read_text()
    assert "abandoned" in report and "'abandoned': these ops started" in report
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert [op["step"] for op in trace["abandoned"]] == ["draft"]


def test_a_cancelled_op_is_abandoned() -> None:
    plan = Plan("w", (), (Step("a", "llm.solve", ()),), None)
    cancelled = OpTrace("a", "llm.solve", "vllm", "cpu", start=0.0, end=0.5, error=CANCELLED)
    report = build_report(plan, RunResult("w", None, [cancelled], 1.0, "interrupted"))
    assert [row.status for row in report.rows] == ["abandoned"]


def test_an_internal_error_keeps_the_partial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(plan: Any, inputs: Any, options: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(murakkab.runtime.engine, "run_plan", broken)
    status, _, err = run("math_reflect", tmp_path / "run", "-q")
    assert status == 70 and "RuntimeError: a bug" in err
    trace = json.loads((tmp_path / "run" / "trace.json").read_text())
    assert trace["status"] == "failed" and "internal error: RuntimeError: a bug" in trace["error"]


def test_lanes_and_gpu_types_use_the_one_device_parser() -> None:
    assert lane_of("gpu:h100x4", "node-1", (0, 1, 2, 3)) == "node-1 h100 [0-3]"
    assert lane_of("gpu", "", (1,)) == "local gpu [1]"
    assert Placement("gpu:a100x4").gpu_type == "a100" and Placement("cpu").gpu_type == ""


def test_fallbacks_never_leave_the_machine(tmp_path: Path) -> None:
    run_json("video_qa", tmp_path / "run")
    plan = Plan.from_json((tmp_path / "run" / "plan.json").read_text())
    names = {impl.name for step in plan.walk() for impl in step.fallbacks}
    assert names and "openai-compatible" not in names
    hosted = [s for s in plan.walk() if s.placement is not None and s.placement.device == "hosted"]
    assert all(not step.fallbacks for step in hosted)


# ---- --resume: what it reuses, and dropping it ------------------------------------------


def test_resume_can_drop_stored_settings(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_json("math_reflect", run_dir, "--slo", "cost < 5", "--assume", "load=saturation")
    stored = json.loads((run_dir / "run.json").read_text())
    assert stored["slo"] == ["cost < 5"] and stored["executors"] == "tests.fake_executors"
    assert stored["executors_root"] == str(ROOT)
    status, _, err = run_mkc(
        ["run", "--resume", str(run_dir), "--slo", "", "--assume", "", "--executors", "", "-q"]
    )
    assert status == 1 and "not installed" in err  # no fakes: the real implementations run
    stored = json.loads((run_dir / "run.json").read_text())
    assert stored["slo"] == [] and stored["assume"] == [] and stored["executors"] is None


def test_resume_imports_the_executors_from_where_the_run_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "project"
    home.mkdir()
    name = "mkc_test_resume_executors"
    (home / f"{name}.py").write_text("from tests.fake_executors import EXECUTORS\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setenv("MKC_PROFILE_DB", str(tmp_path / "no-store.sqlite3"))
    monkeypatch.setenv("MKC_CLUSTER", str(ROOT / "examples" / "clusters" / "cloud_a100_h100.toml"))
    monkeypatch.chdir(home)
    job = str(ROOT / "examples" / "math_reflect.mk")
    assert main(["run", job, "--executors", name, "--run-dir", "run", "-q"]) == 0
    for entry in (str(home), ""):
        while entry in sys.path:
            sys.path.remove(entry)
    del sys.modules[name]
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--resume", str(home / "run"), "-q"]) == 0
    assert name in sys.modules


# ---- inputs and workflows -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1_000", "0x10", "1e999", ""])
def test_numbers_are_plain_decimals(text: str) -> None:
    with pytest.raises(InputError, match="is not a number|too large"):
        input_value("n", text, "number")
    assert input_value("n", "-1.5e3", "number") == -1500.0 and input_value("n", " 7", "number") == 7


def test_records_are_json_objects_only() -> None:
    assert input_value("r", '{"a": 1}', "record{a: number}") == {"a": 1}
    for text in ("[1, 2]", "3", '"x"'):
        with pytest.raises(InputError, match="expected a JSON object"):
            input_value("r", text, "record{a: number}")
    with pytest.raises(InputError, match="is not a record"):
        input_value("rs", "[[1]]", "list<record{a: number}>")
    with pytest.raises(InputError, match="is not a number"):
        input_value("ns", "[NaN]", "list<number>")


TWO_WORKFLOWS = """import stdlib.llm

workflow first(question: text) -> text {
    task draft = llm.solve(question)
    return draft
}

workflow second(question: text) -> text {
    task draft = llm.solve(question)
    task critique = llm.critique(question, draft)
    return critique
}

run first("What is 1 + 1?")
run second("What is 2 + 2?")
"""


def test_a_file_with_several_run_requests_says_which_runs(tmp_path: Path) -> None:
    job = tmp_path / "two.mk"
    job.write_text(TWO_WORKFLOWS)
    base = ["run", str(job), *FAKES, "--json"]
    status, out, err = run_mkc([*base, "--run-dir", str(tmp_path / "a")])
    assert status == 0 and json.loads(out)["workflow"] == "first"
    assert "has 2 `run` requests (first, second); this runs the first, first" in err
    assert "--workflow NAME" in err
    status, out, err = run_mkc([*base, "--run-dir", str(tmp_path / "b"), "--workflow", "second"])
    assert status == 0 and json.loads(out)["workflow"] == "second" and "note:" not in err
    assert json.loads((tmp_path / "b" / "run.json").read_text())["workflow"] == "second"
    status, out, err = run_mkc(["run", "--resume", str(tmp_path / "b"), "--json"])
    assert status == 0 and json.loads(out)["workflow"] == "second"
    status, _, err = run_mkc([*base, "--run-dir", str(tmp_path / "c"), "--workflow", "third"])
    assert status == 2 and "--workflow third: " in err and "(it defines first, second)" in err


def test_run_files_that_cannot_be_written_name_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import murakkab.report.rundir

    def refused(path: Path, text: str) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(murakkab.report.rundir, "write_atomic", refused)
    status, _, err = run("math_reflect", tmp_path / "run", "-q")
    assert status == 2 and "internal error" not in err
    assert f"--run-dir {tmp_path / 'run'}: cannot write the run's files (Permission denied:" in err
