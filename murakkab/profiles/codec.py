"""Profiles as plain data (the entries of TOML/JSON files and of store rows), validated.

`to_data` and `from_data` are inverse: `from_data(kind_of(p), to_data(p), ...) == p`.
`from_data` checks every field and reports each problem at the field it concerns
(MK0702), so a bad file names the file, the line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from murakkab.diagnostics import DiagnosticBag
from murakkab.profiles.schema import (
    ConfigValue,
    CurvePoint,
    ModelProfile,
    Origin,
    Profile,
    ToolProfile,
    WorkflowProfile,
)
from murakkab.source import Span

KINDS = ("model", "workflow", "tool")
ORIGINS = ("prior", "measured")
TOOL_UNITS = ("video_s", "frame", "audio_s", "call", "item")
UNHOSTED = ("cpu", "hosted")  # devices without tensor parallelism: tp = 0
BAD_ENTRY = "MK0702"

# Where a field of the entry being decoded is written: None names the entry itself.
Locate = Callable[[str | None], Span]

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_IMPL = re.compile(r"[a-z0-9][a-z0-9._:-]*\Z")  # "faster-whisper:whisper-base"
_CAPABILITY = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\Z")
_CLASSES: dict[str, type] = {
    "model": ModelProfile,
    "workflow": WorkflowProfile,
    "tool": ToolProfile,
}


def kind_of(profile: Profile) -> str:
    if isinstance(profile, ModelProfile):
        return "model"
    if isinstance(profile, WorkflowProfile):
        return "workflow"
    return "tool"


def to_data(profile: Profile) -> dict[str, Any]:
    """A JSON- and TOML-ready dict; optional fields that are None are left out."""
    data: dict[str, Any] = {}
    for spec in fields(profile):
        value = getattr(profile, spec.name)
        if value is None:
            continue
        if spec.name == "points":
            value = [
                {"load_tps": p.load_tps, "tpot_s": p.tpot_s, "ttft_s": p.ttft_s} for p in value
            ]
        elif spec.name == "config":
            value = dict(value)
        data[spec.name] = value
    return data


def from_data(
    kind: str, data: Mapping[str, Any], origin: Origin, locate: Locate, bag: DiagnosticBag
) -> Profile | None:
    """The profile an entry describes, or None after adding its problems to `bag`.

    `origin` is what the entry becomes (shipped priors are "prior", imports
    "measured"); an `origin` written in the entry is checked, then replaced.
    """
    check = _Checker(data, locate, bag)
    allowed = {spec.name for spec in fields(_CLASSES[kind])}
    for name in sorted(set(data) - allowed):
        check.fail(name, f"unknown field '{name}' in a {kind} profile", _fields_note(allowed))
    if "origin" in data and data["origin"] not in ORIGINS:
        check.fail("origin", f"origin must be one of {', '.join(ORIGINS)}")
    source = check.text("source")
    if kind == "model":
        profile: Profile | None = _model(check, origin, source)
    elif kind == "workflow":
        profile = _workflow(check, origin, source)
    else:
        profile = _tool(check, origin, source)
    return None if check.failed else profile


def _model(check: _Checker, origin: Origin, source: str) -> ModelProfile | None:
    device = check.name("device")
    tp = check.integer("tp", minimum=0)
    if device in UNHOSTED and tp not in (0, -1):
        check.fail("tp", f"a {device} model has no tensor parallelism: write tp = 0")
    if device not in UNHOSTED and tp == 0:
        check.fail("tp", "a GPU model needs tp >= 1 (the GPUs of one instance)")
    points = _points(check)
    saturation = check.number("saturation_tps", positive=True)
    if points and saturation < points[-1].load_tps:
        check.fail("saturation_tps", "saturation_tps is below the load of the last curve point")
    return ModelProfile(
        model=check.name("model"),
        device=device,
        tp=tp,
        points=points,
        saturation_tps=saturation,
        tokens_per_wh=check.optional("tokens_per_wh", positive=True),
        price_per_million_tokens=check.optional("price_per_million_tokens"),
        rate_limit_tps=check.optional("rate_limit_tps", positive=True),
        memory_gb=check.optional("memory_gb", positive=True),
        origin=origin,
        source=source,
    )


def _points(check: _Checker) -> tuple[CurvePoint, ...]:
    raw = check.data.get("points")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, Mapping) for p in raw):
        check.fail("points", "points must be a non-empty list of {load_tps, tpot_s, ttft_s}")
        return ()
    points = []
    for number, point in enumerate(raw, 1):
        values = [point.get(name) for name in ("load_tps", "tpot_s", "ttft_s")]
        if set(point) != {"load_tps", "tpot_s", "ttft_s"} or not all(
            _is_number(v) and v >= 0 for v in values
        ):
            check.fail("points", f"point {number} needs exactly load_tps, tpot_s, ttft_s >= 0")
            return ()
        points.append(CurvePoint(float(values[0]), float(values[1]), float(values[2])))
    loads = [p.load_tps for p in points]
    if loads != sorted(set(loads)):
        check.fail("points", "points must be sorted by strictly increasing load_tps")
    return tuple(points)


def _workflow(check: _Checker, origin: Origin, source: str) -> WorkflowProfile | None:
    quality = check.number("quality")
    if not 0 <= quality <= 1:
        check.fail("quality", f"quality is a fraction in [0, 1], not {quality:g}")
    tokens = [check.optional(f"tokens_{p}") for p in ("p50", "p90", "p99")]
    given = [t for t in tokens if t is not None]
    if given != sorted(given):
        check.fail("tokens_p90", "token percentiles must grow: tokens_p50 <= p90 <= p99")
    return WorkflowProfile(
        workflow=check.name("workflow"),
        config=_config(check),
        quality=quality,
        tokens_p50=tokens[0],
        tokens_p90=tokens[1],
        tokens_p99=tokens[2],
        origin=origin,
        source=source,
    )


def _config(check: _Checker) -> tuple[tuple[str, ConfigValue], ...]:
    raw = check.data.get("config")
    if not isinstance(raw, Mapping) or not raw:
        check.fail("config", "config must be a non-empty table of knob = value")
        return ()
    for name, value in raw.items():
        if not _NAME.match(str(name)) or not isinstance(value, str | int | float | bool):
            check.fail("config", f"knob '{name}' needs a name and a string, number or boolean")
            return ()
    return tuple(sorted((str(name), value) for name, value in raw.items()))


def _tool(check: _Checker, origin: Origin, source: str) -> ToolProfile | None:
    executor = check.text("executor")
    if executor and not _CAPABILITY.match(executor):
        check.fail(
            "executor", f"executor '{executor}' is not a capability name like video.scene_detect"
        )
    unit = check.text("unit")
    if unit and unit not in TOOL_UNITS:
        check.fail("unit", f"unknown unit '{unit}'", f"units are {', '.join(TOOL_UNITS)}")
    return ToolProfile(
        executor=executor,
        impl=check.name("impl", _IMPL),
        device=check.name("device"),
        unit=unit,
        seconds_per_unit=check.number("seconds_per_unit"),
        fixed_s=check.number("fixed_s"),
        cores=check.integer("cores", minimum=1),
        origin=origin,
        source=source,
    )


class _Checker:
    """Reads typed fields of one entry; each problem becomes a located MK0702."""

    def __init__(self, data: Mapping[str, Any], locate: Locate, bag: DiagnosticBag):
        self.data, self.locate, self.bag = data, locate, bag
        self.failed = False

    def fail(self, field: str, message: str, *notes: str) -> None:
        self.failed = True
        span = self.locate(field if field in self.data else None)
        self.bag.error(BAD_ENTRY, span, message, *notes)

    def _present(self, field: str) -> Any:
        if field not in self.data:
            self.fail(field, f"missing field '{field}'")
        return self.data.get(field)

    def text(self, field: str) -> str:
        value = self._present(field)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.fail(field, f"{field} must be a non-empty string")
        return value if isinstance(value, str) else ""

    def name(self, field: str, pattern: re.Pattern[str] = _NAME) -> str:
        value = self.text(field)
        if value and not pattern.match(value):
            self.fail(field, f"{field} '{value}' must be lower case: letters, digits, . _ -")
        return value

    def number(self, field: str, positive: bool = False) -> float:
        value = self._present(field)
        return 0.0 if value is None else self._checked(field, value, positive)

    def optional(self, field: str, positive: bool = False) -> float | None:
        value = self.data.get(field)
        return None if value is None else self._checked(field, value, positive)

    def _checked(self, field: str, value: Any, positive: bool) -> float:
        if not _is_number(value) or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            self.fail(field, f"{field} must be a number {bound}, not {value!r}")
            return 0.0
        return float(value)

    def integer(self, field: str, minimum: int) -> int:
        value = self._present(field)
        if value is None:
            return -1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(field, f"{field} must be a whole number >= {minimum}, not {value!r}")
            return -1
        return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _fields_note(allowed: set[str]) -> str:
    return "fields are " + ", ".join(sorted(allowed))
