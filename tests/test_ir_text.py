"""The textual IR: printer, parser and verifier (docs/ir.md).

Round trips are checked both ways: `parse(print(m)) == m` and the re-print is
byte-identical, with and without debuginfo.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from murakkab.diagnostics import DiagnosticError
from murakkab.ir.core import (
    Const,
    Domain,
    Level,
    ListOperand,
    Literal,
    Module,
    Op,
    Operand,
    Region,
    Request,
    Value,
    Workflow,
)
from murakkab.ir.parser import IrBuilder, ir_parser, parse_module
from murakkab.ir.printer import print_module
from murakkab.ir.types import ANY, TEXT, ListType, Type, join, literal_type, prim, record
from murakkab.ir.verifier import verify_module
from murakkab.slo import Objective, SloBound, SloSpec
from murakkab.source import SourceFile, Span

CODE, LIST_CODE = prim("code"), ListType(prim("code"))


def const(value: Literal) -> Const:
    return Const(value, literal_type(value))


def operand_of(value: Literal) -> Operand:
    """In an operand list a bracket is a ListOperand, even of constants only."""
    if isinstance(value, tuple):
        return listing(*(operand_of(item) for item in value))
    return const(value)


def listing(*items: Operand) -> ListOperand:
    return ListOperand(items, ListType(join([item.type for item in items])))


def video_qa() -> Workflow:
    query, videos = Value("query", TEXT), Value("videos", ListType(prim("video")))
    scenes = Value("scenes", ListType(prim("scene")))
    frames = Value("frames", ListType(prim("image")))
    transcript, answer = Value("transcript", TEXT), Value("answer", TEXT)
    ops = (
        Op("video.scene_detect", scenes, (videos,)),
        Op("video.frame_extract", frames, (scenes,), (("frames", Domain((1, 5, 10))),)),
        Op("speech.transcribe", transcript, (scenes,), (("optional", True),)),
        Op(
            "llm.answer",
            answer,
            (query, listing(frames, transcript)),
            (("model", "gemma-3-27b"),),
            device="gpu:a100",
        ),
    )
    doc = "Answer a question about one or more videos."
    return Workflow("video_qa", (query, videos), TEXT, ops, answer, doc)


def code() -> Workflow:
    problem = Value("problem", TEXT)
    draft, proposals = Value("proposals.draft", CODE), Value("proposals", LIST_CODE)
    previous, debated = Value("debated.previous", LIST_CODE), Value("debated", LIST_CODE)
    report, picked = Value("debated.report", LIST_CODE), Value("r", ANY)
    parallel = Op(
        "flow.parallel",
        proposals,
        (),
        (("agents", Domain((2, 4))), ("knob", "debaters")),
        region=Region((), (Op("code.generate", draft, (problem,)),), draft),
    )
    run_tests = Op("code.run_tests", report, (previous, const("assert f(1) == 1")))
    repeat = Op(
        "flow.repeat",
        debated,
        (proposals,),
        (("knob", "rounds"), ("rounds", Domain((2, 4)))),
        region=Region((previous,), (run_tests,), report),
    )
    args = (debated, const(3), const(2.5), const(True), listing(problem, const("x")))
    task = Op("nl.task", picked, args, (("description", "Pick one."),))
    return Workflow("code", (problem,), CODE, (parallel, repeat, task), picked)


def example() -> Module:
    slo = SloSpec(
        (
            SloBound("cost", "<", 2.0),
            SloBound("latency", "<", 30.0),
            SloBound("quality", ">=", tier="good"),
        ),
        Objective("minimize", "energy"),
    )
    requests = (
        Request("video_qa", ("Who is wearing the red dress?", ("road_trip.mp4",)), slo),
        Request("code", ("fib",), SloSpec((), Objective("minimize", "cost"))),
    )
    return Module(Level.LOGICAL, (video_qa(), code()), requests)


EXAMPLE_TEXT = """\
level logical

workflow @video_qa(%query: text, %videos: list<video>) -> text {
  doc "Answer a question about one or more videos."
  %scenes = video.scene_detect(%videos) : list<scene>
  %frames = video.frame_extract(%scenes) {frames in {1, 5, 10}} : list<image>
  %transcript = speech.transcribe(%scenes) {optional = true} : text
  %answer = llm.answer(%query, [%frames, %transcript]) {model = "gemma-3-27b"} @gpu:a100 : text
  return %answer
}

workflow @code(%problem: text) -> code {
  %proposals = flow.parallel() {agents in {2, 4}, knob = "debaters"} : list<code> {
    %proposals.draft = code.generate(%problem) : code
    yield %proposals.draft
  }
  %debated = flow.repeat(%debated.previous = %proposals) {knob = "rounds", rounds in {2, 4}} \
: list<code> {
    %debated.report = code.run_tests(%debated.previous, "assert f(1) == 1") : list<code>
    yield %debated.report
  }
  %r = nl.task(%debated, 3, 2.5, true, [%problem, "x"]) {description = "Pick one."} : any
  return %r
}

