"""Device strings of the IR (`@cpu`, `@hosted`, `@gpu:a100x4`): one formatter, one parser.

A module of its own, importing nothing heavy, because the runtime and the
emitted plans read device strings too and must not load the cost model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def device_text(device: str, units: int) -> str:
    """The IR's `@device` for a configuration: `cpu`, `hosted`, `gpu:a100x4`."""
    return device if device in ("cpu", "hosted") else f"gpu:{device}x{units}"


@dataclass(frozen=True)
class Device:
    """An IR `@device` taken apart: `cpu`, `hosted`, `gpu`, `gpu:a100`, `gpu:a100x4`."""

    side: str  # "cpu", "gpu" or "hosted"
    gpu_type: str = ""  # "a100"; empty off a GPU or for a bare `gpu` pin
    count: int | None = None  # GPUs; None when the text gives no count


_DEVICE = re.compile(r"gpu(?::([a-z0-9]+?)(?:x(\d+))?)?")


def parse_device(text: str | None) -> Device:
    """The one parser of device strings (the inverse of `device_text`); anything
    that is not a GPU device is taken for what it says (`cpu`, `hosted`)."""
    match = _DEVICE.fullmatch(text or "")
    if match is None:
        return Device(text or "cpu")
    count = match.group(2)
    return Device("gpu", match.group(1) or "", int(count) if count else None)
