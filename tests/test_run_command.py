"""`mkc run`: result, report, run directory, inputs, failures, resume (fake executors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import murakkab.runtime.engine
from murakkab.cli import main
from murakkab.commands import run as run_command
from murakkab.report.chart import render_html, ticks
from murakkab.report.inputs import InputError, input_value
from murakkab.report.run_report import OpRow, RunReport, Total
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
    status, out, err = run_mkc(["run", "examples/video_qa.mk", "--run-dir", str(run_dir), "-q"])
    assert status == 1 and out == ""
    assert "mkc run: error:" in err and "Traceback" not in err
    assert "opencv" in err and "not installed" in err
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
