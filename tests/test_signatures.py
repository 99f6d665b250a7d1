"""IR ops are checked against their capability declarations."""

from __future__ import annotations

import pytest

from murakkab.catalogue import stdlib_catalogue
from murakkab.ir.parser import parse_module
from murakkab.ir.signatures import check_signatures
from murakkab.source import SourceFile


def problems(body: str, result: str = "text") -> list[str]:
    text = f"level logical\n\nworkflow @w(%q: text, %v: list<video>) -> {result} {{\n{body}\n}}\n"
    module = parse_module(SourceFile.of("t.mkir", text))
    return [d.message for d in check_signatures(module, stdlib_catalogue())]


def test_a_well_typed_op_passes() -> None:
    assert (
        problems('  %a = llm.answer(%q, [%q, "x"]) {model = "gemma-3-27b"} : text\n  return %a')
        == []
    )


def test_string_constants_may_stand_for_media() -> None:
    body = '  %s = video.scene_detect(["a.mp4"]) : list<scene>\n  return %s'
    assert problems(body, result="list<scene>") == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("  %a = llm.generate(%v) : text\n  return %a", "must be text, not list<video>"),
        ("  %a = llm.critique(%q) : text\n  return %a", "takes 2 operand(s), not 1"),
        ("  %a = llm.generate(%q) : number\n  return %q", "computes text, not number"),
        (
            "  %a = llm.generate(%q) {tp in {3}} : text\n  return %a",
            "outside the domain of knob 'tp'",
        ),
    ],
)
def test_mismatches_are_reported(body: str, fragment: str) -> None:
    assert any(fragment in message for message in problems(body))


def test_unknown_ops_are_left_to_later_passes() -> None:
    assert problems("  %a = fused.thing(%q) : text\n  return %a") == []
