"""SLOs: one syntax for files and flags, canonical units, the override rule."""

from __future__ import annotations

import pytest

from murakkab.diagnostics import DiagnosticError
from murakkab.driver import parse_slo_flags
from murakkab.slo import SloBound, SloSpec, format_spec
from tests.helpers import error_codes, lower_text

RUN_HEADER = (
    "import stdlib.llm\nworkflow w(q: text) -> text {\n task a = llm.generate(q)\n return a\n}\n"
)


def flags(*values: str) -> SloSpec:
    return parse_slo_flags(values, {})


@pytest.mark.parametrize(
    ("text", "metric", "value"),
    [
        ("latency < 30", "latency", 30.0),
        ("latency<30s", "latency", 30.0),
        ("latency <= 500 ms", "latency", 0.5),
        ("latency < 2 min", "latency", 120.0),
        ("cost < 2", "cost", 2.0),
        ("cost < $2.5", "cost", 2.5),
        ("cost < 150 cents", "cost", 1.5),
        ("energy < 1 kWh", "energy", 3_600_000.0),
        ("energy < 2 Wh", "energy", 7200.0),
        ("energy < 40 J", "energy", 40.0),
        ("quality >= 64.4%", "quality", 0.644),
        ("quality > 0.5", "quality", 0.5),
    ],
)
def test_units_convert_to_canonical(text: str, metric: str, value: float) -> None:
    bound = flags(text).bound(metric)
    assert bound is not None and bound.value == value


def test_tiers_stay_symbolic_until_a_workflow_gives_them_a_value() -> None:
    assert flags("quality >= good").bound("quality") == SloBound("quality", ">=", None, "good")


def test_comma_lists_and_objectives_on_the_command_line() -> None:
    spec = flags("latency < 30 s, cost < 2, minimize energy")
    assert format_spec(spec) == "slo {cost < 2usd, latency < 30s} minimize energy"


def test_later_flags_override_earlier_ones_per_metric() -> None:
    spec = flags("latency < 30 s, cost < 2", "latency < 10 s")
    assert format_spec(spec) == "slo {cost < 2usd, latency < 10s}"


def test_command_line_overrides_the_file_per_metric() -> None:
    file = RUN_HEADER + 'run w("hi") slo latency < 30 s, quality >= good minimize energy\n'
    module = lower_text(file)
    merged = module.requests[0].slo.merged_with(flags("latency < 5 s", "maximize quality"))
    assert format_spec(merged) == "slo {latency < 5s, quality >= good} maximize quality"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("speed < 3", "MK0301"),
        ("latency < 3 kg", "MK0302"),
        ("cost < 3 %", "MK0302"),
        ("latency > 3", "MK0303"),
        ("quality < 0.5", "MK0303"),
        ("quality >= 1.5", "MK0304"),
        ("cost < -1", "MK0304"),
        ("cost < 1, cost < 2", "MK0305"),
        ("cost < good", "MK0306"),
        ("quality >= great", "MK0306"),
        ("minimize quality", "MK0307"),
        ("minimize energy, minimize cost", "MK0308"),
        ("latency <", "MK0101"),
    ],
)
def test_bad_slos_are_located_diagnostics(text: str, code: str) -> None:
    with pytest.raises(DiagnosticError) as raised:
        flags(text)
    diagnostic = raised.value.diagnostics[0]
    assert diagnostic.code == code
    assert diagnostic.span.file == "--slo"


def test_the_same_errors_in_a_file() -> None:
    assert error_codes(RUN_HEADER + 'run w("x") slo latency > 3 s') == ["MK0303"]
    assert error_codes(RUN_HEADER + 'run w("x") slo quality >= 120 %') == ["MK0304"]
