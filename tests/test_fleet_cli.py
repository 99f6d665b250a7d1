"""`mkc fleet plan` and `mkc simulate` end to end, in-process, on 1% of the reference load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from murakkab.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAIR = ["examples/video_qa.mk", "examples/code_gen_debate.mk"]
SMALL = ["--scale", "0.01", "--hours", "0:2"]


@pytest.fixture(autouse=True)
def _shipped_priors_from_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan with the shipped priors only (a measured store must not change a result)."""
    monkeypatch.setenv("MKC_PROFILE_DB", str(ROOT / "tests" / "golden" / "no-such-store.sqlite3"))
    monkeypatch.chdir(ROOT)


def _mkc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err


# ---- mkc fleet plan -------------------------------------------------------------------


def test_fleet_plan_prints_pools_routing_and_prediction(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(capsys, "fleet", "plan", *PAIR, "--scale", "0.01")
    assert code == 0, err
    for heading in ("LLM instances", "routing", "predicted per hour"):
        assert heading in out
    assert "video_qa:quality-good" in out
    assert "code_gen_debate:latency-good" in out
    _no_traceback(err)


def test_fleet_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(
        capsys, "fleet", "plan", *PAIR, "--scale", "0.01", "--hour", "0", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert {"llm", "routes", "predicted"} <= set(data)
    assert data["llm"]
    assert data["routes"]


def test_fleet_plan_per_workflow_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(
        capsys, "fleet", "plan", *PAIR, *SMALL, "--per-workflow", "--objective", "cost", "--json"
    )
    assert code == 0, err
    assert {"llm", "routes", "predicted"} <= set(json.loads(out))


def test_fleet_plan_hour_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _mkc(capsys, "fleet", "plan", *PAIR, *SMALL, "--hour", "2")
    assert code == 2
    assert "--hour" in err
    _no_traceback(err)


# ---- mkc simulate ---------------------------------------------------------------------


def test_simulate_all_policies_writes_a_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = _mkc(capsys, "simulate", *PAIR, *SMALL, "--policy", "all", "-o", str(out_dir))
    assert code == 0, err
    lines = out.splitlines()
    for policy in ("static", "autoscale", "opt", "joint"):
        assert sum(line.startswith(f"{policy}: gpus ") for line in lines) == 1, policy
    assert (out_dir / "report.html").is_file()
    assert (out_dir / "report.html").stat().st_size > 0
    assert "wrote" in err
    _no_traceback(err)


def test_simulate_json_one_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(capsys, "simulate", *PAIR, *SMALL, "--policy", "joint", "--json")
    assert code == 0, err
    (result,) = json.loads(out)
    assert result["policy"] == "joint"
    assert result["peak_gpus"] > 0


def test_simulate_sweep_prints_a_row_per_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(
        capsys, "simulate", *PAIR, "--sweep", "h100=0:100:100", "--scale", "0.01", "--hours", "0:1"
    )
    assert code == 0, err
    assert "sweep of available H100s, policy joint" in out
    firsts = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert firsts[0] == "h100"  # the header row
    assert firsts[1:] == ["0", "100"]


# ---- errors ---------------------------------------------------------------------------


def test_bad_mix_is_a_diagnostic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _mkc(capsys, "fleet", "plan", *PAIR, *SMALL, "--mix", "80% quality>=good")
    assert code == 1
    assert "MK0901" in err
    assert "80%" in err
    assert out == ""
    _no_traceback(err)


def test_bad_trace_number_names_file_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("hour,chat_mean,chat_peak,coding_mean,coding_peak\n0,10,12,5,6\n1,10,1x,5,6\n")
    code, _, err = _mkc(capsys, "simulate", *PAIR, "--trace", str(trace), "--policy", "joint")
    assert code == 1
    assert "MK0903" in err
    assert f"{trace}:3:6" in err
    assert "'1x'" in err
    _no_traceback(err)


def test_unreadable_trace_is_a_diagnostic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _mkc(capsys, "fleet", "plan", *PAIR, "--trace", str(tmp_path / "missing.csv"))
    assert code == 1
    assert "MK0903" in err
    _no_traceback(err)


def test_bad_sweep_is_a_diagnostic(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _mkc(capsys, "simulate", *PAIR, *SMALL, "--sweep", "h100=abc")
    assert code == 1
    assert "MK0906" in err
    _no_traceback(err)


@pytest.mark.parametrize("example", ["grade_submissions", "verify_solution"])
def test_non_reference_workflow_is_a_diagnostic(
    capsys: pytest.CaptureFixture[str], example: str
) -> None:
    code, _, err = _mkc(capsys, "fleet", "plan", f"examples/{example}.mk", "--scale", "0.01")
    assert code == 1
    assert "MK0902" in err
    assert f"examples/{example}.mk:" in err
    assert "not one of the reference workflows" in err
    _no_traceback(err)


@pytest.mark.parametrize("scale", ["0", "-1"])
def test_nonpositive_scale_is_a_usage_error(capsys: pytest.CaptureFixture[str], scale: str) -> None:
    code, _, err = _mkc(capsys, "simulate", *PAIR, "--scale", scale)
    assert code == 2
    assert "--scale" in err
    _no_traceback(err)


def test_bad_hours_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _mkc(capsys, "simulate", *PAIR, "--scale", "0.01", "--hours", "3:1")
    assert code == 2
    assert "--hours" in err


def test_inventory_file_errors_name_the_line_of_the_bad_key(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    inventory = tmp_path / "inventory.toml"
    inventory.write_text("[gpus]\na100 = 2000\nh100 = -5\n", encoding="utf-8")
    status = main(["fleet", "plan", "examples/code_gen_debate.mk", "--inventory", str(inventory)])
    err = capsys.readouterr().err
    assert status == 1
    assert f"{inventory}:3:1: error[MK0905]: gpus.h100 is a count of GPUs, found -5" in err
    assert "Traceback" not in err
