"""The `mkc` command line: help, exit statuses, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import murakkab.driver
from murakkab import __version__
from murakkab.cli import main
from tests.goldens import EXAMPLES, run_mkc

COMMANDS = ("check", "compile", "opt", "fmt")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"mkc {command}" in out


def test_check_every_example() -> None:
    examples = sorted(f"examples/{p.name}" for p in EXAMPLES.glob("*.mk"))
    status, out, err = run_mkc(["check", *examples])
    assert status == 0, err
    assert out.count(": ok (") == len(examples)


def test_compile_emits_ir_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "video_qa.mkir"
    status, out, err = run_mkc(
        ["compile", "examples/video_qa.mk", "--emit", "ir", "-o", str(target)]
    )
    assert status == 0, err
    assert out == "" and target.read_text().startswith("level placed\n")


def test_compile_slo_flag_overrides_the_file() -> None:
    status, out, _ = run_mkc(
        ["compile", "examples/video_qa.mk", "--slo", "latency < 10 s", "--emit", "ir"]
    )
    assert status == 0
    assert "latency < 10s" in out and "cost < 2usd" in out


def test_stop_after_and_print_ir_after() -> None:
    status, out, err = run_mkc(["compile", "examples/video_qa.mk", "--stop-after", "check"])
    assert (status, out) == (0, "")
    status, _, err = run_mkc(["compile", "examples/video_qa.mk", "--print-ir-after", "lower"])
    assert status == 0 and "# IR after lower" in err and "level logical" in err


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "examples/video_qa.mk", "--stop-after", "optimise"],
        ["compile", "examples/video_qa.mk", "--stop-after", "check", "--emit", "ir"],
        ["compile", "examples/video_qa.mk", "--print-ir-after", "parse"],
        ["compile", "examples/video_qa.mk", "--stop-after", "check", "--emit", "plan"],
        ["compile", "examples/video_qa.mk", "--backend", "ray"],
    ],
)
def test_bad_flag_combinations_are_usage_errors(args: list[str]) -> None:
    status, _, err = run_mkc(args)
    assert status == 2 and "error:" in err and "Traceback" not in err


def test_bad_slo_flag_names_the_flag() -> None:
    status, _, err = run_mkc(["compile", "examples/video_qa.mk", "--slo", "latency < 3 kg"])
    assert status == 1
    assert err.startswith("--slo:1:")
    assert "error[MK0302]" in err and "^" in err


def test_bad_pipeline_names_the_flag() -> None:
    status, _, err = run_mkc(["opt", "tests/golden/ir/video_qa.mkir", "-p", "dce"])
    assert status == 1 and err.startswith("-p:1:1: error[MK0501]")


def test_missing_file_is_a_user_error() -> None:
    status, _, err = run_mkc(["check", "does/not/exist.mk"])
    assert status == 1 and "error[MK0001]" in err


def test_internal_errors_exit_70_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(murakkab.driver, "load_program", broken)
    status, _, err = run_mkc(["check", "examples/video_qa.mk"])
    assert status == 70
    assert "internal error, please report" in err and "Traceback" not in err
    status, _, err = run_mkc(["--debug", "check", "examples/video_qa.mk"])
    assert status == 70 and "Traceback" in err


def test_fmt_check_reports_unformatted_files(tmp_path: Path) -> None:
    messy = tmp_path / "messy.mk"
    messy.write_text(
        "import stdlib.llm\nworkflow w(q:text)->text{\ntask a=llm.generate( q )\nreturn a}\n"
    )
    status, out, _ = run_mkc(["fmt", "--check", str(messy)])
    assert status == 1 and "+++" in out
    status, _, _ = run_mkc(["fmt", str(messy)])
    assert status == 0
    status, _, _ = run_mkc(["fmt", "--check", str(messy)])
    assert status == 0
    assert run_mkc(["check", str(messy)])[0] == 0


def test_fmt_leaves_files_with_errors_untouched(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mk"
    broken.write_text("workflow w( {\n")
    status, _, err = run_mkc(["fmt", str(broken)])
    assert status == 1 and "error[MK0101]" in err
    assert broken.read_text() == "workflow w( {\n"


def test_output_to_a_device_writes_through_without_replacing_it() -> None:
    devnull = Path("/dev/null")
    assert devnull.is_char_device()
    status, _, err = run_mkc(["compile", "examples/video_qa.mk", "--emit", "ir", "-o", "/dev/null"])
    assert status == 0, err
    assert devnull.is_char_device()


def test_estimate_prints_a_table_per_request_and_json(tmp_path: Path) -> None:
    status, out, err = run_mkc(["estimate", "examples/video_qa.mk"])
    assert status == 0, err
    assert "workflow video_qa" in out and "total: latency" in out and "slo: cost < 2usd: met" in out
    job = tmp_path / "two.mk"
    job.write_text(
        "import stdlib.llm\nworkflow w(q: text) -> text {\n"
        " task a = llm.generate(q)\n return a\n}\n"
        'run w("short")\nrun w("a much longer question that has more words in it")\n'
    )
    status, out, err = run_mkc(["estimate", str(job), "--json"])
    assert status == 0, err
    data = json.loads(out)
    assert [e["request"] for e in data["estimates"]] == [
        ["short"],
        ["a much longer question that has more words in it"],
    ]


def test_compile_takes_cost_options_and_stops_before_estimating() -> None:
    args = ["compile", "examples/video_qa.mk", "--emit", "ir"]
    status, out, _ = run_mkc(args + ["--stop-after", "lower"])
    assert status == 0 and "est_latency" not in out
    cluster = "examples/clusters/cloud_a100_h100.toml"
    status, out, _ = run_mkc(args + ["--assume", "video_s=600", "--cluster", cluster])
    assert status == 0 and "est_latency" in out


def test_print_ir_after_all_dumps_every_stage_and_each_dump_round_trips(tmp_path: Path) -> None:
    status, _, err = run_mkc(["compile", "examples/video_qa.mk", "--print-ir-after", "all", "-q"])
    assert status == 0
    dumps = [d for d in err.split("# IR after ") if d.strip()]
    stages = [d.split("\n", 1)[0] for d in dumps]
    assert stages[0] == "lower" and "model-substitution" in stages and stages[-1] == "estimate"
    for stage, dump in zip(stages, dumps):
        path = tmp_path / f"{stage}.mkir"
        path.write_text(dump.split("\n", 1)[1])
        status, out, err2 = run_mkc(["opt", str(path)])
        assert status == 0, err2
        assert out == path.read_text(), f"the IR after {stage} does not round-trip"


def test_time_passes_and_the_summary() -> None:
    status, _, err = run_mkc(["compile", "examples/video_qa.mk", "--time-passes"])
    assert status == 0
    assert "model-substitution" in err and "total" in err
    assert "video_qa (optimal for energy)" in err and "slo: latency < 30s: met" in err
