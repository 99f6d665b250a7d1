"""bind-executors on tiny graphs: names, both scorers, type filters, retyping, diagnostics."""

from __future__ import annotations

from typing import Any

import pytest
from murakkab.passes.base import PassContext
from murakkab.passes.bind_executors import BindExecutorsPass, LexicalScorer, terms
from murakkab.passes.manager import parse_pipeline
from murakkab.stdlib import text_tools

from murakkab.catalogue import Capability, Catalogue, stdlib_catalogue
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.executors import ExecutorError
from murakkab.ir.core import Module
from murakkab.ir.parser import parse_module
from murakkab.ir.printer import print_module
from murakkab.ir.signatures import check_signatures
from murakkab.ir.types import TEXT
from murakkab.ir.verifier import verify_module
from murakkab.source import SourceFile


def _minilm_installed() -> bool:
    try:
        text_tools.encoder()
    except (ImportError, ExecutorError):
        return False
    return True


SCORERS = [
    pytest.param(
        "minilm",
        marks=pytest.mark.skipif(not _minilm_installed(), reason="MiniLM is not installed"),
    ),
    "lexical",
]


def module(params: str, body: str, result: str = "%t", result_type: str = "any") -> Module:
    header = f"level logical\n\nworkflow @w({params}) -> {result_type} {{\n"
    text = f"{header}{body}\n  return {result}\n}}\n"
    parsed = parse_module(SourceFile.of("t.mkir", text))
    assert verify_module(parsed) == []
    return parsed


def task(description: str, operands: str, extra: str = "", ty: str = "any") -> str:
    return f'  %t = nl.task({operands}) {{description = "{description}"{extra}}} : {ty}'


def bind(m: Module, ctx: PassContext | None = None, **options: Any) -> Module:
    out = BindExecutorsPass(**options).apply(m, ctx if ctx is not None else PassContext())
    assert verify_module(out) == [] and check_signatures(out, stdlib_catalogue()) == []
    return out


def failure(m: Module, ctx: PassContext | None = None, **options: Any) -> Diagnostic:
    with pytest.raises(DiagnosticError) as raised:
        BindExecutorsPass(**options).apply(m, ctx if ctx is not None else PassContext())
    (diagnostic,) = raised.value.diagnostics
    return diagnostic


def bound(m: Module, name: str = "t") -> tuple[str, str]:
    op = next(op for op in m.workflows[0].walk() if op.result.name == name)
    return op.name, str(op.result.type)


@pytest.mark.parametrize("description", ["speech.transcribe", " transcribe "])
def test_exact_names_bind_without_a_scorer(description: str) -> None:
    ctx = PassContext()
    out = bind(module("%s: list<scene>", task(description, "%s")), ctx)
    assert bound(out) == ("speech.transcribe", "text")
    (record,) = ctx.decisions
    assert record["scorer"] == "exact-name" and record["chosen"] == "speech.transcribe"


@pytest.mark.parametrize("embeddings", SCORERS)
@pytest.mark.parametrize(
    ("description", "params", "operands", "expected"),
    [
        ("Transcribe what is said in the scenes.", "%s: list<scene>", "%s", "speech.transcribe"),
        ("Write Python unit tests for the problem.", "%p: text", "%p", "code.write_tests"),
        ("Summarize the transcript.", "%x: text", "[%x]", "llm.summarize"),
        ("Extract a few frames from each scene.", "%s: list<scene>", "%s", "video.frame_extract"),
        ("Read the text shown on screen.", "%f: list<image>", "%f", "vision.read_text"),
    ],
)
def test_similarity_binds_with_both_scorers(
    embeddings: str, description: str, params: str, operands: str, expected: str
) -> None:
    ctx = PassContext()
    out = bind(module(params, task(description, operands)), ctx, embeddings=embeddings)
    assert bound(out)[0] == expected
    record = ctx.decisions[-1]
    assert record["scorer"] == embeddings and record["chosen"] == expected
    assert record["candidates"][0]["capability"] == expected


