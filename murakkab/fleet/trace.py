"""Arrival traces: request rates per minute per stream, from the reference or a user's file.

Three CSV forms, told apart by the first column of the header (docs/fleet.md):
- `hour,S_mean,S_peak,...`: hourly mean and peak rates in requests/minute (the
  reference trace's form). Within an hour the rate is the mean, except for one
  burst of BURST_MINUTES at the peak rate, placed by the seed; the other minutes
  are lowered so the hour's mean holds.
- `minute,S,...`: a rate per minute.
- `time_s,stream`: one request per row, replayed exactly (no Poisson draw).
`#` lines are comments. The simulator draws Poisson arrivals from the rates.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.source import SourceFile, Span

REFERENCE_TRACE = "azure-llm-2024-05-15.csv"
BURST_MINUTES = 5
# Which stream of the reference trace drives each reference workflow.
STREAM_OF_SHAPE = {"video_qa": "chat", "code_gen": "coding", "math_qa": "chat"}


@dataclass(frozen=True)
class Trace:
    name: str
    rates: dict[str, np.ndarray]  # stream -> requests per minute, one value per minute
    arrivals: dict[str, np.ndarray] | None = None  # stream -> sorted arrival seconds (exact)

    @property
    def minutes(self) -> int:
        return max((len(r) for r in self.rates.values()), default=0)

    def scaled(self, factor: float) -> Trace:
        """The trace with every rate times `factor` (exact arrivals are thinned by the seed)."""
        rates = {s: r * factor for s, r in self.rates.items()}
        if self.arrivals is None or factor == 1.0:
            return Trace(self.name, rates, self.arrivals)
        rng = np.random.default_rng(0)
        kept = {s: a[rng.random(len(a)) < factor] for s, a in self.arrivals.items()}
        return Trace(self.name, rates, kept)

    def hours(self, start: int, stop: int) -> Trace:
        rates = {s: r[start * 60 : stop * 60] for s, r in self.rates.items()}
        if self.arrivals is None:
            return Trace(self.name, rates)
        window = {
            s: a[(a >= start * 3600) & (a < stop * 3600)] - start * 3600
            for s, a in self.arrivals.items()
        }
        return Trace(self.name, rates, window)


def reference_trace(seed: int = 0) -> Trace:
    text = (
        importlib.resources.files("murakkab.stdlib")
        .joinpath(f"profiles/traces/{REFERENCE_TRACE}")
        .read_text()
    )
    return parse_trace(SourceFile.of(REFERENCE_TRACE, text), seed)


def load_trace(path: str, sources: dict[str, SourceFile], seed: int = 0) -> Trace:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        span = Span.point("--trace", 1, 1)
        sources["--trace"] = SourceFile.of("--trace", path)
        raise DiagnosticError(
            [Diagnostic.error("MK0903", span, f"cannot read the trace {path}: {error}")]
        ) from None
    source = SourceFile.of(path, text)
    sources[path] = source
    return parse_trace(source, seed)


def parse_trace(source: SourceFile, seed: int = 0) -> Trace:
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(source.text)), start=1)
        if row and not row[0].lstrip().startswith("#")
    ]
    if not rows:
        raise _error(source, 1, 1, "the trace has no header row", "e.g. hour,chat_mean,chat_peak")
    line, header = rows[0]
    header = [h.strip() for h in header]
    body = rows[1:]
    if header[0] == "hour":
        return _hourly(source, header, line, body, seed)
    if header[0] == "minute":
        return _per_minute(source, header, body)
    if header[:2] == ["time_s", "stream"]:
        return _requests(source, body)
    raise _error(
        source,
        line,
        1,
        f"unknown trace form {header[0]!r}",
        "the first column is hour, minute or time_s",
    )


def _hourly(source: SourceFile, header: list[str], line: int, body: list, seed: int) -> Trace:
    streams = [h[: -len("_mean")] for h in header[1:] if h.endswith("_mean")]
    for stream in streams:
        if f"{stream}_peak" not in header:
            raise _error(source, line, 1, f"{stream}_mean has no {stream}_peak column")
    table = _numbers(source, header, body)
    rng = np.random.default_rng(seed)
    rates = {}
    for stream in streams:
        means, peaks = table[f"{stream}_mean"], table[f"{stream}_peak"]
        minutes = np.empty(60 * len(means))
        for hour, (mean, peak) in enumerate(zip(means, peaks, strict=True)):
            peak = max(peak, mean)
            rest = max(0.0, (60 * mean - BURST_MINUTES * peak) / (60 - BURST_MINUTES))
            block = np.full(60, rest)
            start = int(rng.integers(0, 60 - BURST_MINUTES + 1))
            block[start : start + BURST_MINUTES] = peak
            minutes[hour * 60 : hour * 60 + 60] = block
        rates[stream] = minutes
    return Trace(source.name, rates)


def _per_minute(source: SourceFile, header: list[str], body: list) -> Trace:
    table = _numbers(source, header, body)
    return Trace(source.name, {h: np.asarray(table[h], dtype=float) for h in header[1:]})


def _requests(source: SourceFile, body: list) -> Trace:
    times: dict[str, list[float]] = {}
    for line, row in body:
        if len(row) != 2:
            raise _error(source, line, 1, f"expected 2 fields (time_s,stream), found {len(row)}")
        value = _number(source, line, row, 0)
        if value < 0:
            raise _error(source, line, 1, "time_s is negative")
        times.setdefault(row[1].strip(), []).append(value)
    arrivals = {s: np.sort(np.asarray(t)) for s, t in times.items()}
    minutes = int(max((a[-1] for a in arrivals.values()), default=0.0) // 60) + 1
    rates = {
        s: np.bincount((a // 60).astype(int), minlength=minutes).astype(float)
        for s, a in arrivals.items()
    }
    return Trace(source.name, rates, arrivals)


def _numbers(source: SourceFile, header: list[str], body: list) -> dict[str, list[float]]:
    table: dict[str, list[float]] = {h: [] for h in header[1:]}
    for line, row in body:
        if len(row) != len(header):
            raise _error(source, line, 1, f"expected {len(header)} fields, found {len(row)}")
        for index, name in enumerate(header[1:], start=1):
            value = _number(source, line, row, index)
            if value < 0:
                raise _error(source, line, _column(row, index), f"{name} is negative")
            table[name].append(value)
    return table


def _number(source: SourceFile, line: int, row: list[str], index: int) -> float:
    try:
        return float(row[index])
    except ValueError:
        raise _error(
            source, line, _column(row, index), f"expected a number, found {row[index].strip()!r}"
        ) from None


def _column(row: list[str], index: int) -> int:
    return sum(len(cell) + 1 for cell in row[:index]) + 1


def _error(
    source: SourceFile, line: int, column: int, message: str, hint: str | None = None
) -> DiagnosticError:
    span = Span(source.name, line, column, line, column + 1)
    return DiagnosticError(
        [Diagnostic.error("MK0903", span, message, hint=hint)], {source.name: source}
    )
