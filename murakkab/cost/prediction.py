"""A prediction of what running something costs, with where the numbers came from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# From most to least trustworthy; a combination is as weak as its weakest part.
PROVENANCE = ("measured", "prior", "interpolated", "extrapolated", "assumed", "unbound")


def weakest(sources: Iterable[str]) -> str:
    ranks = [PROVENANCE.index(s) for s in sources]
    return PROVENANCE[max(ranks)] if ranks else "measured"


@dataclass(frozen=True)
class Prediction:
    """Latency in seconds, cost in usd, energy in joules, quality as a fraction."""

    latency_s: float
    cost_usd: float
    energy_j: float
    quality: float | None
    provenance: str
    notes: tuple[str, ...] = field(default=(), compare=False)

    @staticmethod
    def zero(provenance: str = "measured", *notes: str) -> Prediction:
        return Prediction(0.0, 0.0, 0.0, None, provenance, tuple(notes))

    def scaled(self, copies: float, sequential: bool) -> Prediction:
        """`copies` runs: side by side (latency unchanged) or one after another."""
        latency = self.latency_s * copies if sequential else self.latency_s
        return Prediction(
            latency,
            self.cost_usd * copies,
            self.energy_j * copies,
            self.quality,
            self.provenance,
            self.notes,
        )

    @property
    def extrapolated(self) -> bool:
        return self.provenance == "extrapolated"