@pytest.mark.parametrize("embeddings", SCORERS)
def test_type_filtering_changes_the_answer(embeddings: str) -> None:
    description = "Read the text shown on screen."
    on_frames = module("%f: list<image>", task(description, "%f"))
    on_text = module("%f: text", task(description, "%f"))
    assert bound(bind(on_frames, embeddings=embeddings, min_score=0.1))[0] == "vision.read_text"
    assert bound(bind(on_text, embeddings=embeddings, min_score=0.1))[0] == "llm.generate"
    # The declared result type filters too: code, not text.
    wants_code = module("%p: text", task("Write code", "%p", ty="code"), result_type="code")
    assert bound(bind(wants_code, embeddings=embeddings)) == ("code.generate", "code")


def test_extracting_frames_from_text_is_no_match_with_the_reasons() -> None:
    m = module("%n: text", task("Extract frames from each scene.", "%n"))
    diagnostic = failure(m, embeddings="lexical")
    assert diagnostic.code == "MK0502" and "min-score" in diagnostic.message
    assert "  video.frame_extract: 0.67, operand 1 (scenes) must be list<scene>, not text" in (
        diagnostic.notes
    )
    assert diagnostic.hint is not None and "docs/executors.md" in diagnostic.hint


def test_uses_are_retyped_through_lists_and_regions() -> None:
    body = "\n".join(
        [
            '  %s = nl.task(%v) {description = "video.scene_detect"} : any',
            '  %x = nl.task(%s) {description = "speech.transcribe"} : any',
            '  %t = flow.parallel() {agents in {2, 4}, knob = "n"} : list<any> {',
            '    %t.sum = nl.task([%x, %q]) {description = "llm.summarize"} : any',
            "    yield %t.sum",
            "  }",
            '  %r = flow.repeat(%r.prev = %x) {knob = "k", rounds in {1, 2}} : any {',
            '    %r.next = nl.task(%r.prev) {description = "llm.generate"} : any',
            "    yield %r.next",
            "  }",
            "  %a = llm.answer(%q, [%t, %r]) : text",
        ]
    )
    out = bind(module("%q: text, %v: list<video>", body, result="%a", result_type="text"))
    text = print_module(out)
    assert '%t = flow.parallel() {agents in {2, 4}, knob = "n"} : list<text>' in text
    assert "%t.sum = llm.summarize([%x, %q])" in text
    assert "%r = flow.repeat(%r.prev = %x)" in text and ": text {" in text
    assert bound(out, "r.next") == ("llm.generate", "text")


def test_pins_and_constraints_are_kept_and_checked() -> None:
    extra = ', frames in {1, 5}, model = "x", optional = true'
    ok = module("%s: list<scene>", task("Extract frames", "%s", extra.replace(', model = "x"', "")))
    op = bind(ok, embeddings="lexical").workflows[0].ops[0]
    assert op.name == "video.frame_extract" and op.attr("optional") is True
    assert op.attr("description") == "Extract frames"
    assert str(op.attrs) == str(ok.workflows[0].ops[0].attrs)
    bad = module("%s: list<scene>", task("Extract frames", "%s", ", frames in {1, 20}"))
    diagnostic = failure(bad, embeddings="lexical")
    assert diagnostic.code == "MK0502"
    assert any("knob 'frames' takes {1, 5, 10}, not 20" in note for note in diagnostic.notes)
    unknown = module("%s: list<scene>", task("Extract frames", "%s", ", top_k = 3"))
    assert any("has no knob 'top_k'" in note for note in failure(unknown).notes)


def test_a_device_pin_filters_candidates() -> None:
    pinned = task("video.frame_extract", "%s").replace(" : any", " @gpu : any")
    m = module("%s: list<scene>", pinned)
    assert "runs on cpu, not gpu" in failure(m).notes[-1]


