"""What every pass is: a frozen dataclass whose fields are its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from murakkab.ir.core import Module


@dataclass
class PassContext:
    """Shared by the passes of one pipeline run; the decision log feeds `mkc explain`."""

    decisions: list[dict[str, object]] = field(default_factory=list)

    def decide(self, pass_name: str, **record: object) -> None:
        self.decisions.append({"pass": pass_name, **record})


class Pass(Protocol):
    name: ClassVar[str]

    def apply(self, module: Module, ctx: PassContext) -> Module: ...