run @video_qa("Who is wearing the red dress?", ["road_trip.mp4"]) \
slo {cost < 2usd, latency < 30s, quality >= good} minimize energy
run @code("fib") minimize cost
"""


def parse(text: str, name: str = "t.mkir") -> Module:
    return parse_module(SourceFile.of(name, text))


def assert_round_trip(module: Module, debuginfo: bool = False) -> str:
    text = print_module(module, debuginfo)
    parsed = parse(text)
    assert parsed == module
    assert print_module(parsed, debuginfo) == text
    return text


# ---- printer and round trip --------------------------------------------------------


def test_example_prints_canonically_and_round_trips() -> None:
    assert assert_round_trip(example()) == EXAMPLE_TEXT
    assert verify_module(example()) == []


def test_empty_module_and_requests_only() -> None:
    assert assert_round_trip(Module(Level.PLACED, ())) == "level placed\n"
    module = Module(Level.LOGICAL, (), (Request("w", (), SloSpec()),))
    assert assert_round_trip(module) == "level logical\n\nrun @w()\n"


def test_debuginfo_prints_and_reads_locations() -> None:
    scenes = video_qa().ops[0]
    span = Span('dir/we"ird.mk', 7, 3, 7, 9)
    workflow = video_qa().replace(ops=(scenes.replace(span=span), *video_qa().ops[1:]))
    module = Module(Level.LOGICAL, (workflow, code()))
    text = assert_round_trip(module, debuginfo=True)
    assert 'list<scene> loc("dir/we\\"ird.mk":7:3)\n' in text
    assert parse(text).workflows[0].ops[0].span == Span.point('dir/we"ird.mk', 7, 3)
    assert "loc(" not in print_module(module)


def test_ops_without_loc_get_their_place_in_the_text() -> None:
    module = parse(EXAMPLE_TEXT, "x.mkir")
    region = module.workflows[1].ops[0].region
    assert region is not None
    draft = region.ops[0]
    assert (draft.span.file, draft.span.line, draft.span.column) == ("x.mkir", 14, 5)


LITERALS: list[Literal] = [
    "",
    'quote " backslash \\ newline \n tab \t cr \r nul \0',
    "unicode: é 日本語 😀 \u200b \u2028 \x7f \U000e0001",
    0,
    -17,
    10**30,
    2.5,
    -0.5,
    1e-05,
    1e16,
    123456.789,
    True,
    False,
    (),
    (1, "a", (True, ())),
]


@pytest.mark.parametrize("value", LITERALS, ids=repr)
@pytest.mark.parametrize("debuginfo", [False, True])
def test_literal_round_trips_everywhere(value: Literal, debuginfo: bool) -> None:
    """As an operand, an attribute, a knob domain value and a request argument."""
    out = Value("out", TEXT)
    operand = operand_of(value)
    attrs = (("a", value), ("b", Domain((value, 1))))
    workflow = Workflow("w", (), TEXT, (Op("f.g", out, (operand,), attrs),), operand)
    module = Module(Level.LOGICAL, (workflow,), (Request("w", (value,), SloSpec()),))
    assert_round_trip(module, debuginfo)


def test_types_round_trip() -> None:
    types: list[Type] = [
        record({"b": ListType(TEXT), "a": record({})}),
        ListType(ListType(prim("audio"))),
        ANY,
    ]
    params = tuple(Value(f"p{i}", ty) for i, ty in enumerate(types))
    workflow = Workflow("w", params, types[0], (), params[0])
    text = assert_round_trip(Module(Level.LOGICAL, (workflow,)))
    assert "%p0: record{a: record{}, b: list<text>}" in text


def test_nested_list_operands() -> None:
    a = Value("a", TEXT)
    nested = listing(a, listing(const(1), const("x")), listing())
    workflow = Workflow("w", (a,), ANY, (), nested)
    text = assert_round_trip(Module(Level.LOGICAL, (workflow,)))
    assert 'return [%a, [1, "x"], []]' in text


def test_slo_numbers_print_in_canonical_units() -> None:
    spec = SloSpec((SloBound("cost", "<=", 0.125), SloBound("energy", "<", 1e-05)))
    module = Module(Level.LOGICAL, (), (Request("w", (), spec),))
    text = assert_round_trip(module)
    assert text.endswith("run @w() slo {cost <= 0.125usd, energy < 1e-05J}\n")


def test_whitespace_and_comments_are_insignificant() -> None:
    squashed = "# mkc: opt {file}\nlevel logical workflow @w(%a:text)->text{return %a}"
    assert print_module(parse(squashed)) == (
        "level logical\n\nworkflow @w(%a: text) -> text {\n  return %a\n}\n"
    )


SCALARS = st.one_of(
    st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
)
LITERAL_TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3).map(tuple))


@settings(max_examples=80, deadline=None)
@given(st.lists(LITERAL_TREES, max_size=4), st.booleans())
def test_any_literals_round_trip(values: list[Literal], debuginfo: bool) -> None:
    out = Value("out", TEXT)
    operands = tuple(operand_of(value) for value in values)
    attrs = tuple((f"a{index}", value) for index, value in enumerate(values))
    workflow = Workflow("w", (), TEXT, (Op("f.g", out, operands, attrs),), out)
    request = Request("w", tuple(values), SloSpec())
    assert_round_trip(Module(Level.LOGICAL, (workflow,), (request,)), debuginfo)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('level logical@%w(){}[]<>:=,."#\n0-9e txt'))))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    try:
        parse(text)
    except DiagnosticError as error:
        assert error.diagnostics[0].code in ("MK0401", "MK0402")


def test_every_grammar_rule_has_a_transformer_method() -> None:
    names = set()
    for rule in ir_parser().rules:
        inlined = rule.options.expand1 and len(rule.expansion) == 1
        if rule.alias is not None or not (rule.origin.name.startswith("_") or inlined):
            names.add(str(rule.alias or rule.origin.name))
    assert names and all(callable(getattr(IrBuilder, name, None)) for name in names)


# ---- parse errors ------------------------------------------------------------------

WORKFLOW = "level logical\nworkflow @w(%a: text) -> text {\n"

PARSE_ERRORS = [
    ("", "MK0401", 1, 1, "unexpected end of input"),
    ("level cosmic\n", "MK0401", 1, 7, "unknown level 'cosmic'"),
    ("level logical\nworkflow w() -> text {}", "MK0401", 2, 10, "unexpected 'w'"),
    (WORKFLOW + "  return %a\n", "MK0401", 3, 12, "unexpected end of input"),
    (WORKFLOW + "  %b = f.g(%a) : txt\n  return %b\n}", "MK0401", 3, 18, "unknown type 'txt'"),
    (WORKFLOW + '  return "a\\qb"\n}', "MK0401", 3, 12, "invalid escape"),
    (WORKFLOW + '  return "open\n}', "MK0401", 3, 10, "unterminated string"),
    (WORKFLOW + "  return 1e999\n}", "MK0401", 3, 10, "out of range"),
    (WORKFLOW + "  %b = f.g(%c = %a) : text\n  return %b\n}", "MK0401", 3, 3, "region"),
    (
        WORKFLOW + "  %b = flow.repeat(%a, %c = %a) : text {\n  yield %c\n  }\n  return %b\n}",
        "MK0401",
        3,
        3,
        "leading operands",
    ),
    (WORKFLOW + "  %b = f.g() {x = 1, x = 2} : text\n  return %b\n}", "MK0401", 3, 22, "twice"),
    (WORKFLOW + "  return %nope\n}", "MK0402", 3, 10, "undefined value %nope"),
    (WORKFLOW + "  return " + "[" * 200 + "]" * 200 + "\n}", "MK0401", 3, 137, "nesting"),
    ("level logical\nrun @w() slo {latency < 30ms}", "MK0401", 2, 27, "unit 'ms'"),
    ("level logical\nrun @w() slo {cost > 2usd}", "MK0401", 2, 20, "bounded from above"),
    ("level logical\nrun @w() slo {quality >= 1.5}", "MK0401", 2, 26, "more than 100%"),
    ("level logical\nrun @w() slo {quality >= great}", "MK0401", 2, 26, "unknown tier"),
    ("level logical\nrun @w() slo {speed < 2}", "MK0401", 2, 15, "unknown metric"),
    ("level logical\nrun @w() slo {cost < 1, cost < 2}", "MK0401", 2, 25, "second bound"),
    ("level logical\nrun @w() maximize cost", "MK0401", 2, 10, "cannot maximize cost"),
]


@pytest.mark.parametrize(("text", "code", "line", "column", "message"), PARSE_ERRORS)
def test_parse_errors_are_located(
    text: str, code: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(DiagnosticError) as caught:
        parse(text)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == (code, line, column)
    assert message in diagnostic.message


def test_syntax_error_says_what_was_expected() -> None:
    with pytest.raises(DiagnosticError) as caught:
        parse(WORKFLOW + "  %b = f.g() ; text\n}")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.notes == ("expected ':', '{', a @device",)


def test_no_prefix_of_the_example_crashes_the_parser() -> None:
    """Every truncation either parses or fails with a diagnostic, never a traceback."""
    for end in range(len(EXAMPLE_TEXT)):
        try:
            parse(EXAMPLE_TEXT[:end])
        except DiagnosticError as error:
            assert error.diagnostics[0].code in ("MK0401", "MK0402")


# ---- verifier ----------------------------------------------------------------------


def single(op: Op, level: Level = Level.LOGICAL, params: tuple[Value, ...] = ()) -> Module:
    return Module(level, (Workflow("w", params, op.result.type, (op,), op.result),))


def codes(module: Module) -> list[str]:
    return [diagnostic.code for diagnostic in verify_module(module)]


X, Y = Value("x", TEXT), Value("y", TEXT)
BODY = Region((), (), const("draft"))

VERIFIER_CASES = [
    ("undefined", single(Op("f.g", Y, (X,))), ["MK0402"]),
    ("duplicate", single(Op("f.g", X, (X,)), params=(X,)), ["MK0402"]),
    ("use type", single(Op("f.g", Y, (Value("x", ANY),)), params=(X,)), ["MK0403"]),
    ("const type", single(Op("f.g", Y, (Const("v.mp4", prim("video")),))), ["MK0403"]),
    ("const list", single(Op("f.g", Y, (const(("a",)),))), ["MK0404"]),
    ("list type", single(Op("f.g", Y, (ListOperand((X,), TEXT),)), params=(X,)), ["MK0403"]),
    ("nan", single(Op("f.g", Y, (), (("k", float("nan")),))), ["MK0404"]),
    ("bad name", single(Op("f.g", Value("y z", TEXT), ())), ["MK0404"]),
    ("bad device", single(Op("f.g", Y, (), device="gpu:0")), ["MK0404"]),
    ("region", single(Op("f.g", Y, (), region=BODY)), ["MK0404"]),
    ("nl attrs", single(Op("nl.task", Y, ())), ["MK0404"]),
    ("no region", single(Op("flow.parallel", Y, (), (("agents", 2), ("knob", "k")))), ["MK0404"]),
    (
        "agents",
        single(Op("flow.parallel", Value("y", ListType(TEXT)), (), (("knob", "k"),), region=BODY)),
        ["MK0404"],
    ),
    (
        "parallel type",
        single(Op("flow.parallel", Y, (), (("agents", 2), ("knob", "k")), region=BODY)),
        ["MK0403"],
    ),
    (
        "repeat type",
        single(
            Op(
                "flow.repeat",
                Value("y", ANY),
                (X,),
                (("knob", "k"), ("rounds", 2)),
                region=Region((Value("p", ANY),), (), Value("p", ANY)),
            ),
            params=(X,),
        ),
        ["MK0403"],
    ),
    ("task ok", single(Op("nl.task", Y, (), (("description", "d"), ("impl", "i")))), []),
]


@pytest.mark.parametrize(
    ("module", "expected"),
    [case[1:] for case in VERIFIER_CASES],
    ids=[c[0] for c in VERIFIER_CASES],
)
def test_verifier_reports(module: Module, expected: list[str]) -> None:
    assert codes(module) == expected


def test_verifier_result_and_requests() -> None:
    workflow = Workflow("w", (X,), prim("code"), (), X)
    requests = (Request("w", (), SloSpec()), Request("nope", (), SloSpec()))
    module = Module(Level.LOGICAL, (workflow, workflow), requests)
    assert sorted(codes(module)) == ["MK0402", "MK0402", "MK0403", "MK0403", "MK0403"]


def test_verifier_knobs_agree_across_ops() -> None:
    wf = code()
    parallel = wf.ops[0].with_attrs(knob="rounds", agents=Domain((2, 3)))
    module = Module(Level.LOGICAL, (wf.replace(ops=(parallel, *wf.ops[1:])),))
    assert codes(module) == ["MK0404"]


def test_values_in_a_region_are_not_visible_after_it() -> None:
    wf = code()
    module = Module(Level.LOGICAL, (wf.replace(result=Value("proposals.draft", CODE)),))
    assert codes(module) == ["MK0402"]


def test_physical_and_placed_levels() -> None:
    op = Op("f.g", Y, (), (("frames", Domain((1, 2))),))
    assert codes(single(op, Level.PHYSICAL)) == ["MK0405", "MK0405"]  # domain, no impl
    assert codes(single(op.with_attrs(frames=1, impl="x"), Level.PHYSICAL)) == []
    assert codes(single(Op("f.g", Value("y", ANY), (), (("impl", "x"),)), Level.PHYSICAL)) == [
        "MK0405",
        "MK0405",
    ]
    task = Op("nl.task", Y, (), (("description", "d"), ("impl", "i")))
    assert codes(single(task, Level.PHYSICAL)) == ["MK0405"]
    placed = op.with_attrs(frames=1, impl="x")
    assert codes(single(placed, Level.PLACED)) == ["MK0405", "MK0405"]  # device, start
    assert codes(single(placed.replace(device="cpu").with_attrs(start=0.5), Level.PLACED)) == []
