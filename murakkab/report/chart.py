"""The schedule chart of a run: a Gantt chart of ops over time, one lane per device.

A lane is a node's CPUs or one set of GPUs (`run_report.lane_of`); ops that
overlap in a lane get rows of their own. Each op is a filled bar where and
when it ran (colour: ok, cached, fallback, failed) and a dashed outline where
the plan predicted it (placement start, predicted latency). Both charts come
from the same layout: `schedule.png` through matplotlib's Agg canvas (no
display, no pyplot state) and `schedule.html`, an SVG this module writes itself:
self-contained, no scripts, every string escaped.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

from murakkab.report.render import render_report
from murakkab.report.run_report import OpRow, RunReport

COLOURS = {
    "ok": "#4c78a8",
    "cached": "#9d9d9d",
    "fallback": "#f58518",
    "failed": "#e45756",
    "abandoned": "#ffffff",
    "not run": "#ffffff",
}
# A bar narrower than this share of the time axis is drawn this wide, so it stays visible.
MIN_SHARE = 0.004


@dataclass(frozen=True)
class Bar:
    row: OpRow
    y: int  # the chart row, from the top
    measured: tuple[float, float] | None  # start, end in seconds from the run's start
    predicted: tuple[float, float] | None


@dataclass(frozen=True)
class Layout:
    bars: tuple[Bar, ...]
    lanes: tuple[tuple[str, int, int], ...]  # name, first row, rows
    rows: int
    span: float  # seconds the time axis covers


def layout(report: RunReport) -> Layout:
    """Lanes in order of first use; in a lane, each op takes the first row it
    does not overlap (measured or predicted)."""
    by_lane: dict[str, list[OpRow]] = {}
    for row in report.rows:
        by_lane.setdefault(row.lane, []).append(row)
    bars: list[Bar] = []
    lanes: list[tuple[str, int, int]] = []
    top = 0
    for lane, rows in by_lane.items():
        ends: list[float] = []  # per row of the lane: where its last bar ends
        for row in sorted(rows, key=_first):
            measured, predicted = _measured(row), _predicted(row)
            first, last = _extent(measured, predicted)
            slot = next((i for i, end in enumerate(ends) if end <= first), len(ends))
            if slot == len(ends):
                ends.append(last)
            else:
                ends[slot] = last
            bars.append(Bar(row, top + slot, measured, predicted))
        lanes.append((lane, top, max(len(ends), 1)))
        top += max(len(ends), 1)
    ends_at = [end for bar in bars for _, end in filter(None, (bar.measured, bar.predicted))]
    span = max(ends_at + [report.wall_s, 1e-3])
    return Layout(tuple(bars), tuple(lanes), top, span)


def _measured(row: OpRow) -> tuple[float, float] | None:
    if row.start is None or row.end is None:
        return None
    return (row.start, row.end)


def _predicted(row: OpRow) -> tuple[float, float] | None:
    start, latency = row.predicted.get("start_s"), row.predicted.get("latency_s")
    if start is None or latency is None:
        return None
    return (start, start + latency)


def _extent(*intervals: tuple[float, float] | None) -> tuple[float, float]:
    present = [i for i in intervals if i is not None]
    if not present:
        return (0.0, 0.0)
    return (min(i[0] for i in present), max(i[1] for i in present))


def _first(row: OpRow) -> float:
    return _extent(_measured(row), _predicted(row))[0]


def _width(interval: tuple[float, float], span: float) -> float:
    return max(interval[1] - interval[0], span * MIN_SHARE)


def ticks(span: float, most: int = 8) -> list[float]:
    """Round tick positions from 0 covering `span`."""
    step = 10 ** math.floor(math.log10(span / most)) if span > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= most:
            step *= factor
            break
    count = int(span / step + 1e-9) + 1
    return [round(i * step, 12) for i in range(count)]


def _title(report: RunReport) -> str:
    return f"{report.workflow}: {report.status}, {report.wall_s:.4g} s measured"


def _tooltip(bar: Bar) -> str:
    row = bar.row
    parts = [f"{row.step} ({row.op}, {row.impl or 'no impl'}) on {row.device}: {row.status}"]
    if bar.measured is not None:
        start, end = bar.measured
        parts.append(f"measured {end - start:.4g} s from {start:.4g} s")
    if bar.predicted is not None:
        start, end = bar.predicted
        parts.append(f"predicted {end - start:.4g} s from {start:.4g} s")
    if row.error:
        parts.append(row.error)
    return "; ".join(parts)


# ---- PNG -----------------------------------------------------------------------------------


def write_png(report: RunReport, path: Path) -> str | None:
    """Draw the chart to `path`; returns why it did not, when matplotlib is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch, Rectangle
    except ImportError:
        return "schedule.png skipped: matplotlib is not installed (pip install matplotlib)"
    chart = layout(report)
    rows = max(chart.rows, 1)
    figure = Figure(figsize=(11, 1.6 + 0.32 * rows), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for bar in chart.bars:
        colour = COLOURS.get(bar.row.status, COLOURS["ok"])
        if bar.measured is not None:
            axes.add_patch(
                Rectangle(
                    (bar.measured[0], bar.y + 0.2),
                    _width(bar.measured, chart.span),
                    0.6,
                    facecolor=colour,
                    edgecolor=colour,
                )
            )
        if bar.predicted is not None:
            axes.add_patch(
                Rectangle(
                    (bar.predicted[0], bar.y + 0.1),
                    _width(bar.predicted, chart.span),
                    0.8,
                    fill=False,
                    edgecolor="#333333",
                    linestyle="--",
                    linewidth=0.9,
                )
            )
        axes.text(
            (bar.measured or bar.predicted or (0.0, 0.0))[0],
            bar.y + 0.5,
            " " + bar.row.step,
            va="center",
            fontsize=7,
            clip_on=True,
        )
    axes.set_xlim(0, chart.span * 1.02)
    axes.set_ylim(rows, 0)
    axes.set_yticks([first + count / 2 for _, first, count in chart.lanes])
    axes.set_yticklabels([name for name, _, _ in chart.lanes], fontsize=8)
    for _, first, _ in chart.lanes[1:]:
        axes.axhline(first, color="#cccccc", linewidth=0.6)
    axes.set_xlabel("seconds from the start of the run")
    axes.set_title(_title(report), fontsize=10)
    handles = [
        Patch(facecolor=COLOURS[s], edgecolor=COLOURS[s], label=f"measured: {s}")
        for s in ("ok", "cached", "fallback", "failed")
    ]
    handles.append(Patch(fill=False, edgecolor="#333333", linestyle="--", label="predicted"))
    axes.legend(
        handles=handles,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14 - 0.3 / rows),
        ncol=len(handles),
        frameon=False,
    )
    figure.savefig(path, format="png", bbox_inches="tight")
    return None


