"""The `mkc simulate` report: PNGs drawn, ratios against static right, every string escaped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from murakkab.backends.sim.charts import ratio, render_html, write_report
from murakkab.backends.sim.result import ClassStats, PolicyResult

MINUTES = 120
PNG = b"\x89PNG\r\n\x1a\n"


def _result(policy: str, llm: int, tool: int, cost: float, energy: float) -> PolicyResult:
    """A fleet holding `llm` + `tool` GPUs in the first hour and half as many after."""
    half = np.r_[np.ones(60), np.full(MINUTES - 60, 0.5)]
    return PolicyResult(
        policy=policy,
        minutes=MINUTES,
        gpus_by_group={
            "gemma-3-27b/h100": llm * half,
            "speech.transcribe/a100": tool * half,
        },
        cpu_cores=np.full(MINUTES, 8.0),
        energy_kwh=energy,
        cost_usd=cost,
        classes={
            "chat": ClassStats(1000, 990, 2, 0.8, 1.9, 4.2, 5.0),
            "<script>alert(1)</script>": ClassStats(50, 50, 0, 12.0, 30.0, 55.0, None),
        },
        plans=3,
        notes=[f"{policy} note & <b>detail</b>"],
    )


@pytest.fixture
def results() -> list[PolicyResult]:
    # Peaks: static 10 GPUs, autoscale 8, joint 4 -> 2.5x fewer for joint.
    return [
        _result("static", 6, 4, cost=400.0, energy=100.0),
        _result("autoscale", 5, 3, cost=300.0, energy=80.0),
        _result("joint", 3, 1, cost=160.0, energy=30.0),
    ]


def test_write_report_draws_pngs_and_page(results: list[PolicyResult], tmp_path: Path) -> None:
    out = tmp_path / "report"
    written = write_report(results, out, "24 h trace")
    assert [p.name for p in written] == ["fleet.png", "policies.png", "report.html"]
    for name in ("fleet.png", "policies.png"):
        assert (out / name).read_bytes().startswith(PNG)
    page = (out / "report.html").read_text(encoding="utf-8")
    for policy in ("static", "autoscale", "joint"):
        assert f"<td>{policy}</td>" in page
    assert page.count('<img src="data:image/png;base64,') == 2
    assert "<svg" in page and page.count("<polyline") == 3


def test_ratios_against_static(results: list[PolicyResult]) -> None:
    page = render_html(results, "t", {})
    joint = page.split("<td>joint</td>", 1)[1].split("</tr>", 1)[0]
    # GPUs 10/4, energy 100/30, cost 400/160.
    assert "<td>2.5x</td><td>3.3x</td><td>2.5x</td>" in joint
    static = page.split("<td>static</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>1.0x</td><td>1.0x</td><td>1.0x</td>" in static
    assert ratio(10, 0) == "-"


def test_no_static_no_ratios(results: list[PolicyResult]) -> None:
    page = render_html(results[1:], "t", {})
    assert "vs static" not in page and "x</td>" not in page


def test_strings_are_escaped(results: list[PolicyResult], tmp_path: Path) -> None:
    page = render_html(results, "<title>&", {"<caption>": str(tmp_path / "gone.png")})
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;title&gt;&amp;" in page and "<b>detail</b>" not in page
    assert "&lt;caption&gt;: not drawn" in page
    assert "<td>-</td>" in page  # the class with no latency bound


def test_without_matplotlib_page_still_written(
    results: list[PolicyResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    written = write_report(results, tmp_path, "t")
    assert [p.name for p in written] == ["report.html"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "matplotlib is not installed" in page
