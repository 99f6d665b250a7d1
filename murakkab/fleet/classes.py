"""SLO classes and the `--mix` flag that shares a workflow's requests among them.

`--mix "70% quality>=good, 30% latency<=good"` gives every workflow that mix (the
reference experiment's); `--mix "video_qa: 50% quality>=best, 50% latency<=fair"`
gives one workflow its own. Tiers name thresholds computed from the profiles
(fleet/tiers.py). A latency class keeps a quality floor, the population's 25th
percentile (the reference: "latency-tier requests still get a basic accuracy
floor (e.g. 50% for video Q/A)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.source import SourceFile, Span

DEFAULT_MIX = "70% quality>=good, 30% latency<=good"
TIERS = ("best", "good", "fair", "basic")
_ITEM = re.compile(
    r"\s*(?P<share>\d+(?:\.\d+)?)\s*%\s*(?P<metric>quality|latency)\s*(?P<op>>=|<=)\s*(?P<tier>\w+)\s*"
)


@dataclass(frozen=True)
class ClassSpec:
    """One item of a mix, before tiers are resolved."""

    metric: str  # "quality" | "latency"
    tier: str
    share: float  # fraction of the workflow's requests


@dataclass(frozen=True)
class SloClass:
    workflow: str
    metric: str
    tier: str
    share: float
    min_quality: float
    max_latency_s: float | None  # None: no latency bound

    @property
    def id(self) -> str:
        return f"{self.workflow}:{self.metric}-{self.tier}"

    def describe(self) -> str:
        bound = f"quality >= {self.min_quality:.1%}"
        if self.max_latency_s is not None:
            bound += f", p90 latency <= {self.max_latency_s:.2f} s"
        return f"{self.share:.0%} {self.metric} {self.tier} ({bound})"


@dataclass(frozen=True)
class Mix:
    default: tuple[ClassSpec, ...]
    per_workflow: tuple[tuple[str, tuple[ClassSpec, ...]], ...]

    def of(self, workflow: str) -> tuple[ClassSpec, ...]:
        return dict(self.per_workflow).get(workflow, self.default)


def parse_mix(flags: list[str], sources: dict[str, SourceFile]) -> Mix:
    """Every --mix flag: one without a `WORKFLOW:` prefix replaces the default mix."""
    default = _parse_one(DEFAULT_MIX, "<default mix>", {})[1]
    per_workflow: dict[str, tuple[ClassSpec, ...]] = {}
    for index, flag in enumerate(flags):
        name = "--mix" if len(flags) == 1 else f"--mix#{index + 1}"
        workflow, specs = _parse_one(flag, name, sources)
        if workflow is None:
            default = specs
        else:
            per_workflow[workflow] = specs
    return Mix(default, tuple(sorted(per_workflow.items())))


def _parse_one(
    text: str, name: str, sources: dict[str, SourceFile]
) -> tuple[str | None, tuple[ClassSpec, ...]]:
    source = SourceFile.of(name, text)
    sources[name] = source
    workflow, body, offset = None, text, 0
    prefix = re.match(r"\s*([A-Za-z_]\w*)\s*:", text)
    if prefix:
        workflow, body, offset = prefix.group(1), text[prefix.end() :], prefix.end()
    specs, total, position = [], 0.0, offset
    for piece in body.split(","):
        column = position + 1
        position += len(piece) + 1
        match = _ITEM.fullmatch(piece)
        if match is None:
            raise _error(name, column, len(piece), f"cannot read the mix item {piece.strip()!r}")
        if match["tier"] not in TIERS:
            raise _error(
                name,
                column + match.start("tier"),
                len(match["tier"]),
                f"unknown tier {match['tier']!r}",
                hint=f"tiers are {', '.join(TIERS)}",
            )
        wanted = ">=" if match["metric"] == "quality" else "<="
        if match["op"] != wanted:
            raise _error(
                name, column + match.start("op"), 2, f"{match['metric']} takes {wanted} a tier"
            )
        share = float(match["share"]) / 100
        total += share
        specs.append(ClassSpec(match["metric"], match["tier"], share))
    if abs(total - 1.0) > 1e-6:
        raise _error(
            name, offset + 1, max(1, len(body)), f"the shares add up to {total:.0%}, not 100%"
        )
    return workflow, tuple(specs)


def _error(
    name: str, column: int, width: int, message: str, hint: str | None = None
) -> DiagnosticError:
    span = Span(name, 1, column, 1, column + max(1, width))
    hint = (
        hint
        or 'e.g. --mix "70% quality>=good, 30% latency<=good"'
        " (a WORKFLOW: prefix sets one workflow's)"
    )
    return DiagnosticError([Diagnostic.error("MK0901", span, message, hint=hint)])
