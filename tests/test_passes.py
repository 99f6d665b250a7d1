"""The pass registry, pipeline specs, and each pass's golden (named after the pass)."""

from __future__ import annotations

from pathlib import Path

import pytest
from murakkab.passes import REGISTRY
from murakkab.passes.base import PassContext
from murakkab.passes.dead_task_elimination import DeadTaskEliminationPass
from murakkab.passes.manager import parse_pipeline, run_pipeline

from murakkab.diagnostics import DiagnosticError
from murakkab.ir.core import Level, Module, Op, Value, Workflow
from murakkab.ir.types import TEXT
from tests.goldens import PASSES, run_mkc

PASS_GOLDENS = PASSES


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_pass_has_a_golden_named_after_it(name: str) -> None:
    source = PASS_GOLDENS / f"{name}.mkir"
    expected = PASS_GOLDENS / f"{name}.mkir.expected"
    assert source.exists() and expected.exists(), f"add tests/golden/passes/{name}.mkir"
    status, out, err = run_mkc(
        ["opt", f"tests/golden/passes/{name}.mkir", "-p", name, "--verify-each"]
    )
    assert status == 0, err
    assert out == expected.read_text(encoding="utf-8"), (
        f"reproduce: mkc opt tests/golden/passes/{name}.mkir -p {name}"
    )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_pass_name_file_and_class_agree(name: str) -> None:
    module, _, cls = REGISTRY[name].partition(":")
    assert module == "murakkab.passes." + name.replace("-", "_")
    assert cls == "".join(part.title() for part in name.split("-")) + "Pass"
    assert (
        Path(__file__).parent.parent.joinpath("passes", module.rsplit(".", 1)[1] + ".py").exists()
    )


def _chain() -> Module:
    q = Value("q", TEXT)
    a = Op("llm.generate", Value("a", TEXT), (q,))
    dead = Op("llm.generate", Value("dead", TEXT), (a.result,))
    b = Op("llm.critique", Value("b", TEXT), (q, a.result))
    return Module(Level.LOGICAL, (Workflow("w", (q,), TEXT, (a, dead, b), b.result),))


def test_dead_task_elimination_on_a_three_op_graph() -> None:
    ctx = PassContext()
    module = DeadTaskEliminationPass().apply(_chain(), ctx)
    assert [op.result.name for op in module.workflows[0].ops] == ["a", "b"]
    assert ctx.decisions == [
        {"pass": "dead-task-elimination", "workflow": "w", "removed": "dead", "op": "llm.generate"}
    ]


def test_pipeline_specs_parse_and_run_in_order() -> None:
    passes = parse_pipeline("dead-task-elimination, dead-task-elimination")
    assert [p.name for p in passes] == ["dead-task-elimination"] * 2
    assert parse_pipeline("") == []
    result = run_pipeline(_chain(), passes, verify_each=True)
    assert len(result.workflows[0].ops) == 2


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("dead-code", "unknown pass 'dead-code'"),
        ("dead-task-elimination{level=3}", "has no option 'level'"),
        ("dead-task-elimination,,", "expected a pass name"),
        ("Dead", "expected a pass name"),
    ],
)
def test_bad_pipeline_specs_are_diagnostics(spec: str, fragment: str) -> None:
    with pytest.raises(DiagnosticError) as raised:
        parse_pipeline(spec)
    diagnostic = raised.value.diagnostics[0]
    assert fragment in diagnostic.message and diagnostic.span.file == "-p"


def test_a_failing_pass_is_named_with_the_passes_before_it() -> None:
    class BrokenPass:
        name = "broken"

        def apply(self, module: Module, ctx: PassContext) -> Module:
            raise KeyError("oops")

    with pytest.raises(
        RuntimeError, match=r"pass 'broken' failed \(after: dead-task-elimination\)"
    ):
        run_pipeline(_chain(), [DeadTaskEliminationPass(), BrokenPass()])
