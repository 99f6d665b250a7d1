"""Unit tests of the frontend: parse, check and lower on tiny programs."""

from __future__ import annotations

from pathlib import Path

import pytest

from murakkab.frontend.parse import mk_parser
from murakkab.frontend.transform import AstBuilder
from murakkab.ir.core import Const, Domain, ListOperand, Value
from murakkab.ir.types import ANY, ListType, PrimType
from murakkab.source import UNKNOWN_SPAN
from tests.goldens import EXAMPLES, ROOT
from tests.helpers import error_codes, lower_text, warning_codes

HEADER = "".join(f"import stdlib.{m}\n" for m in ("video", "speech", "vision", "llm", "code"))


def wf(body: str, params: str = "query: text, videos: list<video>", result: str = "text") -> str:
    return f"{HEADER}\nworkflow w({params}) -> {result} {{\n{body}\n}}\n"


def test_every_grammar_rule_has_a_transformer_method() -> None:
    # The tree node a rule makes is named by its alias, else by the rule;
    # `?rule` alternatives without an alias are inlined and make no node.
    needed = {
        str(rule.alias or rule.origin.name)
        for rule in mk_parser().rules
        if not str(rule.origin.name).startswith("_") and (rule.alias or not rule.options.expand1)
    }
    missing = sorted(name for name in needed if not hasattr(AstBuilder, name))
    assert missing == []


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.mk")), ids=lambda p: p.stem)
def test_no_lowered_op_lacks_a_span(example: Path) -> None:
    module = lower_text(example.read_text(), str(example.relative_to(ROOT)))
    for workflow in module.workflows:
        for op in workflow.walk():
            assert op.span != UNKNOWN_SPAN, op.result.name
            assert op.span.file.endswith(".mk") and op.span.line >= 1


def test_tasks_may_be_written_in_any_order() -> None:
    module = lower_text(
        wf(
            "task answer = llm.answer(query, [frames])\n"
            "task frames = video.frame_extract(scenes)\n"
            "task scenes = video.scene_detect(videos)\n"
            "return answer"
        )
    )
    assert [op.result.name for op in module.workflows[0].ops] == ["scenes", "frames", "answer"]


def test_fan_out_and_fan_in_lower_to_shared_values_and_list_operands() -> None:
    module = lower_text(
        wf(
            "task scenes = video.scene_detect(videos)\n"
            "task frames = video.frame_extract(scenes)\n"
            "task transcript = speech.transcribe(scenes) optional\n"
            "task answer = llm.answer(query, [frames, transcript])\n"
            "return answer"
        )
    )
    ops = {op.result.name: op for op in module.workflows[0].ops}
    assert ops["frames"].operands[0] == ops["transcript"].operands[0] == ops["scenes"].result
    fan_in = ops["answer"].operands[1]
    assert isinstance(fan_in, ListOperand) and fan_in.type == ListType(ANY)
    assert ops["transcript"].attr("optional") is True


def test_knob_domains_and_pins_become_attributes() -> None:
    module = lower_text(
        wf(
            "task scenes = video.scene_detect(videos) on cpu\n"
            "task frames = video.frame_extract(scenes) with frames in {1, 5}, cores = 4\n"
            "task transcript = speech.transcribe(scenes) on gpu\n"
            'task answer = llm.answer(query, [frames, transcript]) using model "gemma-3-27b"'
            ' on gpu "h100"\n'
            "return answer"
        )
    )
    ops = {op.result.name: op for op in module.workflows[0].ops}
    assert ops["frames"].attr("frames") == Domain((1, 5)) and ops["frames"].attr("cores") == 4
    assert ops["answer"].attr("model") == "gemma-3-27b"
    devices = (ops["scenes"].device, ops["transcript"].device, ops["answer"].device)
    assert devices == ("cpu", "gpu", "gpu:h100")


def test_natural_language_task_is_unbound_and_gradually_typed() -> None:
    module = lower_text(
        wf('task summary = "Summarize what is said in the scenes."(videos)\nreturn summary')
    )
    op = module.workflows[0].ops[0]
    assert op.name == "nl.task" and op.result.type == ANY
    assert op.attr("description") == "Summarize what is said in the scenes."


def test_type_annotation_on_natural_language_task() -> None:
    text = wf('task n: number = "Count the people."(videos)\nreturn n', result="number")
    assert lower_text(text).workflows[0].ops[0].result.type == PrimType("number")
    assert error_codes(wf('task n: number = "Count."(videos)\nreturn n')) == ["MK0203"]
    assert "MK0203" in error_codes(wf("task n: number = llm.generate(query)\nreturn n"))


def test_parallel_yields_a_list_and_repeat_keeps_its_type() -> None:
    text = wf(
        "task drafts = parallel agents in {2, 4} {\n task d = code.generate(query)\n yield d\n}\n"
        "task best = repeat rounds in {1, 2} from drafts as prev {\n"
        '  task r = code.run_tests(prev, "assert True")\n'
        "  task again = parallel agents in {2, 4} {\n"
        "    task x = code.revise(query, prev, r)\n    yield x\n  }\n"
        "  yield again\n}\n"
        'task pick = code.rank(query, best, "assert True")\nreturn pick',
        params="query: text",
        result="code",
    )
    workflow = lower_text(text).workflows[0]
    drafts, best, _ = workflow.ops
    assert drafts.name == "flow.parallel" and drafts.result.type == ListType(PrimType("code"))
    assert drafts.attr("agents") == Domain((2, 4)) and drafts.attr("knob") == "agents"
    assert best.name == "flow.repeat" and best.region is not None
    assert best.region.args == (Value("best.prev", ListType(PrimType("code"))),)
    assert [op.result.name for op in best.region.ops] == ["best.r", "best.again"]


