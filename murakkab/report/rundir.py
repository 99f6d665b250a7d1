"""The run directory: what a run of `mkc run` keeps, and what `--resume` reads back.

    runs/<YYYYmmdd-HHMMSS>-<workflow>/
        job.mk         the job file as it was run
        run.json       settings and inputs (what --resume reuses)
        plan.json      the plan that ran (murakkab/plan.py)
        plan.py        the same plan as standalone Python (when the python backend is there)
        cache/         the runtime's content-addressed result cache
        trace.json     RunResult.as_dict(): one entry per op, partial when the run stopped
        report.txt     predicted vs measured, the totals, the SLO checks
        schedule.png   the schedule chart (needs matplotlib)
        schedule.html  the same chart, self-contained

The job, plan and settings are written before the run starts; the trace,
report and charts after it ends, however it ends. Every file is replaced
whole (written aside, then renamed), so a crash never leaves half of one.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from murakkab.cost.workflow import WorkflowEstimate
from murakkab.plan import Plan
from murakkab.report.chart import render_html, write_png
from murakkab.report.render import render_report
from murakkab.report.run_report import RunReport, build_report
from murakkab.runtime.trace import RunResult
from murakkab.slo import SloSpec

RUN_FORMAT = 1
RUNS = Path("runs")


def new_run_dir(workflow: str, base: Path = RUNS) -> Path:
    """A fresh `base/<time>-<workflow>` (with `-2`, `-3` ... when taken)."""
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{workflow}"
    for suffix in ("", *(f"-{n}" for n in range(2, 1000))):
        path = base / (stem + suffix)
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{base / stem}: too many runs in one second")


def read_settings(run_dir: Path) -> dict[str, Any]:
    """The settings a run stored; ValueError when `run_dir` is not a run directory."""
    try:
        stored = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"not a run directory (cannot read run.json: {error})") from error
    if not isinstance(stored, dict) or stored.get("format") != RUN_FORMAT:
        raise ValueError(f"run.json is not of format {RUN_FORMAT}")
    return stored


def prepare(run_dir: Path, plan: Plan, source: Path, settings: dict[str, Any]) -> list[str]:
    """What the run starts from, written before it starts: the job, the plan, the
    settings. Returns notes on what could not be written (plan.py)."""
    if source.resolve() != (run_dir / "job.mk").resolve():
        shutil.copyfile(source, run_dir / "job.mk")
    write_atomic(run_dir / "plan.json", plan.to_json() + "\n")
    notes = []
    emitted, why = emit_python(plan)
    if emitted is not None:
        write_atomic(run_dir / "plan.py", emitted)
    else:
        notes.append(f"plan.py not written: {why}")
    stored = {
        **settings,
        "format": RUN_FORMAT,
        "file": str(source.resolve()),
        "workflow": plan.workflow,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    text = json.dumps(stored, indent=1, sort_keys=True, default=str) + "\n"
    write_atomic(run_dir / "run.json", text)
    (run_dir / "cache").mkdir(exist_ok=True)
    return notes


def emit_python(plan: Plan) -> tuple[str | None, str]:
    """The Python backend's `plan.py`, or why there is none. The run does not
    depend on it, so no failure here stops a run."""
    try:
        from murakkab.backends import emit
    except ImportError as error:
        return None, f"the plan backends are not installed ({error})"
    try:
        return emit(plan, "python"), ""
    except ImportError as error:
        return None, f"the python backend is not available ({error})"
    except Exception as error:  # noqa: BLE001 - plan.py is a by-product of the run
        return None, f"the python backend failed: {type(error).__name__}: {error}"


def write_outputs(
    run_dir: Path,
    plan: Plan,
    result: RunResult,
    estimate: WorkflowEstimate | None,
    slo: SloSpec | None,
) -> tuple[RunReport, list[str]]:
    """trace.json, report.txt and the charts; the report, and notes on what was skipped."""
    report = build_report(plan, result, estimate, slo)
    trace = json.dumps(result.as_dict(), indent=1, default=repr) + "\n"
    write_atomic(run_dir / "trace.json", trace)
    write_atomic(run_dir / "report.txt", render_report(report))
    write_atomic(run_dir / "schedule.html", render_html(report))
    aside = run_dir / ".schedule.png.tmp"
    skipped = write_png(report, aside)
    if skipped is not None:
        return report, [skipped]
    aside.replace(run_dir / "schedule.png")
    return report, []


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` whole, so a failure never leaves half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
