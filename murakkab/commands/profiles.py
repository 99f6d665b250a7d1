"""Placeholder: filled in by its subsystem."""

from __future__ import annotations

from typing import Any


def register(commands: Any, command: Any) -> None:
    """Add this module's subcommands to `mkc`."""
