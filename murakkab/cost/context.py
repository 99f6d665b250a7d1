"""What a prediction needs, gathered once per compile: profiles, hardware, assumptions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from murakkab.cluster import cluster_or_this_machine
from murakkab.cost.config import Assumptions
from murakkab.cost.ops import CostContext
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.profiles.codec import kind_of
from murakkab.profiles.schema import Profile
from murakkab.profiles.store import ProfileStore
from murakkab.source import SourceFile, Span


class ProfileIndex:
    """The layered profiles read once into memory: the cost model asks many times."""

    def __init__(self, profiles: Sequence[Profile]):
        self.by_key = {p.key: p for p in profiles}

    def get(self, key: str) -> Profile | None:
        return self.by_key.get(key)

    def all(self, kind: str | None = None) -> list[Profile]:
        return [p for p in self.by_key.values() if kind is None or kind_of(p) == kind]


def cost_context(
    db: str | None,
    cluster: str | None,
    assume: Sequence[str],
    sources: dict[str, SourceFile],
) -> CostContext:
    """Profiles from the store at `db` (else MKC_PROFILE_DB / the user cache), the
    cluster spec `cluster` (else this machine), and `--assume NAME=VALUE` items."""
    store = ProfileStore(Path(db), label="--db") if db is not None else ProfileStore()
    hardware = cluster_or_this_machine(cluster)
    return CostContext(ProfileIndex(store.all()), hardware, _assumptions(assume, sources))


def _assumptions(items: Sequence[str], sources: dict[str, SourceFile]) -> Assumptions:
    try:
        return Assumptions.parse(list(items))
    except ValueError as error:
        # Show every --assume value on one line, the caret under the bad one.
        text = " ".join(items)
        bad = next(i for i in range(len(items)) if _fails(items[i]))
        column = sum(len(item) + 1 for item in items[:bad]) + 1
        sources["--assume"] = SourceFile.of("--assume", text)
        span = Span("--assume", 1, column, 1, column + len(items[bad]))
        raise DiagnosticError(
            [Diagnostic.error("MK0801", span, str(error), hint="e.g. --assume video_s=120")]
        ) from None


def _fails(item: str) -> bool:
    try:
        Assumptions.parse([item])
    except ValueError:
        return True
    return False
