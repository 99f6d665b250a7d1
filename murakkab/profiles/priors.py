"""Profile files: the shipped priors (`stdlib/profiles/*.toml`) and files users import.

A profile file is TOML or JSON with one array per kind, `model`, `workflow` and
`tool`, each entry a profile (see murakkab.profiles.codec and docs/profiles.md).
The shipped `workflows.toml` also holds the published SLO tiers, `[[tier]]`.
Every problem is reported where it is: MK0701 for text that does not parse
(line and column), MK0702 for a bad entry (the line of its key), MK0703 for
two entries with the same key.
"""

from __future__ import annotations

import functools
import json
import json.decoder
import json.scanner
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import murakkab.stdlib
from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError
from murakkab.frontend.parse import read_source
from murakkab.profiles.codec import BAD_ENTRY, KINDS, Locate, from_data
from murakkab.profiles.schema import Origin, Profile
from murakkab.source import SourceFile, Span, display_name

PRIORS_DIR = Path(murakkab.stdlib.__file__).resolve().parent / "profiles"
PRIOR_FILES = ("models.toml", "workflows.toml", "tools.toml")
PARSE_ERROR, DUPLICATE = "MK0701", "MK0703"
FORMAT_NAME, FORMAT_VERSION = "murakkab-profiles", 1
TIER_FIELDS = ("workflow", "metric", "best", "good", "fair", "basic", "source")


@dataclass(frozen=True)
class PublishedTiers:
    """A row of the reference's SLO-tier table: quality as a fraction, latency in s."""

    workflow: str
    metric: str  # "quality" or "latency"
    best: float
    good: float
    fair: float
    basic: float
    source: str


@dataclass(frozen=True)
class ProfileFile:
    profiles: tuple[Profile, ...]
    tiers: tuple[PublishedTiers, ...] = ()


def read_profile_file(path: Path, origin: Origin, name: str | None = None) -> ProfileFile:
    """Read and validate a whole profile file, or raise every located problem at once."""
    shown = name if name is not None else display_name(path)
    return parse_profile_text(read_source(path, shown), origin)


def parse_profile_text(
    source: SourceFile, origin: Origin, allow_tiers: bool = False
) -> ProfileFile:
    bag = DiagnosticBag()
    sources = {source.name: source}
    if _is_json(source):
        data, locate_entry, locate_top = _load_json(source, sources)
    else:
        data, locate_entry, locate_top = _load_toml(source, sources)
    sections = KINDS + ("tier",) if allow_tiers else KINDS
    for key in sorted(set(data) - set(sections) - {"format", "version"}):
        message = f"unknown section '{key}'; a profile file has {', '.join(KINDS)}"
        bag.error(BAD_ENTRY, locate_top(key), message)
    if "version" in data and data["version"] != FORMAT_VERSION:
        message = f"format version {data['version']!r}; this mkc reads version {FORMAT_VERSION}"
        bag.error(BAD_ENTRY, locate_top("version"), message)
    profiles: list[Profile] = []
    seen: dict[str, Span] = {}
    for kind in KINDS:
        for index, entry in enumerate(_entries(data, kind, locate_top, bag)):
            locate = locate_entry(kind, index, entry)
            profile = from_data(kind, entry, origin, locate, bag)
            if profile is None:
                continue
            if profile.key in seen:
                first = seen[profile.key]
                note = f"first defined at {first}"
                bag.error(DUPLICATE, locate(None), f"two profiles with key {profile.key}", note)
            seen.setdefault(profile.key, locate(None))
            profiles.append(profile)
    tiers = (
        [
            _tier(entry, locate_entry("tier", i, entry), bag)
            for i, entry in enumerate(_entries(data, "tier", locate_top, bag))
        ]
        if allow_tiers
        else []
    )
    if bag.has_errors:
        raise DiagnosticError(bag.items, sources)
    return ProfileFile(tuple(profiles), tuple(t for t in tiers if t is not None))


@functools.cache
def shipped_priors() -> tuple[Profile, ...]:
    """Every shipped prior profile, sorted by key."""
    profiles = [p for name in PRIOR_FILES for p in _shipped(name).profiles]
    return tuple(sorted(profiles, key=lambda p: p.key))


@functools.cache
def published_tiers() -> dict[tuple[str, str], PublishedTiers]:
    """The reference's tier table by (workflow, metric)."""
    return {(t.workflow, t.metric): t for name in PRIOR_FILES for t in _shipped(name).tiers}


def _shipped(name: str) -> ProfileFile:
    path = PRIORS_DIR / name
    return parse_profile_text(read_source(path, f"stdlib/profiles/{name}"), "prior", True)


def _entries(
    data: dict[str, Any], kind: str, locate_top: Callable[[str], Span], bag: DiagnosticBag
) -> list[dict[str, Any]]:
    section = data.get(kind, [])
    if not isinstance(section, list) or not all(isinstance(e, dict) for e in section):
        bag.error(BAD_ENTRY, locate_top(kind), f"'{kind}' must be a list of tables ([[{kind}]])")
        return []
    return section


