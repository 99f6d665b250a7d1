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

The settings, job and plan are written before the run starts (run.json first);
the trace, report and charts after it ends, however it ends. Every file is
replaced whole (written aside, then renamed), so a crash never leaves half of
one. A run is only ever written into a new or empty directory, or into a run
directory of the same job file and workflow (`check_reusable`), whose cache it
then reuses: nothing else is overwritten.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from murakkab.cost.workflow import WorkflowEstimate
from murakkab.plan import Plan
from murakkab.report import MAX_RETRIES
from murakkab.report.chart import render_html, write_png
from murakkab.report.render import render_report
from murakkab.report.run_report import RunReport, build_report
from murakkab.runtime.trace import OpTrace, RunResult
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


# run.json's fields: what each must hold, and whether a run.json may lack it
# (`mkc run` writes them all; the optional ones came later, or are for people).
_TEXT, _TEXTS, _MAYBE_TEXT = "a string", "a list of strings", "a string or null"
_FIELDS: dict[str, tuple[str, bool]] = {
    "file": (_TEXT, True),
    "workflow": (_TEXT, True),
    "inputs": ("an object of input values", False),
    "slo": (_TEXTS, False),
    "assume": (_TEXTS, False),
    "pipeline": (_TEXT, False),
    "cluster": (_MAYBE_TEXT, False),
    "db": (_MAYBE_TEXT, False),
    "backend": ("'local' or 'ray'", False),
    "ray_address": (_MAYBE_TEXT, False),
    "executors": (_MAYBE_TEXT, False),
    "executors_root": (_MAYBE_TEXT, False),
    "retries": (f"a whole number from 0 to {MAX_RETRIES}", False),
    "started": (_TEXT, False),
}


def read_settings(run_dir: Path) -> dict[str, Any]:
    """The settings a run stored, every field checked; ValueError, naming run.json
    and the field, when `run_dir` is not a run directory or its run.json is not
    what `mkc run` writes."""
    path = run_dir / "run.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ValueError(f"not a run directory (cannot read {path}: {reason})") from error
    except ValueError as error:
        raise ValueError(f"{path} is not JSON ({error})") from error
    if not isinstance(stored, dict) or stored.get("format") != RUN_FORMAT:
        raise ValueError(f'{path} is not a run.json of format {RUN_FORMAT} ("format": 1)')
    for name, (expected, required) in _FIELDS.items():
        if name not in stored:
            if required:
                raise ValueError(f"{path} has no '{name}' field ({expected})")
            continue
        if not _valid(name, stored[name]):
            shown = json.dumps(stored[name])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ValueError(f"{path}: '{name}' must be {expected}, not {shown}")
    return stored


def _valid(name: str, value: Any) -> bool:
    expected = _FIELDS[name][0]
    if expected == _TEXT:
        return isinstance(value, str) and (bool(value) or name not in ("file", "workflow"))
    if expected == _MAYBE_TEXT:
        return value is None or isinstance(value, str)
    if expected == _TEXTS:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if name == "inputs":
        return isinstance(value, dict)
    if name == "backend":
        return value in ("local", "ray")
    if name == "retries":
        return type(value) is int and 0 <= value <= MAX_RETRIES
    raise AssertionError(name)


def check_reusable(run_dir: Path, job: Path, workflow: str) -> None:
    """Refuse to write a run into `run_dir` unless it is new, empty, or a run
    directory of the same job file and workflow (whose cache the run then reuses):
    ValueError saying why. Nothing in a directory that is not a run of this job
    is ever overwritten."""
    if not run_dir.exists():
        return
    try:
        entries = sorted(entry.name for entry in run_dir.iterdir())
    except OSError as error:
        raise ValueError(f"cannot list it ({error.strerror or error})") from error
    if not entries or entries == ["job.mk"] and (run_dir / "job.mk").resolve() == job.resolve():
        return  # new, or holding only the job `mkc run --describe` planned for this run
    if "run.json" not in entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise ValueError(
            f"is not empty ({shown}) and is not a run directory (no run.json); its files"
            " would be overwritten: name a new or empty directory"
        )
    stored = read_settings(run_dir)
    ran, now = Path(stored["file"]).resolve(), job.resolve()
    if ran != now and now != (run_dir / "job.mk").resolve():
        raise ValueError(
            f"is a run of {stored['file']}, not of {job}: name a new or empty directory"
            " (or `mkc run --resume` it to run its own job again)"
        )
    if stored["workflow"] != workflow:
        raise ValueError(
            f"is a run of workflow {stored['workflow']}, not {workflow}: name a new or"
            " empty directory"
        )


def prepare(run_dir: Path, plan: Plan, source: Path, settings: dict[str, Any]) -> list[str]:
    """What the run starts from, written before it starts: the settings, the job,
    the plan. Returns notes on what could not be written (plan.py). run.json comes
    first, so that a directory with any file of the run in it is a run directory."""
    stored = {
        **settings,
        "format": RUN_FORMAT,
        "file": str(source.resolve()),
        "workflow": plan.workflow,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    text = json.dumps(stored, indent=1, sort_keys=True, default=str) + "\n"
    write_atomic(run_dir / "run.json", text)
    if source.resolve() != (run_dir / "job.mk").resolve():
        shutil.copyfile(source, run_dir / "job.mk")
    write_atomic(run_dir / "plan.json", plan.to_json() + "\n")
    notes = []
    emitted, why = emit_python(plan)
    if emitted is not None:
        write_atomic(run_dir / "plan.py", emitted)
    else:
        notes.append(f"plan.py not written: {why}")
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
    abandoned: Sequence[OpTrace] = (),
) -> tuple[RunReport, list[str]]:
    """trace.json, report.txt and the charts; the report, and notes on what was skipped.
    `abandoned` are the ops that started and never finished (Ctrl-C): trace.json
    lists them apart, under "abandoned", as {step, op, impl, device, start}."""
    report = build_report(plan, result, estimate, slo, abandoned)
    data = result.as_dict()
    finished = {trace.step for trace in result.traces}
    data["abandoned"] = [
        {"step": t.step, "op": t.op, "impl": t.impl, "device": t.device, "start": t.start}
        for t in abandoned
        if t.step not in finished
    ]
    trace = json.dumps(data, indent=1, default=repr) + "\n"
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
