"""Charts and an HTML page comparing the fleet policies `mkc simulate` ran over one trace.

`fleet.png` shows what each policy held minute by minute (stacked by model/gpu
or executor/gpu group), `policies.png` what it cost, and `report.html` puts the
numbers in tables next to both. The PNGs go through matplotlib's Agg canvas (no
display, no pyplot state), as `murakkab.report.chart` does; the page is written
here, self-contained (no scripts, no external resources, every string escaped),
and carries an SVG of its own so it still shows the fleet where matplotlib is
missing.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
from murakkab.backends.sim.result import PolicyResult

from murakkab.report.chart import ticks

# Colour-blind-friendly (Tableau 10); a group keeps its colour in every subplot.
PALETTE = tuple(
    "#4c78a8 #f58518 #e45756 #72b7b2 #54a24b #eeca3b #b279a2 #ff9da6 #9d755d #bab0ac".split()
)
BASELINE = "static"  # the policy the others are measured against


def group_colours(results: list[PolicyResult]) -> dict[str, str]:
    """One colour per group across all policies, so a group reads the same everywhere."""
    groups = sorted({g for r in results for g in r.gpus_by_group})
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}


def ratio(base: float, value: float) -> str:
    """How many times fewer `value` needs than the baseline: base / value as "2.5x"."""
    return f"{base / value:.1f}x" if value > 0 else "-"


def _num(value: float) -> str:
    """Whole numbers once large, three significant figures below 100 (0.84 kWh stays 0.84)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _hours(minutes: int) -> np.ndarray:
    return np.arange(minutes) / 60.0


# ---- PNG -----------------------------------------------------------------------------------


def write_fleet_png(results: list[PolicyResult], path: Path) -> str | None:
    """One row per policy, GPUs held per minute stacked by group, on one shared hour axis."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return "fleet.png skipped: matplotlib is not installed (pip install matplotlib)"
    colours = group_colours(results)
    rows = max(len(results), 1)
    figure = Figure(figsize=(11, 0.6 + 2.0 * rows), dpi=110)
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    top = max([r.peak_gpus for r in results] + [1])
    for axes, result in zip(axes_list, results):
        groups = sorted(result.gpus_by_group)
        if groups:
            axes.stackplot(
                _hours(result.minutes),
                *[result.gpus_by_group[g] for g in groups],
                colors=[colours[g] for g in groups],
                step="post",
                linewidth=0,
            )
        axes.set_title(f"{result.policy}: peak {result.peak_gpus} GPUs", fontsize=9)
        axes.set_ylabel("GPUs", fontsize=8)
        axes.set_ylim(0, top * 1.08)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(labelsize=7)
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    span = max([r.minutes for r in results] + [1]) / 60.0
    axes_list[-1].set_xlim(0, span)
    axes_list[-1].set_xticks(ticks(span, most=12))
    axes_list[-1].set_xlabel("hours into the trace", fontsize=8)
    figure.legend(
        handles=[Patch(facecolor=c, label=g) for g, c in colours.items()],
        fontsize=7,
        loc="lower center",
        ncol=min(len(colours), 4) or 1,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0.03 + 0.06 * ((len(colours) + 3) // 4) / rows, 1, 1))
    figure.savefig(path, format="png")
    return None


def write_policies_png(results: list[PolicyResult], path: Path) -> str | None:
    """Cost and energy per policy side by side; SLO attainment under each policy's name."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return "policies.png skipped: matplotlib is not installed (pip install matplotlib)"
    figure = Figure(figsize=(10, 3.8), dpi=110)
    FigureCanvasAgg(figure)
    cost_axes, energy_axes = figure.subplots(1, 2)
    labels = [f"{r.policy}\n{100 * r.slo_attainment:.1f}% SLO" for r in results]
    x = np.arange(len(results))
    charts = (
        (cost_axes, [r.cost_usd for r in results], "cost (USD)", "#4c78a8", "$"),
        (energy_axes, [r.energy_kwh for r in results], "energy (kWh)", "#54a24b", ""),
    )
    for axes, values, name, colour, unit in charts:
        bars = axes.bar(x, values, color=colour, width=0.6)
        axes.bar_label(bars, labels=[unit + _num(v) for v in values], fontsize=7, padding=2)
        axes.set_xticks(x)
        axes.set_xticklabels(labels, fontsize=8)
        axes.set_title(name, fontsize=10)
        axes.set_ylim(0, max(values + [1e-9]) * 1.15)
        axes.tick_params(axis="y", labelsize=7)
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return None


# ---- HTML ----------------------------------------------------------------------------------

_W, _H, _LEFT, _TOP, _BOTTOM = 1000, 320, 60, 20, 50


def render_svg(results: list[PolicyResult]) -> str:
    """Total GPUs per minute, one line per policy: the fleet chart that needs no matplotlib."""
    e = html.escape
    span = max([r.minutes for r in results] + [1]) / 60.0
    top = max([r.peak_gpus for r in results] + [1]) * 1.08
    plot_w, plot_h = _W - _LEFT - 20, _H - _TOP - _BOTTOM
    base = _TOP + plot_h

    def xy(hour: float, gpus: float) -> str:
        return f"{_LEFT + hour / span * plot_w:.1f},{base - gpus / top * plot_h:.1f}"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}"'
        f' viewBox="0 0 {_W} {_H}" role="img" aria-label="GPUs held per minute, by policy">'
    ]
    for tick in ticks(top, most=6):
        y = base - tick / top * plot_h
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - 20}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick:g}</text>'
        )
    for tick in ticks(span, most=12):
        x = _LEFT + tick / span * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{base}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{base + 16}" class="tick">{tick:g}</text>')
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{base + 34}" class="tick">'
        "hours into the trace</text>"
    )
    out.append(
        f'<text x="14" y="{_TOP + plot_h / 2:.1f}" class="tick"'
        f' transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">GPUs</text>'
    )
    for index, result in enumerate(results):
        colour = PALETTE[index % len(PALETTE)]
        hours, total = _hours(result.minutes), result.gpus()
        points = " ".join(xy(float(h), float(g)) for h, g in zip(hours, total))
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}"'
            f' stroke-width="1.5"><title>{e(result.policy)}</title></polyline>'
        )
    out.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:'
        f'{PALETTE[i % len(PALETTE)]}"></span>{e(r.policy)}: peak {r.peak_gpus}</span>'
        for i, r in enumerate(results)
    )
    return f"<p>{legend}</p>\n" + "\n".join(out)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A table of already formatted cells; escapes them all here, in one place."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>"