# ---- HTML ----------------------------------------------------------------------------------

_ROW = 24
_LEFT = 220
_WIDTH = 1000
_TOP = 30


def render_html(report: RunReport) -> str:
    """A self-contained page: the chart as inline SVG, then the text report."""
    chart = layout(report)
    plot = _WIDTH - _LEFT - 20
    scale = plot / (chart.span * 1.02)
    height = _TOP + max(chart.rows, 1) * _ROW + 40
    e = html.escape
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}"'
        f' viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{e(_title(report))}">'
    ]
    for index, (name, first, count) in enumerate(chart.lanes):
        y = _TOP + first * _ROW
        svg.append(
            f'<rect x="0" y="{y}" width="{_WIDTH}" height="{count * _ROW}"'
            f' class="lane{index % 2}"/>'
        )
        svg.append(
            f'<text x="{_LEFT - 8}" y="{y + count * _ROW / 2 + 4:.1f}" text-anchor="end"'
            f' class="label">{e(name)}</text>'
        )
    axis_y = _TOP + max(chart.rows, 1) * _ROW
    for tick in ticks(chart.span * 1.02):
        x = _LEFT + tick * scale
        if x > _WIDTH - 10:
            break
        svg.append(f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{axis_y}" class="grid"/>')
        svg.append(f'<text x="{x:.1f}" y="{axis_y + 16}" class="tick">{tick:g}</text>')
    svg.append(
        f'<text x="{_LEFT + plot / 2:.1f}" y="{axis_y + 34}" class="tick">'
        "seconds from the start of the run</text>"
    )
    for bar in chart.bars:
        svg.extend(_svg_bar(bar, chart.span, scale))
    svg.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{COLOURS[s]}"></span>'
        f"measured: {s}</span>"
        for s in ("ok", "cached", "fallback", "failed")
    )
    legend += '<span class="key"><span class="swatch outline"></span>predicted</span>'
    return _PAGE.format(
        title=e(f"mkc run: {_title(report)}"),
        heading=e(_title(report)),
        legend=legend,
        svg="\n".join(svg),
        report=e(render_report(report)),
    )


def _svg_bar(bar: Bar, span: float, scale: float) -> list[str]:
    y = _TOP + bar.y * _ROW
    colour = COLOURS.get(bar.row.status, COLOURS["ok"])
    tip = html.escape(_tooltip(bar))
    out = [f"<g><title>{tip}</title>"]
    if bar.measured is not None:
        x = _LEFT + bar.measured[0] * scale
        width = _width(bar.measured, span) * scale
        out.append(
            f'<rect x="{x:.1f}" y="{y + 5}" width="{width:.1f}" height="{_ROW - 10}"'
            f' fill="{colour}"/>'
        )
    if bar.predicted is not None:
        x = _LEFT + bar.predicted[0] * scale
        width = _width(bar.predicted, span) * scale
        out.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{_ROW - 4}"'
            ' class="predicted"/>'
        )
    start = (bar.measured or bar.predicted or (0.0, 0.0))[0]
    out.append(
        f'<text x="{_LEFT + start * scale + 3:.1f}" y="{y + _ROW / 2 + 4:.1f}"'
        f' class="step">{html.escape(bar.row.step)}</text>'
    )
    out.append("</g>")
    return out


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
.lane0 {{ fill: #f7f7f7; }} .lane1 {{ fill: #ffffff; }}
.label {{ font-size: 12px; }} .tick {{ font-size: 11px; fill: #555; text-anchor: middle; }}
.grid {{ stroke: #dddddd; stroke-width: 1; }}
.predicted {{ fill: none; stroke: #333333; stroke-dasharray: 4 3; stroke-width: 1; }}
.step {{ font-size: 11px; fill: #111; }}
.key {{ margin-right: 1.2em; font-size: 13px; }}
.swatch {{ display: inline-block; width: 14px; height: 10px; margin-right: 4px; }}
.outline {{ border: 1px dashed #333333; }}
pre {{ font-size: 12px; background: #f7f7f7; padding: 1em; overflow-x: auto; }}
</style>
</head>
<body>
<h1 style="font-size: 1.2em">{heading}</h1>
<p>{legend}</p>
{svg}
<pre>{report}</pre>
</body>
</html>
"""
