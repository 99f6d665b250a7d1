"""The description set (examples/descriptions.toml): descriptions for `mkc plan` with
the tasks a person would expect, shared by tests/test_planner.py and bench/planner.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

_TASK = re.compile(r"^\s*task \w+ = ([\w.]+)\(", re.MULTILINE)


def load_cases(path: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
    return cases


def calls(text: str) -> list[str]:
    """What the tasks of a `.mk` file call, in order."""
    return _TASK.findall(text)


def matches(found: list[str], expected: list[str]) -> bool:
    """The same multiset of calls, where an expected "a|b" accepts either."""
    rest = list(found)
    for wanted in expected:
        hit = next((call for call in rest if call in wanted.split("|")), None)
        if hit is None:
            return False
        rest.remove(hit)
    return not rest