def _summary(results: list[PolicyResult]) -> str:
    base = next((r for r in results if r.policy == BASELINE), None)
    header = ["policy", "peak GPUs", "GPU-hours", "energy kWh", "cost USD", "SLO attainment"]
    if base is not None:
        header += [f"GPUs vs {BASELINE}", f"energy vs {BASELINE}", f"cost vs {BASELINE}"]
    rows = []
    for r in results:
        row = [
            r.policy,
            str(r.peak_gpus),
            f"{r.gpu_hours:,.1f}",
            f"{r.energy_kwh:,.1f}",
            f"{r.cost_usd:,.2f}",
            f"{100 * r.slo_attainment:.1f}%",
        ]
        if base is not None:
            row += [
                ratio(base.peak_gpus, r.peak_gpus),
                ratio(base.energy_kwh, r.energy_kwh),
                ratio(base.cost_usd, r.cost_usd),
            ]
        rows.append(row)
    if base is None:
        return _table(header, rows)
    note = (
        f"<p>Ratios are {BASELINE}'s value over the policy's (2.5x: the policy needs"
        f" 2.5 times less than {BASELINE}).</p>\n"
    )
    return note + _table(header, rows)


def _classes(results: list[PolicyResult]) -> str:
    header = "policy|class|requests|met %|unserved|p50 s|p90 s|p99 s|bound s".split("|")
    rows = [
        [
            r.policy,
            name,
            str(c.requests),
            f"{100 * c.attainment:.1f}%",
            str(c.unserved),
            f"{c.p50_s:.3g}",
            f"{c.p90_s:.3g}",
            f"{c.p99_s:.3g}",
            "-" if c.bound_s is None else f"{c.bound_s:g}",
        ]
        for r in results
        for name, c in sorted(r.classes.items())
    ]
    return _table(header, rows)


def _notes(results: list[PolicyResult]) -> str:
    e = html.escape
    out = []
    for r in results:
        facts = (
            f"{r.plans} plans ({r.replans} early re-plans), {r.scale_events} scale events,"
            f" {r.plan_s:.2f} s planning, {r.simulate_s:.2f} s simulating"
        )
        items = "".join(f"<li>{e(n)}</li>" for n in [facts, *r.notes])
        out.append(f"<h3>{e(r.policy)}</h3>\n<ul>{items}</ul>")
    return "\n".join(out)


def _images(images: dict[str, str]) -> str:
    """Each PNG inlined as a data URI, so the page is one file that travels alone."""
    e = html.escape
    out = []
    for caption, name in images.items():
        path = Path(name)
        if not path.is_file():
            out.append(f"<p>{e(caption)}: not drawn ({e(str(path))} is missing).</p>")
            continue
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}">'
            f"<figcaption>{e(caption)}</figcaption></figure>"
        )
    return "\n".join(out)


def render_html(results: list[PolicyResult], title: str, images: dict[str, str]) -> str:
    """The whole comparison as one self-contained page: tables, an SVG and the PNGs."""
    return _PAGE.format(
        title=html.escape(title),
        summary=_summary(results),
        classes=_classes(results),
        svg=render_svg(results),
        images=_images(images),
        notes=_notes(results),
    )


def write_report(results: list[PolicyResult], out_dir: Path, title: str) -> list[Path]:
    """fleet.png, policies.png (where matplotlib is installed) and report.html in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    images: dict[str, str] = {}
    skipped: list[str] = []
    for name, caption, draw in (
        ("fleet.png", "GPUs held per minute, by group", write_fleet_png),
        ("policies.png", "cost and energy per policy", write_policies_png),
    ):
        path = out_dir / name
        why = draw(results, path)
        if why is None:
            written.append(path)
            images[caption] = str(path)
        else:
            skipped.append(why)
    page = render_html(results, title, images)
    if skipped:
        page = page.replace(
            "</body>", "".join(f"<p>{html.escape(s)}</p>\n" for s in skipped) + "</body>"
        )
    report = out_dir / "report.html"
    report.write_text(page, encoding="utf-8")
    written.append(report)
    return written


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; margin-bottom: 1em; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
th:first-child, td:first-child, td:nth-child(2) {{ text-align: left; }}
.tick {{ font-size: 11px; fill: #555; text-anchor: middle; }}
.grid {{ stroke: #eeeeee; stroke-width: 1; }}
.key {{ margin-right: 1.2em; font-size: 13px; }}
.swatch {{ display: inline-block; width: 14px; height: 10px; margin-right: 4px; }}
img {{ max-width: 100%; }} figcaption {{ font-size: 12px; color: #555; }}
</style>
</head>
<body>
<h1 style="font-size: 1.2em">{title}</h1>
<h2 style="font-size: 1em">Policies</h2>
{summary}
<h2 style="font-size: 1em">SLO classes</h2>
{classes}
<h2 style="font-size: 1em">GPUs held per minute</h2>
{svg}
{images}
<h2 style="font-size: 1em">Notes</h2>
{notes}
</body>
</html>
"""