@pytest.mark.parametrize("embeddings", SCORERS)
def test_ambiguity_and_no_match_list_candidates(embeddings: str) -> None:
    m = module("%p: text", task("Write Python unit tests for the problem.", "%p"))
    ambiguous = failure(m, embeddings=embeddings, margin=0.9)
    assert ambiguous.code == "MK0503" and "code.write_tests" in ambiguous.message
    assert ambiguous.notes[1] == f"candidates ({embeddings} scores):"
    assert ambiguous.notes[2].startswith("  code.write_tests: ")
    nothing = failure(m, embeddings=embeddings, min_score=0.99)
    assert nothing.code == "MK0502" and len(nothing.notes) == 7


def test_an_exact_short_name_of_two_capabilities_is_ambiguous() -> None:
    diagnostic = failure(module("%p: text", task("generate", "%p")))
    assert diagnostic.code == "MK0503"
    assert diagnostic.message.endswith("code.generate and llm.generate both fit")


def test_lexical_fallback_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ExecutorError("text embeddings need onnxruntime")

    monkeypatch.setattr(text_tools, "encoder", missing)
    body = (
        task("Summarize the transcript.", "[%x]")
        + "\n"
        + task("Solve the math problem step by step.", "%x").replace("%t", "%u")
    )
    ctx = PassContext()
    out = bind(module("%x: text", body), ctx)
    assert [bound(out), bound(out, "u")] == [("llm.summarize", "text"), ("llm.solve", "text")]
    fallback = [d for d in ctx.decisions if "reason" in d]
    assert fallback == [
        {
            "pass": "bind-executors",
            "scorer": "lexical",
            "reason": "MiniLM is not available (text embeddings need onnxruntime)",
        }
    ]
    assert all(d["scorer"] == "lexical" for d in ctx.decisions)
    with pytest.raises(DiagnosticError) as raised:
        BindExecutorsPass(embeddings="minilm").apply(module("%x: text", body), PassContext())
    assert raised.value.diagnostics[0].code == "MK0501"


def test_decision_records_have_the_documented_shape() -> None:
    ctx = PassContext()
    bind(module("%p: text", task("Write Python unit tests for the problem.", "%p")), ctx)
    record = ctx.decisions[-1]
    assert set(record) == {"pass", "workflow", "op", "task", "chosen", "scorer", "candidates"}
    assert record["workflow"] == "w" and record["op"] == "t"
    assert len(record["candidates"]) == 5
    assert set(record["candidates"][0]) == {"capability", "score", "compatible", "why"}
    scores = [c["score"] for c in record["candidates"]]
    assert scores == sorted(scores, reverse=True)


def _twins() -> Catalogue:
    def twin(name: str) -> Capability:
        return Capability(f"x.{name}", (("a", TEXT),), TEXT, "Say hello.", "tool", ("cpu",), ())

    return Catalogue({"x": {"b": twin("b"), "a": twin("a")}}, {})


def test_ties_break_by_name_and_runs_are_deterministic() -> None:
    m = module("%p: text", task("Say hello to everyone.", "%p"))
    runs = []
    for _ in range(2):
        ctx = PassContext(catalogue=_twins())
        out = BindExecutorsPass(embeddings="lexical", margin=0.0).apply(m, ctx)
        runs.append((print_module(out), ctx.decisions))
    assert runs[0] == runs[1] and bound(out) == ("x.a", "text")
    ctx = PassContext(catalogue=_twins())
    assert failure(m, ctx, embeddings="lexical").code == "MK0503"


def test_lexical_terms_and_scores() -> None:
    assert terms("Writing the tests; write a test.") == {"writ": 2, "test": 2}
    caps = stdlib_catalogue().all()
    scores = LexicalScorer("t").scores("Summarize the transcript.", caps)
    best = max(zip(scores, (c.name for c in caps)))
    assert best[1] == "llm.summarize" and 0 < best[0] <= 1


def test_bad_embeddings_option_is_a_pipeline_error() -> None:
    with pytest.raises(DiagnosticError) as raised:
        parse_pipeline("bind-executors{embeddings=bert}")
    assert raised.value.diagnostics[0].code == "MK0501"
    (pass_,) = parse_pipeline("bind-executors{min-score=0.5,margin=0.1,embeddings=lexical}")
    assert pass_ == BindExecutorsPass(min_score=0.5, margin=0.1, embeddings="lexical")
