"""Optimisation passes, one per file; `REGISTRY` is the explicit, ordered, lazy list.

Each entry maps the pass name (kebab-case, also its golden test's name) to
`module:Class`; the module is imported only when the pass is used.
"""

from __future__ import annotations

REGISTRY: dict[str, str] = {
    "dead-task-elimination": "murakkab.passes.dead_task_elimination:DeadTaskEliminationPass",
}
