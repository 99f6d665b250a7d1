"""IR types are values: they compare, hash and print by structure.

`any` is the gradual type of a natural-language task's result before the
optimizer binds it to an executor; it is consistent with every type. The
physical level forbids it.
"""

from __future__ import annotations

from dataclasses import dataclass

PRIMITIVES = ("any", "text", "number", "bool", "image", "audio", "video", "scene", "code")

# A string literal in a run request or a task argument may stand for these:
# media and code arrive as paths or text.
STRING_LIKE = frozenset({"text", "image", "audio", "video", "code"})


@dataclass(frozen=True)
class Type:
    """Base of all IR types."""

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        raise TypeError(type(self).__name__)

    def contains_any(self) -> bool:
        return False


@dataclass(frozen=True)
class PrimType(Type):
    name: str

    def __str__(self) -> str:
        return self.name

    def contains_any(self) -> bool:
        return self.name == "any"


@dataclass(frozen=True)
class ListType(Type):
    element: Type

    def __str__(self) -> str:
        return f"list<{self.element}>"

    def contains_any(self) -> bool:
        return self.element.contains_any()


@dataclass(frozen=True)
class RecordType(Type):
    """Fields are kept sorted by name so that equal records print equally."""

    fields: tuple[tuple[str, Type], ...]

    def __str__(self) -> str:
        inner = ", ".join(f"{name}: {ty}" for name, ty in self.fields)
        return f"record{{{inner}}}"

    def contains_any(self) -> bool:
        return any(ty.contains_any() for _, ty in self.fields)


ANY = PrimType("any")
TEXT = PrimType("text")
NUMBER = PrimType("number")
BOOL = PrimType("bool")


def prim(name: str) -> PrimType:
    if name not in PRIMITIVES:
        raise ValueError(f"unknown type {name!r}")
    return PrimType(name)


def record(fields: dict[str, Type]) -> RecordType:
    return RecordType(tuple(sorted(fields.items())))


def is_assignable(source: Type, target: Type) -> bool:
    """Can a value of type `source` flow into a slot of type `target`?"""
    if source == target or source == ANY or target == ANY:
        return True
    if isinstance(source, ListType) and isinstance(target, ListType):
        return is_assignable(source.element, target.element)
    if isinstance(source, RecordType) and isinstance(target, RecordType):
        have = dict(source.fields)
        return all(name in have and is_assignable(have[name], ty) for name, ty in target.fields)
    return False


def join(types: list[Type]) -> Type:
    """The element type of a list literal: the common type, else `any`."""
    if not types:
        return ANY
    first = types[0]
    return first if all(ty == first for ty in types) else ANY


def literal_type(value: object) -> Type:
    """The type of a literal: a constant prints as its literal alone, so the literal decides."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, str):
        return TEXT
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, tuple):
        return ListType(join([literal_type(item) for item in value]))
    raise TypeError(f"not a literal: {value!r}")
