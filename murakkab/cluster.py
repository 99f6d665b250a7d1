"""Cluster specs: the nodes a plan may use and the device kinds that price them.

A spec is a TOML file (docs/clusters.md); with none, the cluster is this machine
as discovered. Spec errors are located: TOML syntax at tomllib's line and column,
the rest at the wrong key (`locate_keys` finds it: tomllib keeps no positions).
Codes: MK0601 TOML syntax, MK0602 unknown key, MK0603 wrong type, MK0604 missing
key, MK0605 value out of range, MK0606 unknown device kind, MK0607 duplicate
name, MK0608 a fixed property of a built-in kind overridden.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError, sorted_diagnostics
from murakkab.hardware import DEVICE_KINDS, DeviceKind, discover_this_machine, find_kind
from murakkab.source import SourceFile, Span

KeyPath = tuple[str | int, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class Node:
    name: str
    cpu_cores: int
    memory_gb: float
    gpus: tuple[tuple[str, int], ...]  # (device kind name, count), sorted by name

    def gpu_count(self, kind: str | None = None) -> int:
        return sum(n for name, n in self.gpus if kind is None or name == kind)


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]
    kinds: dict[str, DeviceKind]  # the built-in catalogue merged with the spec's overrides
    source: str  # the spec file, or how this machine was discovered

    def kind(self, name: str) -> DeviceKind | None:
        """A device kind by name or alias ("a100", "cpu"); None when there is none."""
        return find_kind(name, self.kinds)

    def gpu_count(self, kind: str | None = None) -> int:
        """GPUs of one kind (name or alias) over all nodes, or of every kind."""
        if kind is None:
            return sum(node.gpu_count() for node in self.nodes)
        found = self.kind(kind)
        return 0 if found is None else sum(node.gpu_count(found.name) for node in self.nodes)

    @property
    def total_cores(self) -> int:
        return sum(node.cpu_cores for node in self.nodes)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        nodes = [{**dataclasses.asdict(n), "gpus": dict(n.gpus)} for n in self.nodes]
        kinds = {name: dataclasses.asdict(self.kinds[name]) for name in sorted(self.kinds)}
        return {"name": self.name, "source": self.source, "nodes": nodes, "kinds": kinds}


def this_machine() -> Cluster:
    return discover_this_machine()


def cluster_or_this_machine(path: str | None) -> Cluster:
    """The cluster a command plans for: the spec at `path` (`--cluster`), else the
    spec named by MKC_CLUSTER, else this machine as discovered."""
    if path is None:
        path = os.environ.get("MKC_CLUSTER") or None
    return this_machine() if path is None else load_cluster(path)


def load_cluster(path: str | Path, name: str | None = None) -> Cluster:
    """Read and check a cluster spec; raises DiagnosticError carrying its SourceFile."""
    from murakkab.frontend.parse import read_source  # MK0001/MK0104 for unreadable files

    source = read_source(Path(path), name if name is not None else str(path))
    return parse_cluster(source, Path(path).stem)


def parse_cluster(source: SourceFile, default_name: str = "cluster") -> Cluster:
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        diagnostic = Diagnostic.error("MK0601", syntax_span(source, error), syntax_message(error))
        raise DiagnosticError([diagnostic], {source.name: source}) from None
    reader = _Reader(source)
    cluster = reader.cluster(data, default_name)
    if reader.bag.has_errors:  # the SourceFile goes along: the CLI shows the lines
        raise DiagnosticError(sorted_diagnostics(reader.bag.items), {source.name: source})
    return cluster


# ---- locating keys -------------------------------------------------------------------

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]")
_ASSIGN = re.compile(rf"\s*({_DOTTED})\s*=")
_INLINE = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")


def locate_keys(source: SourceFile) -> dict[KeyPath, Span]:
    """Where each table header and key of a TOML text is: ("nodes", 1, "gpus", "a100") -> span.

    A line scanner, not a parser: it runs only on text tomllib accepted, and a key
    it misses is located at its nearest enclosing table by `span_of`.
    """
    spans: dict[KeyPath, Span] = {}
    arrays: dict[KeyPath, int] = {}  # array-of-tables path -> index of its last element
    table: KeyPath = ()
    closer: str | None = None  # inside a multi-line string ending with this
    for number, line in enumerate(source.text.split("\n"), 1):
        if closer is not None:
            closer = None if line.count(closer) % 2 == 1 else closer
            continue
        span = functools.partial(_key_span, source.name, number)
        header = _HEADER.match(line)
        if header is not None:
            table = _resolve(_split_key(header[2]), arrays)
            if header[1] == "[[":
                arrays[table] = arrays.get(table, -1) + 1
                table = (*table, arrays[table])
            spans.setdefault(table, span(header, 2))
            continue
        assign = _ASSIGN.match(line)
        if assign is None:
            continue
        path = (*table, *_split_key(assign[1]))
        spans.setdefault(path, span(assign, 1))
        rest = line[assign.end() :]
        if rest.lstrip().startswith("{"):
            for inner in _INLINE.finditer(rest):
                spans.setdefault((*path, *_split_key(inner[1])), span(inner, 1, assign.end()))
        for quotes in ('"""', "'''"):
            if rest.count(quotes) % 2 == 1:
                closer = quotes
    return spans


