"""The `python` backend: a plan as a standalone, readable `plan.py` (docs/backends.md).

The emitted file needs only murakkab installed: each op is a function that
runs its step through `invoke_step`, `workflow` wires the data flow with
futures (murakkab/backends/support.py), `main` reads `--input NAME=VALUE`.
"""

from __future__ import annotations

from murakkab.backends import render
from murakkab.backends.view import plan_view

from murakkab.plan import Plan


def emit_python(plan: Plan) -> str:
    """The source of `plan.py`: run it with `python plan.py --input NAME=VALUE`."""
    return render("python/plan.py.j2", plan_view(plan))