def _tier(entry: dict[str, Any], locate: Locate, bag: DiagnosticBag) -> PublishedTiers | None:
    numbers = ("best", "good", "fair", "basic")
    if set(entry) != set(TIER_FIELDS) or not all(
        isinstance(entry[n], int | float) and not isinstance(entry[n], bool) for n in numbers
    ):
        bag.error(BAD_ENTRY, locate(None), "a tier needs " + ", ".join(TIER_FIELDS))
        return None
    return PublishedTiers(**entry)


# ---- locating entries and keys ----------------------------------------------------------

EntryLocator = Callable[[str, int, dict[str, Any]], Locate]
Loaded = tuple[dict[str, Any], EntryLocator, Callable[[str], Span]]


def _is_json(source: SourceFile) -> bool:
    if source.name.endswith(".json"):
        return True
    return not source.name.endswith(".toml") and source.text.lstrip().startswith("{")


def _load_toml(source: SourceFile, sources: dict[str, SourceFile]) -> Loaded:
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        _raise_parse_error(source, sources, str(error), *_toml_position(source, str(error)))
    lines = source.text.split("\n")
    headers: dict[str, list[int]] = {}
    for number, line in enumerate(lines, 1):
        match = re.match(r"\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]", line)
        if match is not None:
            headers.setdefault(match.group(1), []).append(number)

    def key_span(key: str | None, first: int, fallback: int) -> Span:
        last = next(
            (
                n
                for n in range(first + 1, len(lines) + 1)
                if re.match(r"\s*\[\[?\s*[A-Za-z\"]", lines[n - 1])
            ),
            len(lines) + 1,
        )
        for number in range(first, last):
            match = re.match(rf"(\s*){re.escape(key or '')}\s*=", lines[number - 1])
            if key is not None and match is not None:
                column = len(match.group(1)) + 1
                return Span(source.name, number, column, number, column + len(key))
        return Span(source.name, fallback, 1, fallback, len(lines[fallback - 1]) + 1)

    def locate_top(key: str) -> Span:
        if key in headers:
            line = headers[key][0]
            return Span(source.name, line, 1, line, len(lines[line - 1]) + 1)
        return key_span(key, 1, 1)

    def locate_entry(kind: str, index: int, entry: dict[str, Any]) -> Locate:
        found = headers.get(kind, [])
        header = found[index] if index < len(found) else locate_top(kind).line
        return lambda key: key_span(key, header + 1, header)

    return data, locate_entry, locate_top


def _toml_position(source: SourceFile, message: str) -> tuple[int, int]:
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match is not None:
        return int(match.group(1)), int(match.group(2))
    last = max(1, source.text.rstrip("\n").count("\n") + 1)
    return last, max(1, len(source.line(last)))


class _Located(dict[str, Any]):
    """A JSON object that remembers the offset of its opening brace."""

    offset = 0


def _load_json(source: SourceFile, sources: dict[str, SourceFile]) -> Loaded:
    # The pure-Python scanner calls `decoder.parse_object` for every object, which is
    # where an object's offset is known; typeshed does not declare these internals.
    decoder: Any = json.JSONDecoder()
    json_object: Any = getattr(json.decoder, "JSONObject")  # noqa: B009

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[_Located, int]:
        value, end = json_object(s_and_end, *args)
        located = _Located(value)
        located.offset = s_and_end[1] - 1
        return located, end

    decoder.parse_object = parse_object
    decoder.scan_once = getattr(json.scanner, "py_make_scanner")(decoder)  # noqa: B009
    try:
        data = decoder.decode(source.text)
    except json.JSONDecodeError as error:
        _raise_parse_error(source, sources, error.msg, error.lineno, error.colno)
    except RecursionError:
        _raise_parse_error(source, sources, "JSON nested too deeply", 1, 1)
    if not isinstance(data, _Located):
        _raise_parse_error(source, sources, "a JSON profile file is an object", 1, 1)

    def key_span(key: str | None, start: int) -> Span:
        offset = source.text.find(f'"{key}"', start) if key is not None else -1
        width = len(key) + 2 if key is not None and offset >= 0 else 1
        offset = start if offset < 0 else offset
        line, column = source.position(offset)
        return Span(source.name, line, column, line, column + width)

    def locate_entry(kind: str, index: int, entry: dict[str, Any]) -> Locate:
        start = entry.offset if isinstance(entry, _Located) else data.offset
        return lambda key: key_span(key, start)

    return data, locate_entry, lambda key: key_span(key, data.offset)


def _raise_parse_error(
    source: SourceFile, sources: dict[str, SourceFile], message: str, line: int, column: int
) -> NoReturn:
    message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    kind = "JSON" if _is_json(source) else "TOML"
    span = Span.point(source.name, line, column)
    error = f"this profile file is not valid {kind}: {message[:1].lower()}{message[1:]}"
    hint = "profile files are TOML (.toml) or JSON (.json); see docs/profiles.md"
    raise DiagnosticError([Diagnostic.error(PARSE_ERROR, span, error, hint=hint)], sources)
