"""Service-level objectives: one syntax for `.mk` files, `--slo` flags and the IR.

Canonical units (what the IR stores and prints): cost in usd, latency in
seconds, energy in joules, quality as a fraction in [0, 1] or a tier name.
Units written by the user are optional; a bare number takes the default unit
of its metric (usd, s, J, fraction).

Combining: a command-line SLO overrides the file's bound on the same metric and
leaves the others alone; a command-line objective replaces the file's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from murakkab.source import UNKNOWN_SPAN, Span

TIERS = ("best", "good", "fair", "basic")

# metric -> unit -> factor to the canonical unit
UNITS: dict[str, dict[str, Decimal]] = {
    "cost": {"usd": Decimal(1), "$": Decimal(1), "cents": Decimal("0.01")},
    "latency": {"s": Decimal(1), "ms": Decimal("0.001"), "min": Decimal(60), "h": Decimal(3600)},
    "energy": {"J": Decimal(1), "kJ": Decimal(1000), "Wh": Decimal(3600), "kWh": Decimal(3600000)},
    "quality": {"%": Decimal("0.01"), "percent": Decimal("0.01")},
}
CANONICAL_UNIT = {"cost": "usd", "latency": "s", "energy": "J", "quality": ""}
UPPER_BOUNDED = ("cost", "latency", "energy")  # smaller is better: `<`, `<=`
MAX_BOUND = Decimal(10) ** 15  # beyond this a float no longer prints back exactly
OBJECTIVES = {"minimize": ("cost", "energy", "latency"), "maximize": ("quality",)}


@dataclass(frozen=True)
class SloBound:
    metric: str
    op: str
    value: float | None = None
    tier: str | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False)


@dataclass(frozen=True)
class Objective:
    direction: str
    metric: str
    span: Span = field(default=UNKNOWN_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.direction} {self.metric}"


@dataclass(frozen=True)
class SloSpec:
    """At most one bound per metric, kept sorted by metric name."""

    bounds: tuple[SloBound, ...] = ()
    objective: Objective | None = None

    def bound(self, metric: str) -> SloBound | None:
        return next((b for b in self.bounds if b.metric == metric), None)

    def merged_with(self, override: SloSpec) -> SloSpec:
        """Per-metric override: `override`'s bounds and objective win."""
        by_metric = {b.metric: b for b in self.bounds}
        by_metric.update({b.metric: b for b in override.bounds})
        objective = override.objective if override.objective is not None else self.objective
        return SloSpec(tuple(by_metric[m] for m in sorted(by_metric)), objective)

    @property
    def is_empty(self) -> bool:
        return not self.bounds and self.objective is None


class SloValueError(ValueError):
    """A bound that cannot be made canonical; the message says what was expected."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


def canonical_value(metric: str, number: str, unit: str | None) -> float:
    """Convert `number unit` to the metric's canonical unit, exactly in decimal."""
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:
        raise SloValueError(f"'{number}' is not a number") from exc
    if unit is not None:
        units = UNITS[metric]
        if unit not in units:
            allowed = ", ".join(units) or "none"
            raise SloValueError(
                f"unit '{unit}' does not measure {metric}",
                hint=f"{metric} takes {allowed}" + _default_unit_note(metric),
            )
        amount *= units[unit]
    if amount < 0:
        raise SloValueError(f"{metric} bound must not be negative")
    if amount > MAX_BOUND:
        raise SloValueError(f"{metric} bound {number}{unit or ''} is out of range")
    if metric == "quality" and amount > 1:
        raise SloValueError(
            f"quality {number}{unit or ''} is more than 100%",
            hint="write quality as a fraction (0.64), a percentage (64%) or a tier (good)",
        )
    return float(amount)


def _default_unit_note(metric: str) -> str:
    canonical = CANONICAL_UNIT[metric]
    return f"; a bare number means {canonical}" if canonical else "; a bare number is a fraction"


def check_operator(metric: str, op: str) -> None:
    if metric in UPPER_BOUNDED and op not in ("<", "<="):
        raise SloValueError(
            f"{metric} is bounded from above: use '<' or '<='",
            hint=f"for example '{metric} < ...'",
        )
    if metric == "quality" and op not in (">", ">="):
        raise SloValueError(
            "quality is bounded from below: use '>=' or '>'", hint="for example 'quality >= good'"
        )


def check_objective(direction: str, metric: str) -> None:
    if metric not in OBJECTIVES[direction]:
        other = "maximize" if direction == "minimize" else "minimize"
        choices = ", ".join(f"{direction} {m}" for m in OBJECTIVES[direction])
        raise SloValueError(
            f"cannot {direction} {metric}",
            hint=f"use {choices}"
            + (f", or {other} {metric}" if metric in OBJECTIVES[other] else ""),
        )


def format_number(value: float) -> str:
    """Integral values print without a fraction: 30.0 -> '30'."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_bound(bound: SloBound) -> str:
    if bound.tier is not None:
        return f"{bound.metric} {bound.op} {bound.tier}"
    assert bound.value is not None
    return f"{bound.metric} {bound.op} {format_number(bound.value)}{CANONICAL_UNIT[bound.metric]}"


def format_spec(spec: SloSpec) -> str:
    """`slo {cost < 2usd, latency < 30s} minimize energy`, or '' when empty."""
    parts = []
    if spec.bounds:
        parts.append("slo {" + ", ".join(format_bound(b) for b in spec.bounds) + "}")
    if spec.objective is not None:
        parts.append(str(spec.objective))
    return " ".join(parts)
