"""What the planner composes: typed signatures of executors and library workflows.

The executors are the capabilities of the stdlib catalogue (`stdlib/*.mk`); the
workflows are those defined in the `.mk` files of the user's workflow library (a
directory, `examples/` by default). A library file that does not parse, or a
workflow whose types do not resolve, is skipped with a note: the library is the
user's, and one broken file must not stop planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from murakkab.catalogue import Capability, stdlib_catalogue
from murakkab.diagnostics import DiagnosticBag, DiagnosticError
from murakkab.frontend import ast
from murakkab.frontend.parse import parse_source, read_source
from murakkab.frontend.resolve import resolve_type
from murakkab.ir.types import Type
from murakkab.source import display_name

WORKFLOW = "workflow"  # the kind of a library workflow; executors keep their catalogue kind


@dataclass(frozen=True)
class Signature:
    """One thing a task can call: `video.scene_detect(videos: list<video>) -> list<scene>`."""

    name: str  # as a task calls it: "video.scene_detect", or a workflow's name
    params: tuple[tuple[str, Type], ...]
    result: Type
    doc: str
    kind: str  # llm | tool | composition (executors) or workflow
    origin: str  # "stdlib.video", or the path of the library file as given
    models: tuple[str, ...] = ()  # an executor's `model` knob domain

    @property
    def is_tool(self) -> bool:
        """Tools convert data; everything else does the semantic work a clause asks for."""
        return self.kind == "tool"

    @property
    def path(self) -> Path | None:
        return Path(self.origin) if self.kind == WORKFLOW else None

    def words(self) -> str:
        """The name in words: "llm.summarize" is "llm summarize"."""
        return self.name.replace("_", " ").replace(".", " ")

    def text(self) -> str:
        """The doc string, else the name in words."""
        return self.doc or self.words()

    def interface(self) -> str:
        params = ", ".join(f"{name}: {type_}" for name, type_ in self.params)
        return f"{self.name}({params}) -> {self.result}"


@dataclass(frozen=True)
class Library:
    signatures: tuple[Signature, ...]
    notes: tuple[str, ...] = ()

    def get(self, name: str) -> Signature | None:
        return next((s for s in self.signatures if s.name == name), None)


def executor_signature(capability: Capability) -> Signature:
    module = capability.name.rsplit(".", 1)[0]
    knob = capability.knob("model")
    models = tuple(str(v) for v in knob.values or ()) if knob is not None else ()
    return Signature(
        capability.name,
        capability.params,
        capability.result,
        capability.doc,
        capability.kind,
        f"stdlib.{module}",
        models,
    )


def load_library(places: tuple[Path, ...]) -> Library:
    """The stdlib's executors, then the workflows of the `.mk` files in `places` (a
    file, or every `.mk` file under a directory, sorted); the first definition of a
    name wins, later ones are noted."""
    signatures = [executor_signature(c) for c in stdlib_catalogue().all()]
    notes: list[str] = []
    seen: dict[str, str] = {}
    for place in places:
        for path in [place] if place.is_file() else sorted(place.rglob("*.mk")):
            for signature in _file_workflows(path, notes):
                if signature.name in seen:
                    notes.append(
                        f"{signature.origin}: workflow {signature.name} is also defined in"
                        f" {seen[signature.name]}; the planner uses that one"
                    )
                    continue
                seen[signature.name] = signature.origin
                signatures.append(signature)
    return Library(tuple(signatures), tuple(notes))


def _file_workflows(path: Path, notes: list[str]) -> list[Signature]:
    name = display_name(path)
    try:
        mk = parse_source(read_source(path, name))
    except DiagnosticError as error:
        first = error.diagnostics[0] if error.diagnostics else None
        why = f"{first.span.line}:{first.span.column}: {first.message}" if first else "unreadable"
        notes.append(f"{name}: skipped, it does not parse ({why})")
        return []
    out = []
    for item in mk.items:
        if not isinstance(item, ast.WorkflowDef):
            continue
        bag = DiagnosticBag()
        params = tuple((p.name, resolve_type(p.type, bag)) for p in item.params)
        result = resolve_type(item.result, bag)
        if bag.has_errors:
            notes.append(f"{name}: workflow {item.name} skipped, its types do not resolve")
            continue
        out.append(Signature(item.name, params, result, item.doc or "", WORKFLOW, name))
    return out
