"""Load a job file and the files it imports into one `Program`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from murakkab.catalogue import Catalogue, stdlib_catalogue
from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError
from murakkab.frontend import ast
from murakkab.frontend.parse import parse_source, read_source
from murakkab.frontend.resolve import did_you_mean
from murakkab.source import SourceFile, display_name

MAX_IMPORTED_FILES = 256


@dataclass
class Unit:
    """One parsed `.mk` file and the files it imports directly."""

    mk: ast.MkFile
    path: Path
    imports: list[Unit] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.mk.name


@dataclass
class Program:
    root: Unit
    units: dict[Path, Unit]
    sources: dict[str, SourceFile]
    catalogue: Catalogue


def load_program(path: Path, sources: dict[str, SourceFile] | None = None) -> Program:
    """Parse `path` and, transitively, every file it imports.

    `sources` collects every file read so far, so that diagnostics raised from
    here can still be rendered with their source lines.
    """
    sources = {} if sources is None else sources
    catalogue = stdlib_catalogue()
    sources.update(catalogue.sources)
    loader = _Loader(sources, catalogue)
    root = loader.load(path.resolve(), display_name(path), ())
    loader.diagnostics.raise_if_errors()
    return Program(root, loader.units, sources, catalogue)


def load_text(name: str, text: str) -> Program:
    """A program from in-memory text (tests, `mkc plan`); file imports resolve from the cwd."""
    from murakkab.frontend.parse import decode_source

    source = decode_source(text.encode("utf-8"), name)
    catalogue = stdlib_catalogue()
    sources = {**catalogue.sources, name: source}
    loader = _Loader(sources, catalogue)
    root = loader.finish(Unit(parse_source(source), Path.cwd() / name), ())
    loader.diagnostics.raise_if_errors()
    return Program(root, loader.units, sources, catalogue)


class _Loader:
    def __init__(self, sources: dict[str, SourceFile], catalogue: Catalogue):
        self.sources = sources
        self.catalogue = catalogue
        self.units: dict[Path, Unit] = {}
        self.diagnostics = DiagnosticBag()

    def load(self, path: Path, name: str, stack: tuple[Path, ...]) -> Unit:
        source = read_source(path, name)
        self.sources[name] = source
        return self.finish(Unit(parse_source(source), path), stack)

    def finish(self, unit: Unit, stack: tuple[Path, ...]) -> Unit:
        self.units[unit.path] = unit
        for item in unit.mk.items:
            if isinstance(item, ast.ImportModule):
                self._check_module(item)
            elif isinstance(item, ast.ImportFile):
                imported = self._import_file(unit, item, stack + (unit.path,))
                if imported is not None:
                    unit.imports.append(imported)
        return unit

    def _check_module(self, item: ast.ImportModule) -> None:
        dotted = ".".join(item.path)
        known = [f"stdlib.{m}" for m in sorted(self.catalogue.modules)]
        if (
            len(item.path) == 2
            and item.path[0] == "stdlib"
            and item.path[1] in self.catalogue.modules
        ):
            return
        self.diagnostics.error(
            "MK0209",
            item.span,
            f"no module named '{dotted}'",
            *did_you_mean(dotted, known),
            hint="modules are " + ", ".join(known) + '; import a job file with import "path.mk"',
        )

    def _import_file(
        self, unit: Unit, item: ast.ImportFile, stack: tuple[Path, ...]
    ) -> Unit | None:
        target = (unit.path.parent / item.path).resolve()
        if target in stack:
            chain = " -> ".join(display_name(p) for p in stack[stack.index(target) :] + (target,))
            self.diagnostics.error("MK0209", item.span, f"import cycle: {chain}")
            return None
        if target in self.units:
            return self.units[target]
        if len(self.units) >= MAX_IMPORTED_FILES:
            self.diagnostics.error(
                "MK0105", item.span, f"more than {MAX_IMPORTED_FILES} imported files"
            )
            return None
        try:
            return self.load(target, display_name(target), stack)
        except DiagnosticError as error:
            self.sources.update(error.sources)
            self.diagnostics.items.extend(_at_import(error.diagnostics, item))
            return None


def _at_import(diagnostics: tuple[Diagnostic, ...], item: ast.ImportFile) -> list[Diagnostic]:
    """A missing imported file is reported where the import is written."""
    out = []
    for d in diagnostics:
        if d.code == "MK0001":
            out.append(
                Diagnostic.error("MK0209", item.span, f'cannot import "{item.path}": {d.message}')
            )
        else:
            out.append(d)
    return out