def _key_span(file: str, line: int, match: re.Match[str], group: int, offset: int = 0) -> Span:
    start, end = match.start(group) + offset + 1, match.end(group) + offset + 1
    return Span(file, line, start, line, end)


def span_of(spans: dict[KeyPath, Span], path: KeyPath, file: str) -> Span:
    """The span of `path`, else of its nearest located ancestor, else the file's start."""
    for end in range(len(path), 0, -1):
        found = spans.get(path[:end])
        if found is not None:
            return found
    return Span.point(file, 1, 1)


def path_text(path: KeyPath) -> str:
    """("nodes", 1, "gpus", "a100") -> "nodes[1].gpus.a100"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            text += f".{shown}" if text else shown
    return text or "(top level)"


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(k[1:-1] if k[0] in "\"'" else k for k in re.findall(_KEY, dotted))


def _resolve(keys: tuple[str, ...], arrays: dict[KeyPath, int]) -> KeyPath:
    """`[nodes.gpus]` after `[[nodes]]` names the last node's table: insert the index."""
    path: KeyPath = ()
    for key in keys:
        path = (*path, key)
        if path in arrays and len(path) < len(keys):
            path = (*path, arrays[path])
    return path


def syntax_message(error: tomllib.TOMLDecodeError) -> str:
    text = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", str(error))
    return f"TOML syntax error: {text[:1].lower()}{text[1:]}"


def syntax_span(source: SourceFile, error: tomllib.TOMLDecodeError) -> Span:
    found = re.search(r"at line (\d+), column (\d+)\)$", str(error))
    if found is not None:
        return Span.point(source.name, int(found[1]), int(found[2]))
    end = len(source.text.rstrip())  # "end of document": just after its last character
    return Span.point(source.name, *source.position(end))


# ---- checking the data ---------------------------------------------------------------

_TOP_KEYS = ("name", "kinds", "nodes")
_NODE_KEYS = ("name", "count", "cpu_cores", "memory_gb", "gpus")
_NUMBERS = ("price_per_hour", "idle_watts", "busy_watts", "memory_gb")
_KIND_KEYS = ("kind", "gpu_type", *_NUMBERS, "provenance")
_NEW_KIND_NEEDS = ("kind", *_NUMBERS, "provenance")
_FIXED = ("kind", "gpu_type", "memory_gb")  # what a built-in kind's name promises
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
_TYPE_NAMES |= {dict: "a table", list: "an array"}  # what tomllib returns, exactly


