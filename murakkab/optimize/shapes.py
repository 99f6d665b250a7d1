"""How a reference workflow's profile configuration maps onto ops' knobs.

A workflow profile is keyed by a few knobs of the whole workflow (video Q/A:
model, frames, STT on/off; measured profiles add the STT model and the
detector on/off). Choosing one of its configurations fixes those
knobs on the ops that carry them; an optional task is dropped when its
configuration turns it off. `admits` says whether the ops as written allow
that configuration (a pin or a domain may rule it out).
"""

from __future__ import annotations

from collections.abc import Iterable

from murakkab.catalogue import Catalogue
from murakkab.ir.core import Domain, Literal, Op

# Which ops carry each profile knob, per reference workflow. A callable decides
# membership by op name; "agents"/"rounds" live on flow ops.
LLM_CODE = ("code.generate", "code.write_tests", "code.revise", "code.rank")
LLM_MATH = ("llm.solve", "llm.generate", "llm.critique", "llm.revise")
BINDINGS: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "video_qa": {
        "model": (("llm.answer",), "model"),
        "frames": (("video.frame_extract",), "frames"),
        "stt_model": (("speech.transcribe",), "model"),
    },
    "code_gen": {
        "model": (LLM_CODE + ("agents.debate",), "model"),
        "debaters": (("flow.parallel",), "agents"),
        "rounds": (("flow.repeat",), "rounds"),
    },
    "math_qa": {
        "model": (LLM_MATH + ("agents.self_reflect",), "model"),
        "rounds": (("flow.repeat",), "rounds"),
    },
}
# Video Q/A stages a configuration turns on or off (the reference profiles
# switch STT; profiles measured by `mkc profile` also switch the detector).
SWITCHES = {"stt": "speech.transcribe", "detector": "vision.detect_objects"}
# A composition op carries the counts as knobs of its own.
COMPOSITION_KNOBS = {"agents.debate": ("debaters", "rounds"), "agents.self_reflect": ("rounds",)}


def assignments(
    shape: str, config: Iterable[tuple[str, Literal]], ops: list[Op]
) -> tuple[dict[str, dict[str, Literal]], set[str]]:
    """Knob values per op, and the ops to drop, that a profile configuration means."""
    values: dict[str, dict[str, Literal]] = {}
    dropped: set[str] = set()
    for name, value in config:
        if shape == "video_qa" and name in SWITCHES:
            if value is False:
                dropped |= {op.result.name for op in ops if op.name == SWITCHES[name]}
            continue
        op_names, attr = BINDINGS[shape][name]
        for op in ops:
            if op.name in op_names:
                knob = name if op.name in COMPOSITION_KNOBS else attr
                values.setdefault(op.result.name, {})[knob] = value
    return values, dropped


def admits(
    shape: str,
    config: Iterable[tuple[str, Literal]],
    ops: list[Op],
    catalogue: Catalogue,
) -> bool:
    """Whether the ops as written allow this configuration."""
    config = tuple(config)
    values, dropped = assignments(shape, config, ops)
    by_name = {op.result.name: op for op in ops}
    for name in dropped:
        if by_name[name].attr("optional") is not True:
            return False
    if shape == "video_qa":
        for switch, op_name in SWITCHES.items():
            if dict(config).get(switch) is True and not any(op.name == op_name for op in ops):
                return False
    for op_name, knobs in values.items():
        op = by_name[op_name]
        for knob, value in knobs.items():
            if not _allowed(op, knob, value, catalogue):
                return False
    return True


def _allowed(op: Op, knob: str, value: Literal, catalogue: Catalogue) -> bool:
    written = op.attr(knob)
    if isinstance(written, Domain):
        return value in written.values
    if written is not None:
        return written == value
    capability = catalogue.lookup(op.name)
    declared = capability.knob(knob) if capability is not None else None
    return declared is None or declared.admits(value)
