"""`mkc run`: compile a job, execute its plan, report predicted versus measured (issue #5)."""

from __future__ import annotations

from typing import Any


def register(commands: Any, command: Any) -> None:
    """Placeholder until the run command lands; it registers nothing yet."""
    del commands, command