class _Reader:
    """Checks the parsed TOML against the schema, collecting every error located."""

    def __init__(self, source: SourceFile):
        self.source = source
        self.spans = locate_keys(source)
        self.bag = DiagnosticBag()

    def error(
        self, code: str, path: KeyPath, message: str, hint: str | None = None, *notes: str
    ) -> None:
        span = span_of(self.spans, path, self.source.name)
        self.bag.error(code, span, message, *notes, hint=hint)

    def table(self, value: object, path: KeyPath, allowed: tuple[str, ...]) -> _Table | None:
        if not isinstance(value, dict):
            self.error("MK0603", path, f"{path_text(path)} must be a table, not {_type(value)}")
            return None
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, 1)
                hint = f"did you mean {close[0]}? " if close else ""
                hint += f"keys here: {', '.join(allowed)}"
                self.error("MK0602", (*path, key), f"unknown key {path_text((*path, key))}", hint)
        return _Table(self, value, path)

    def cluster(self, data: dict[str, Any], default_name: str) -> Cluster:
        top = self.table(data, (), _TOP_KEYS)
        assert top is not None
        kinds = dict(DEVICE_KINDS)
        for name, table in top.get("kinds", dict, "a table", {}).items():
            kind = self.kind(name, self.table(table, ("kinds", name), _KIND_KEYS))
            if kind is not None:
                kinds[name] = kind
        tables = top.get("nodes", list, "an array of [[nodes]] tables", [])
        if data.get("nodes", []) == []:
            self.error("MK0604", ("nodes",), "a cluster spec needs at least one [[nodes]] table")
        nodes: list[Node] = []
        first: dict[str, KeyPath] = {}
        for index, table in enumerate(tables):
            path: KeyPath = ("nodes", index, "name")
            for node in self.nodes(self.table(table, path[:2], _NODE_KEYS), kinds):
                if node.name in first:
                    where = f"first defined at {span_of(self.spans, first[node.name], '')}"
                    message = f"{path_text(path)}: duplicate node name '{node.name}'"
                    self.error("MK0607", path, message, None, where)
                first.setdefault(node.name, path)
                nodes.append(node)
        name = top.get("name", str, "a string", default_name)
        return Cluster(name, tuple(nodes), kinds, self.source.name)

    def kind(self, name: str, table: _Table | None) -> DeviceKind | None:
        if table is None:
            return None
        if _NAME.fullmatch(name) is None:
            table.error("MK0605", None, f"'{name}' is not a device kind name")
        given: dict[str, Any] = {k: table.number(k, positive=k == "memory_gb") for k in _NUMBERS}
        given |= {
            key: table.get(key, str, "a string") for key in ("kind", "gpu_type", "provenance")
        }
        if given["kind"] not in (None, "cpu", "gpu"):
            table.error("MK0605", "kind", 'kind must be "cpu" or "gpu"')
            return None
        given = {key: value for key, value in given.items() if value is not None}
        base = DEVICE_KINDS.get(name)
        if base is not None:
            return self.override(base, table, given)
        missing = [key for key in _NEW_KIND_NEEDS if key not in table.data]
        if missing:
            alias = find_kind(name, DEVICE_KINDS)
            hint = f"to change the built-in {alias.name}, name it in full" if alias else None
            message = f"new device kind '{name}' needs {', '.join(missing)}"
            table.error("MK0604", None, message, hint)
            return None
        if any(key not in given for key in _NEW_KIND_NEEDS):
            return None  # a value was wrong, and said so
        if given["kind"] == "gpu":
            given.setdefault("gpu_type", name.split("-")[0])
        return self.powered(DeviceKind(name=name, **{"gpu_type": None, **given}), table)

    def override(self, base: DeviceKind, table: _Table, given: dict[str, Any]) -> DeviceKind | None:
        for key in _FIXED:
            if key in given and given[key] != getattr(base, key):
                hint = "declare a new kind under its own name, with kind, numbers and provenance"
                table.error("MK0608", key, f"{key} of the built-in {base.name} is fixed", hint)
        if "provenance" not in given:
            changed = ", ".join(sorted(given))
            given["provenance"] = f"{base.provenance}; {changed} set in {self.source.name}"
        return self.powered(dataclasses.replace(base, **given), table)

    def powered(self, kind: DeviceKind, table: _Table) -> DeviceKind | None:
        if kind.busy_watts >= kind.idle_watts:
            return kind
        key = "busy_watts" if "busy_watts" in table.data else "idle_watts"
        busy, idle = f"{kind.busy_watts:g} W", f"{kind.idle_watts:g} W"
        table.error("MK0605", key, f"busy power {busy} is below idle power {idle}")
        return None

    def nodes(self, table: _Table | None, kinds: dict[str, DeviceKind]) -> list[Node]:
        if table is None:
            return []
        name = table.get("name", str, "a string", required=True)
        count = table.integer("count", minimum=1) or 1
        cores = table.integer("cpu_cores", minimum=1, required=True)
        memory = table.number("memory_gb", positive=True, required=True)
        gpus = self.gpus(table.get("gpus", dict, "a table", {}), (*table.path, "gpus"), kinds)
        if name is not None and _NAME.fullmatch(name) is None:
            hint = "use letters, digits, '-', '_' and '.'"
            table.error("MK0605", "name", f"'{name}' is not a node name", hint)
            return []
        if name is None or cores is None or memory is None or gpus is None:
            return []
        if count == 1:
            return [Node(name, cores, memory, gpus)]
        return [Node(f"{name}-{i}", cores, memory, gpus) for i in range(count)]

    def gpus(self, data: dict[str, Any], path: KeyPath, kinds: dict[str, DeviceKind]) -> Gpus:
        table = _Table(self, data, path)
        counts: dict[str, int] = {}
        ok = True
        for key in data:
            count = table.integer(key, minimum=0)
            kind = find_kind(key, kinds)
            if kind is None or kind.kind != "gpu":
                what = "not a GPU kind" if kind is not None else "an unknown device kind"
                names = ", ".join(sorted(k for k, v in kinds.items() if v.kind == "gpu"))
                hint = f"GPU kinds are {names}; declare others under [kinds.NAME]"
                table.error("MK0606", key, f"'{key}' is {what}", hint)
            elif kind.name in counts:
                table.error("MK0607", key, f"{kind.name} is named twice")
            elif count is not None:
                counts[kind.name] = count
            ok = ok and kind is not None and count is not None
        return tuple(sorted((k, n) for k, n in counts.items() if n > 0)) if ok else None


