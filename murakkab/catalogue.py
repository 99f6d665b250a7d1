"""The capability catalogue: typed executor interfaces declared in `stdlib/*.mk`.

A capability is what a task may be bound to: a typed signature, a kind, the
hardware it can run on and its knobs with domains and defaults. Issue #3 adds
implementations, profiles and cost functions next to these declarations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import murakkab.stdlib
from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.frontend.parse import decode_source, parse_source
from murakkab.frontend.resolve import format_literal, literal_fits, resolve_type
from murakkab.ir.core import Literal
from murakkab.ir.types import BOOL, NUMBER, TEXT, Type
from murakkab.source import UNKNOWN_SPAN, SourceFile, Span

KINDS = ("llm", "tool", "composition")
DEVICES = ("cpu", "gpu")
GPU_MODELS = ("a100", "h100")
STDLIB_DIR = Path(murakkab.stdlib.__file__).resolve().parent


@dataclass(frozen=True)
class Knob:
    name: str
    type: Type
    values: tuple[Literal, ...] | None
    default: Literal | None
    span: Span = field(default=UNKNOWN_SPAN, compare=False)

    def admits(self, value: Literal) -> bool:
        if not literal_fits(value, self.type):
            return False
        return self.values is None or value in self.values

    def describe_domain(self) -> str:
        if self.values is None:
            return f"any {self.type}"
        return "{" + ", ".join(format_literal(v) for v in self.values) + "}"


@dataclass(frozen=True)
class Capability:
    name: str  # qualified: "video.scene_detect"
    params: tuple[tuple[str, Type], ...]
    result: Type
    doc: str
    kind: str
    hardware: tuple[str, ...]
    knobs: tuple[Knob, ...]
    span: Span = field(default=UNKNOWN_SPAN, compare=False)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def knob(self, name: str) -> Knob | None:
        return next((k for k in self.knobs if k.name == name), None)

    def signature(self) -> str:
        params = ", ".join(f"{n}: {t}" for n, t in self.params)
        return f"{self.name}({params}) -> {self.result}"


@dataclass(frozen=True)
class Catalogue:
    modules: dict[str, dict[str, Capability]]
    sources: dict[str, SourceFile]

    def lookup(self, qualified: str) -> Capability | None:
        module, _, short = qualified.rpartition(".")
        return self.modules.get(module, {}).get(short)

    def all(self) -> list[Capability]:
        return [cap for module in sorted(self.modules) for cap in self.modules[module].values()]


def declare_capabilities(
    mk: ast.MkFile, module: str | None, diagnostics: DiagnosticBag
) -> dict[str, Capability]:
    """The capabilities a file declares, by short name, with their declarations checked."""
    out: dict[str, Capability] = {}
    for item in mk.items:
        if not isinstance(item, ast.CapabilityDef):
            continue
        if item.name in out:
            diagnostics.error(
                "MK0207", item.name_span, f"capability '{item.name}' is declared twice"
            )
        qualified = f"{module}.{item.name}" if module else item.name
        out[item.name] = _capability(item, qualified, diagnostics)
    return out


def _capability(item: ast.CapabilityDef, qualified: str, diagnostics: DiagnosticBag) -> Capability:
    if item.kind not in KINDS:
        diagnostics.error(
            "MK0219",
            item.name_span,
            f"capability '{item.name}' needs a kind",
            hint="add `kind " + "|".join(KINDS) + "`",
        )
    for device in item.hardware:
        if device not in DEVICES:
            diagnostics.error(
                "MK0219", item.span, f"unknown device '{device}'", hint="devices are cpu and gpu"
            )
    params = tuple((p.name, resolve_type(p.type, diagnostics)) for p in item.params)
    knobs = tuple(_knob(k, diagnostics) for k in item.knobs)
    return Capability(
        qualified,
        params,
        resolve_type(item.result, diagnostics),
        item.doc or "",
        item.kind or "tool",
        item.hardware or ("cpu",),
        knobs,
        item.name_span,
    )


def _knob(decl: ast.KnobDecl, diagnostics: DiagnosticBag) -> Knob:
    values = None if decl.values is None else tuple(lit.value for lit in decl.values)
    if decl.type is not None:
        knob_type = resolve_type(decl.type, diagnostics)
    else:
        sample = values[0] if values else (decl.default.value if decl.default else None)
        knob_type = _literal_kind(sample)
    knob = Knob(
        decl.name,
        knob_type,
        values,
        None if decl.default is None else decl.default.value,
        decl.span,
    )
    for value in (values or ()) + (() if knob.default is None else (knob.default,)):
        if not knob.admits(value):
            diagnostics.error(
                "MK0219",
                decl.span,
                f"knob '{decl.name}' value {format_literal(value)} is not in its domain",
            )
    return knob


def _literal_kind(value: object) -> Type:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    return TEXT


@functools.cache
def stdlib_catalogue() -> Catalogue:
    """Every module of the standard library, parsed once per process."""
    diagnostics = DiagnosticBag()
    modules: dict[str, dict[str, Capability]] = {}
    sources: dict[str, SourceFile] = {}
    for path in sorted(STDLIB_DIR.glob("*.mk")):
        name = f"stdlib/{path.name}"
        source = decode_source(path.read_bytes(), name)
        sources[name] = source
        modules[path.stem] = declare_capabilities(parse_source(source), path.stem, diagnostics)
    diagnostics.raise_if_errors()
    return Catalogue(modules, sources)
