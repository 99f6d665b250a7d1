"""Ops against their capability declarations: arity, operand types, knob values.

The structural verifier (`verifier.py`) knows nothing of the catalogue; this
check adds it for ops that name a known capability, so that hand-written or
pass-produced IR cannot call `video.scene_detect` on text. Ops the catalogue
does not know (`flow.*`, `nl.task`, ops later passes create) are left alone.
"""

from __future__ import annotations

from murakkab.catalogue import Capability, Catalogue
from murakkab.diagnostics import Diagnostic, sorted_diagnostics
from murakkab.frontend.resolve import format_literal, literal_fits
from murakkab.ir.core import Const, Domain, ListOperand, Module, Op, Operand
from murakkab.ir.types import ListType, Type, is_assignable


def check_signatures(module: Module, catalogue: Catalogue) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for workflow in module.workflows:
        for op in workflow.walk():
            capability = catalogue.lookup(op.name)
            if capability is not None:
                out.extend(_check_op(op, capability))
    return sorted_diagnostics(out)


def _check_op(op: Op, capability: Capability) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if len(op.operands) != len(capability.params):
        message = f"{op.name} takes {len(capability.params)} operand(s), not {len(op.operands)}"
        out.append(Diagnostic.error("MK0404", op.span, message, capability.signature()))
    for index, (operand, (name, expected)) in enumerate(zip(op.operands, capability.params), 1):
        if not _fits(operand, expected):
            message = (
                f"operand {index} ({name}) of {op.name} must be {expected}, not {operand.type}"
            )
            out.append(Diagnostic.error("MK0403", op.span, message))
    if not is_assignable(capability.result, op.result.type):
        message = f"{op.name} computes {capability.result}, not {op.result.type}"
        out.append(Diagnostic.error("MK0403", op.span, message))
    for name, value in op.attrs:
        knob = capability.knob(name)
        values = value.values if isinstance(value, Domain) else (value,)
        if knob is None:
            continue
        for item in values:
            if not knob.admits(item):
                message = f"{format_literal(item)} is outside the domain of knob '{name}'"
                note = f"{op.name} accepts {name} in {knob.describe_domain()}"
                out.append(Diagnostic.error("MK0403", op.span, message, note))
    return out


def _fits(operand: Operand, expected: Type) -> bool:
    """Constants may stand for media paths, as in the job language."""
    if isinstance(operand, Const):
        return literal_fits(operand.value, expected)
    if isinstance(operand, ListOperand) and isinstance(expected, ListType):
        return all(_fits(item, expected.element) for item in operand.items)
    return is_assignable(operand.type, expected)