def test_repeat_must_yield_the_type_it_starts_from() -> None:
    text = wf(
        "task a = llm.generate(query)\n"
        "task b = repeat rounds in {1, 2} from a as prev {\n"
        " task n = video.scene_detect(videos)\n yield n\n}\n"
        "return b"
    )
    assert "MK0203" in error_codes(text)


def test_workflow_calls_are_inlined_with_prefixed_names() -> None:
    text = (
        HEADER
        + "workflow inner(q: text) -> text {\n task a = llm.generate(q)\n return a\n}\n"
        + "workflow outer(q: text) -> text {\n"
        + " task x = inner(q)\n task y = inner(x)\n return y\n}\n"
    )
    outer = lower_text(text).workflow("outer")
    assert outer is not None
    assert [op.result.name for op in outer.ops] == ["x.a", "y.a"]
    assert outer.ops[1].operands == (outer.ops[0].result,)
    assert outer.result == outer.ops[1].result


def test_literal_arguments_lower_to_constants() -> None:
    module = lower_text(wf('task a = llm.answer("What?", [query, "extra", 3])\nreturn a'))
    operands = module.workflows[0].ops[0].operands
    assert operands[0] == Const("What?", PrimType("text"))


def test_recursive_workflows_are_rejected() -> None:
    text = HEADER + "workflow f(q: text) -> text {\n task a = g(q)\n return a\n}\n"
    text += "workflow g(q: text) -> text {\n task b = f(q)\n return b\n}\n"
    assert "MK0208" in error_codes(text)


def test_file_imports_bring_workflows_and_detect_cycles(tmp_path: Path) -> None:
    (tmp_path / "a.mk").write_text('import "b.mk"\nworkflow a(q: text) -> text {\n return q\n}\n')
    (tmp_path / "b.mk").write_text('import "a.mk"\nworkflow b(q: text) -> text {\n return q\n}\n')
    (tmp_path / "main.mk").write_text('import "a.mk"\nimport "missing.mk"\n')
    from murakkab.diagnostics import DiagnosticError
    from murakkab.frontend.loader import load_program

    with pytest.raises(DiagnosticError) as raised:
        load_program(tmp_path / "main.mk")
    messages = [d.message for d in raised.value.diagnostics]
    assert any("import cycle" in m for m in messages)
    assert any("missing.mk" in m for m in messages)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("task a = video.scene_detect(query)\nreturn a", "MK0203"),
        ("task a = llm.answer(query)\nreturn a", "MK0204"),
        ("task a = video.frame_extract(videos)\nreturn a", "MK0203"),
        ('task a = llm.generate(query) using model "gpt-5"\nreturn a', "MK0206"),
        ('task a = llm.generate(query) with max_tokens = "many"\nreturn a', "MK0206"),
        ("task a = llm.generate(query) with tp in {1}, tp in {2}\nreturn a", "MK0206"),
        ("task a = llm.generate(query) on tpu\nreturn a", "MK0212"),
        ('task a = llm.generate(query) on gpu "v100"\nreturn a', "MK0212"),
        ("task a = llm.generate(query) on gpu on cpu\nreturn a", "MK0212"),
        (
            "task a = parallel n in {0, 2} { task b = llm.generate(query) yield b }\nreturn query",
            "MK0206",
        ),
        ("task a = llm.generate(query)\nreturn a\nreturn query", "MK0213"),
        ("task a = llm.generate(query)\ntask query = llm.generate(a)\nreturn a", "MK0207"),
    ],
)
def test_check_errors(body: str, code: str) -> None:
    assert code in error_codes(wf(body))


def test_unused_values_are_warnings_not_errors() -> None:
    text = wf("task a = llm.generate(query)\ntask b = llm.generate(query)\nreturn a")
    assert error_codes(text) == []
    assert warning_codes(text).count("MK0210") == 2  # b, and the unused `videos`


def test_several_errors_are_reported_in_one_run() -> None:
    text = wf("task a = video.scene_detect(query)\ntask b = nothing(a)\nreturn c")
    assert {"MK0203", "MK0202", "MK0201"} <= set(error_codes(text))


def _call_chain(count: int, calls_per_workflow: int) -> str:
    """w0 calls w1 (`calls_per_workflow` times), which calls w2, ..."""
    parts = [HEADER]
    for i in range(count - 1):
        tasks = [f" task t0 = w{i + 1}(q)"]
        tasks += [f" task t{k} = w{i + 1}(t{k - 1})" for k in range(1, calls_per_workflow)]
        parts.append(
            f"workflow w{i}(q: text) -> text {{\n"
            + "\n".join(tasks)
            + f"\n return t{calls_per_workflow - 1}\n}}\n"
        )
    parts.append(
        f"workflow w{count - 1}(q: text) -> text {{\n task a = llm.generate(q)\n return a\n}}\n"
    )
    return "".join(parts)


def test_deep_call_chains_are_a_diagnostic_not_a_crash() -> None:
    assert error_codes(_call_chain(500, 1)) == ["MK0105"]


def test_exponential_inlining_is_a_diagnostic_not_a_hang() -> None:
    assert error_codes(_call_chain(30, 2)) == ["MK0105"]


def test_moderate_call_chains_inline() -> None:
    module = lower_text(_call_chain(10, 2))
    assert len(module.workflow("w0").ops) == 2**9  # type: ignore[union-attr]
