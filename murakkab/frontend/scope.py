"""What a name in a file refers to: a capability of an imported module, a
capability declared in the file, or a workflow of the file or of a file it
imports."""

from __future__ import annotations

from dataclasses import dataclass, field

from murakkab.catalogue import Capability, declare_capabilities
from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.frontend.loader import Program, Unit
from murakkab.frontend.resolve import did_you_mean, resolve_type
from murakkab.ir.types import Type
from murakkab.source import Span


@dataclass(frozen=True)
class WorkflowSig:
    """A workflow's resolved signature, and the file that defines it."""

    definition: ast.WorkflowDef
    unit: Unit
    params: tuple[tuple[str, Type], ...]
    result: Type


@dataclass
class FileScope:
    unit: Unit
    modules: dict[str, dict[str, Capability]] = field(default_factory=dict)
    local_capabilities: dict[str, Capability] = field(default_factory=dict)
    workflows: dict[str, WorkflowSig] = field(default_factory=dict)

    def resolve_callee(
        self, name: str, span: Span, diagnostics: DiagnosticBag
    ) -> Capability | WorkflowSig | None:
        """A callee by name; unknown and ambiguous names are reported."""
        module, _, short = name.rpartition(".")
        if module:
            return self._qualified(module, short, name, span, diagnostics)
        if name in self.workflows:
            return self.workflows[name]
        if name in self.local_capabilities:
            return self.local_capabilities[name]
        found = [caps[name] for _, caps in sorted(self.modules.items()) if name in caps]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            diagnostics.error(
                "MK0214",
                span,
                f"'{name}' is ambiguous",
                *(f"candidate: {cap.signature()}" for cap in found),
                hint=f"qualify the name, e.g. `{found[0].name}`",
            )
            return None
        diagnostics.error(
            "MK0202",
            span,
            f"unknown capability or workflow '{name}'",
            *did_you_mean(name, self._known_names()),
            hint="import its module (e.g. `import stdlib.video`) "
            'or describe the task in words: `"..."(args)`',
        )
        return None

    def _qualified(
        self, module: str, short: str, name: str, span: Span, diagnostics: DiagnosticBag
    ) -> Capability | None:
        if module.startswith("stdlib."):
            diagnostics.error(
                "MK0202",
                span,
                f"'{name}' names the module by its import path",
                hint=f"write `{module.removeprefix('stdlib.')}.{short}`: an imported module "
                "is named by its last part",
            )
            return None
        if module not in self.modules:
            diagnostics.error(
                "MK0202",
                span,
                f"module '{module}' is not imported",
                hint=f"add `import stdlib.{module}` at the top of the file",
            )
            return None
        capability = self.modules[module].get(short)
        if capability is None:
            diagnostics.error(
                "MK0202",
                span,
                f"module '{module}' has no capability '{short}'",
                *did_you_mean(name, [c.name for c in self.modules[module].values()]),
            )
        return capability

    def _known_names(self) -> list[str]:
        names = list(self.workflows) + list(self.local_capabilities)
        for caps in self.modules.values():
            names += list(caps) + [c.name for c in caps.values()]
        return names


def build_scopes(program: Program, diagnostics: DiagnosticBag) -> dict[str, FileScope]:
    """One scope per file, keyed by the file's display name."""
    signatures = {unit.name: _signatures(unit, diagnostics) for unit in program.units.values()}
    scopes: dict[str, FileScope] = {}
    for unit in program.units.values():
        scope = FileScope(unit)
        for item in unit.mk.items:
            if isinstance(item, ast.ImportModule) and item.path[-1] in program.catalogue.modules:
                scope.modules[item.path[-1]] = program.catalogue.modules[item.path[-1]]
        scope.local_capabilities = declare_capabilities(unit.mk, None, diagnostics)
        for imported in unit.imports:
            for name, sig in signatures[imported.name].items():
                other = scope.workflows.get(name)
                if other is not None and other is not sig:
                    diagnostics.error(
                        "MK0207",
                        _import_span(unit, imported),
                        f"workflow '{name}' is defined in both "
                        f"{other.unit.name} and {sig.unit.name}",
                        hint="rename one of them",
                    )
                scope.workflows[name] = sig
        for name, sig in signatures[unit.name].items():
            other = scope.workflows.get(name)
            if other is not None:
                diagnostics.error(
                    "MK0207",
                    sig.definition.name_span,
                    f"workflow '{name}' is also defined in {other.unit.name}",
                )
            scope.workflows[name] = sig
        scopes[unit.name] = scope
    return scopes


def _import_span(unit: Unit, imported: Unit) -> Span:
    """Where `unit` imports `imported`, for diagnostics about the import."""
    for item in unit.mk.items:
        if (
            isinstance(item, ast.ImportFile)
            and (unit.path.parent / item.path).resolve() == imported.path
        ):
            return item.span
    return Span.point(unit.name, 1, 1)


def _signatures(unit: Unit, diagnostics: DiagnosticBag) -> dict[str, WorkflowSig]:
    out: dict[str, WorkflowSig] = {}
    for item in unit.mk.items:
        if not isinstance(item, ast.WorkflowDef):
            continue
        if item.name in out:
            diagnostics.error("MK0207", item.name_span, f"workflow '{item.name}' is defined twice")
            continue
        params = tuple((p.name, resolve_type(p.type, diagnostics)) for p in item.params)
        out[item.name] = WorkflowSig(item, unit, params, resolve_type(item.result, diagnostics))
    return out
