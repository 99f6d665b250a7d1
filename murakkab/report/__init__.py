"""The user side of `mkc run`, around the runtime: inputs in; the run directory, report,
schedule chart and progress display out.

| module | concept |
|---|---|
| `settings.py` | the run's settings: flags over a resumed run's `run.json`; the run directory |
| `backend.py` | `--executors` loaded, the backend checked, Ray joined, the plan handed over |
| `assets.py` | the model files the plan needs, assembled first (with progress) |
| `execute.py` | one run executed and recorded: progress events, outputs written, exit status |
| `inputs.py` | `--input NAME=VALUE` read against the workflow's parameter types |
| `rundir.py` | the run directory: what a run writes, what `--resume` reads back |
| `run_report.py` | `build_report`: each op predicted beside measured, the totals, the SLO checks |
| `render.py` | the report as text (report.txt) and as JSON (`--json`) |
| `chart.py` | the schedule chart (Gantt, one lane per device) as PNG and self-contained HTML |
| `progress.py` | the live per-op progress display on stderr (rich) |

docs/run.md describes them for users.
"""

# `mkc run --retries N` (and run.json's "retries"): more would only hide a broken
# implementation for longer.
MAX_RETRIES = 10
