"""What every pass is, and what it may use.

A pass is a frozen dataclass whose fields are its options (`-p "name{opt=v}"`),
with a `name` and `apply(module, ctx) -> module`; its docstring says what it
does, requires and ensures (three lines). Passes never mutate: they return a
new module.

Physical IR (what `model-substitution` produces, DESIGN.md §1): every
capability op has an `impl` attribute naming its implementation and a single
value for every knob of its capability (no `in {...}` domains left); its
`device` is `cpu` (with a `cores` attribute) or `gpu:TYPExN` (GPU type and
count, e.g. `gpu:a100x4` for tensor parallelism 4) or `hosted`; LLM ops carry
`load`, the operating point on the model's latency-versus-load curve in output
tokens/s per instance; `flow.parallel`/`flow.repeat` counts are single values;
optional tasks that were dropped are gone, and so are their list operands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from murakkab.catalogue import Catalogue, stdlib_catalogue
from murakkab.cost.ops import CostContext
from murakkab.ir.core import Literal, Module
from murakkab.slo import SloSpec


@dataclass
class PassContext:
    """Shared by the passes of one pipeline run.

    `slos` and `args` hold, per workflow name, the SLO and inputs of the request
    the module is compiled for; `decisions` is the structured log `mkc explain`
    renders: one JSON-able dict per choice, rejected candidate or verdict.
    """

    catalogue: Catalogue = field(default_factory=stdlib_catalogue)
    cost: CostContext | None = None
    slos: dict[str, SloSpec] = field(default_factory=dict)
    args: dict[str, tuple[Literal, ...]] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    dump_smt: str | None = None  # `--dump-smt FILE`: placement writes its SMT-LIB problem there

    def decide(self, pass_name: str, **record: Any) -> None:
        self.decisions.append({"pass": pass_name, **record})

    def cost_context(self) -> CostContext:
        """The cost context, built from the defaults (shipped priors and the user's
        store, this machine) when the caller gave none."""
        if self.cost is None:
            from murakkab.cost.context import cost_context

            self.cost = cost_context(None, None, (), {})
        return self.cost


class Pass(Protocol):
    name: ClassVar[str]

    def apply(self, module: Module, ctx: PassContext) -> Module: ...
