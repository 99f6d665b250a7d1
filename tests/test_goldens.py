"""Golden tests: the IR of every example and one diagnostic per error code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.goldens import (
    DIAGNOSTICS,
    EXPLAIN,
    EXPLAIN_ARGS,
    IR,
    PLANNER,
    PLANNER_ARGS,
    ROOT,
    command_for,
    diagnostic_inputs,
    diagnostic_record,
    example_explain,
    example_ir,
    examples,
    expected_path,
    planner_output,
    run_mkc,
)

REGENERATE = "python -m tests.goldens"


@pytest.mark.parametrize("name", examples())
def test_example_ir_matches_golden(name: str) -> None:
    golden = IR / f"{name}.mkir"
    assert golden.exists(), f"missing golden {golden}; run: {REGENERATE}"
    assert example_ir(name) == golden.read_text(encoding="utf-8"), (
        f"IR of examples/{name}.mk changed; reproduce: mkc compile examples/{name}.mk --emit ir"
        f" (regenerate with {REGENERATE} if intended)"
    )


@pytest.mark.parametrize("golden", sorted(IR.glob("*.mkir")), ids=lambda p: p.stem)
def test_opt_reprints_ir_golden_identically(golden: Path) -> None:
    status, out, err = run_mkc(["opt", f"tests/golden/ir/{golden.name}"])
    assert status == 0, err
    assert out == golden.read_text(encoding="utf-8"), (
        f"reproduce: mkc opt tests/golden/ir/{golden.name}"
    )


@pytest.mark.parametrize("golden", sorted(IR.glob("*.mkir")), ids=lambda p: p.stem)
def test_debuginfo_round_trips(golden: Path, tmp_path: Path) -> None:
    name = golden.stem
    status, with_loc, err = run_mkc(
        ["compile", f"examples/{name}.mk", "--emit", "ir", "--debuginfo"]
    )
    assert status == 0, err
    assert 'loc("examples/' in with_loc
    dumped = tmp_path / f"{name}.mkir"
    dumped.write_text(with_loc, encoding="utf-8")
    status, again, err = run_mkc(["opt", str(dumped), "--debuginfo"])
    assert status == 0, err
    assert again == with_loc


@pytest.mark.parametrize("path", diagnostic_inputs(), ids=lambda p: p.stem)
def test_diagnostic_golden(path: Path) -> None:
    expected = expected_path(path)
    assert expected.exists(), f"missing {expected.name}; run: {REGENERATE}"
    actual = diagnostic_record(path)
    assert actual == expected.read_text(encoding="utf-8"), (
        f"reproduce: mkc {' '.join(command_for(path))}  (regenerate with {REGENERATE} if intended)"
    )


@pytest.mark.parametrize("path", diagnostic_inputs(), ids=lambda p: p.stem)
def test_diagnostic_golden_reports_its_code(path: Path) -> None:
    record = expected_path(path).read_text(encoding="utf-8")
    code = path.stem.split("-")[0]
    assert re.search(rf"(error|warning)\[{code}\]", record), f"{path.name} does not report {code}"
    if "error[" in record:
        assert record.startswith("exit: 1\n"), "user errors exit with status 1"
        assert re.search(r"^\s+\|\s+\^+", record, re.MULTILINE) or code in ("MK0001",), "no caret"
    assert "Traceback" not in record


def test_every_code_has_a_golden() -> None:
    codes_in_source = set()
    for folder in ("murakkab", "passes", "backends", "stdlib", "grammar"):
        for path in (ROOT / folder).rglob("*.py"):
            codes_in_source |= set(re.findall(r'"(MK0\d{3})"', path.read_text(encoding="utf-8")))
    goldens = {
        p.stem.split("-")[0] for p in DIAGNOSTICS.iterdir() if not p.name.endswith(".expected")
    }
    assert codes_in_source - goldens == set(), "error codes without a diagnostics golden"


@pytest.mark.parametrize("name", examples())
def test_explain_matches_golden(name: str) -> None:
    golden = EXPLAIN / f"{name}.txt"
    assert golden.exists(), f"missing golden {golden}; run: {REGENERATE}"
    assert example_explain(name) == golden.read_text(encoding="utf-8"), (
        f"reproduce: mkc explain examples/{name}.mk {' '.join(EXPLAIN_ARGS)}"
    )


def test_fleet_plan_matches_golden() -> None:
    from tests.goldens import FLEET, FLEET_ARGS, fleet_plan

    golden = FLEET / "plan.txt"
    assert golden.exists(), f"missing golden {golden}; run: {REGENERATE}"
    assert fleet_plan() == golden.read_text(encoding="utf-8"), (
        f"reproduce: mkc {' '.join(FLEET_ARGS)}"
    )


@pytest.mark.parametrize("explain", [False, True], ids=["file", "explain"])
@pytest.mark.parametrize("name", sorted(PLANNER_ARGS))
def test_planner_output_matches_golden(name: str, explain: bool) -> None:
    golden = PLANNER / (f"{name}.explain.txt" if explain else f"{name}.mk")
    assert golden.exists(), f"missing golden {golden}; run: {REGENERATE}"
    assert planner_output(name, explain) == golden.read_text(encoding="utf-8"), (
        f"reproduce: mkc plan {shlex.join(PLANNER_ARGS[name])}{' --explain' if explain else ''}"
    )