Gpus = tuple[tuple[str, int], ...] | None


@dataclass
class _Table:
    """One TOML table being checked: typed getters that report located errors and give None."""

    reader: _Reader
    data: dict[str, Any]
    path: KeyPath

    def error(self, code: str, key: str | None, message: str, hint: str | None = None) -> None:
        path = self.path if key is None else (*self.path, key)
        self.reader.error(code, path, f"{path_text(path)}: {message}", hint)

    def get(
        self, key: str, type_: type[T], what: str, default: Any = None, required: bool = False
    ) -> Any:
        if key not in self.data:
            if required:
                self.error("MK0604", None, f"missing key {key}")
            return default
        value = self.data[key]
        if isinstance(value, int) and type_ is float and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, type_) or isinstance(value, bool) and type_ is not bool:
            self.error("MK0603", key, f"must be {what}, not {_type(value)}")
            return default
        return value

    def integer(self, key: str, minimum: int, required: bool = False) -> int | None:
        value: int | None = self.get(key, int, "an integer", required=required)
        return self.checked(key, value, value is None or value >= minimum, f"at least {minimum}")

    def number(self, key: str, positive: bool = False, required: bool = False) -> float | None:
        value: float | None = self.get(key, float, "a number", required=required)
        low = value is not None and (value <= 0 if positive else value < 0)
        ok = value is None or (math.isfinite(value) and not low)
        return self.checked(
            key, value, ok, "a finite number " + ("above 0" if positive else ">= 0")
        )

    def checked(self, key: str, value: T | None, ok: bool, what: str) -> T | None:
        if ok:
            return value
        self.error("MK0605", key, f"must be {what}, not {value}")
        return None


def _type(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)
