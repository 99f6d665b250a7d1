"""`mkc fmt`: the canonical layout, and the properties every layout must keep.

Properties: format is idempotent, keeps the AST (spans aside) and keeps every comment.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from murakkab.frontend import ast
from murakkab.frontend.format import format_file
from murakkab.frontend.parse import decode_source, parse_source
from murakkab.frontend.strings import quote

MESSY = r"""# Video question answering over a batch of clips.
#   (second header line, indentation inside the comment is kept)



import   stdlib.video   # scene detection, frames
import stdlib.llm
# between the imports
import "local/prompts.mk"
workflow   video_qa( videos :list< video >,question: text,) -> text
{   "Answer a question about a set of videos."
    # split first
    task scenes = video.scene_detect( videos )   # cheap, on cpu
    task frames :list<image> = "Extract evenly spaced frames."(scenes) with frames in {1,5,10}


    task caps = vision.caption(frames, [1, -2.50, "a\u0041\tb", true,false])
        with batch = 8, beam in {1, 2,}
        # pin the captioner
        using model "gemma-3-27b"   # best quality/cost
        on gpu "a100" optional
    task votes = parallel agents in {2 , 4} {   # N-way agents
        # each agent answers alone
        task a = llm.answer(question, caps) using model "llama-3-8b"
        yield a  # one vote
        # the block yields a list
    } with temperature in {0.1, 0.7}   # diversity
    task best = repeat round in {1,2} from votes as previous {
        task b = llm.refine(previous, question) on gpu
        yield b
    }
    return best # the final answer
    # nothing after return
}   # end video_qa
capability   frame_extract(scenes:list<scene>)->list<image>{
  "Extract frames."
  # a tool, not a model
  kind tool
  on cpu,gpu
  # frames per scene
  knob frames in {1,5,10}=5  # paper default
  knob t:number=0.3
}
run video_qa(["a.mp4", "b.mp4"], "What happens?") slo latency<30s,
  accuracy >= 64 %, cost<$2, quality>=good  # interactive
   minimize   energy
# trailing file comment

# last words
"""

CANONICAL = r"""# Video question answering over a batch of clips.
#   (second header line, indentation inside the comment is kept)

import stdlib.video  # scene detection, frames
import stdlib.llm
# between the imports
import "local/prompts.mk"

workflow video_qa(videos: list<video>, question: text) -> text {
    "Answer a question about a set of videos."
    # split first
    task scenes = video.scene_detect(videos)  # cheap, on cpu
    task frames: list<image> = "Extract evenly spaced frames."(scenes) with frames in {1, 5, 10}

    task caps = vision.caption(frames, [1, -2.50, "aA\tb", true, false])
        with batch = 8, beam in {1, 2}
        # pin the captioner
        using model "gemma-3-27b"  # best quality/cost
        on gpu "a100"
        optional
    task votes = parallel agents in {2, 4} {  # N-way agents
        # each agent answers alone
        task a = llm.answer(question, caps) using model "llama-3-8b"
        yield a  # one vote
        # the block yields a list
    } with temperature in {0.1, 0.7}  # diversity
    task best = repeat round in {1, 2} from votes as previous {
        task b = llm.refine(previous, question) on gpu
        yield b
    }
    return best  # the final answer
    # nothing after return
}  # end video_qa

capability frame_extract(scenes: list<scene>) -> list<image> {
    "Extract frames."
    # a tool, not a model
    kind tool
    on cpu, gpu
    # frames per scene
    knob frames in {1, 5, 10} = 5  # paper default
    knob t: number = 0.3
}

run video_qa(["a.mp4", "b.mp4"], "What happens?")
    slo latency < 30 s, accuracy >= 64%, cost < $2, quality >= good  # interactive
    minimize energy
# trailing file comment

# last words
"""

_ROOT = Path(__file__).parent.parent
STDLIB = sorted(_ROOT.glob("stdlib/*.mk")) + sorted(_ROOT.glob("examples/*.mk"))
EXAMPLES = [MESSY, CANONICAL] + [path.read_text(encoding="utf-8") for path in STDLIB]


def parse(text: str) -> ast.MkFile:
    return parse_source(decode_source(text.encode("utf-8"), "job.mk"))


def fmt(text: str) -> str:
    return format_file(parse(text))


def _normal(node: object) -> object:
    """The AST without spans (equality ignores them) and with string literals re-quoted."""
    if isinstance(node, ast.Lit) and isinstance(node.value, str):
        return dataclasses.replace(node, text=quote(node.value))
    if isinstance(node, tuple):
        return tuple(_normal(child) for child in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        fields = {f.name: _normal(getattr(node, f.name)) for f in dataclasses.fields(node)}
        return type(node)(**fields)
    return node


def assert_properties(text: str) -> None:
    original = parse(text)
    once = format_file(original)
    again = parse(once)
    assert format_file(again) == once, "format is not idempotent"
    assert _normal(again.items) == _normal(original.items), "format changed the meaning"
    before = Counter(c.text.rstrip() for c in original.comments)
    assert Counter(c.text for c in again.comments) == before, "format lost a comment"


# ---- the canonical layout ------------------------------------------------------------


def test_messy_workflow_formats_to_canonical_layout() -> None:
    assert fmt(MESSY) == CANONICAL


def test_canonical_text_is_a_fixed_point() -> None:
    assert fmt(CANONICAL) == CANONICAL


@pytest.mark.parametrize("text", EXAMPLES, ids=["messy", "canonical"] + [p.name for p in STDLIB])
def test_examples_keep_properties(text: str) -> None:
    assert_properties(text)


def test_empty_file_stays_empty() -> None:
    assert fmt("") == ""
    assert fmt("\n\n  \n") == ""


def test_comment_only_file() -> None:
    assert fmt("  # a   \n\n\n\n# b") == "# a\n\n# b\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("task x = f(a) optional", "    task x = f(a) optional"),
        ('task x = f() on gpu "h100"', '    task x = f() on gpu "h100"'),
        ("task x = f() with a = 1, b in {2}", "    task x = f() with a = 1, b in {2}"),
        ("task x = f() on cpu optional", "    task x = f()\n        on cpu\n        optional"),
    ],
)
def test_clause_layout(source: str, expected: str) -> None:
    text = fmt(f"workflow w() -> text {{ {source} }}")
    assert text == f"workflow w() -> text {{\n{expected}\n}}\n"


def test_long_single_clause_goes_on_a_continuation_line() -> None:
    description = "d" * 70
    text = fmt(f'workflow w() -> text {{ task x = "{description}"(a) using model "gemma-3-27b" }}')
    assert f'task x = "{description}"(a)\n        using model "gemma-3-27b"\n' in text


def test_slo_bounds_and_objective_lines() -> None:
    text = fmt("run w(1.50) slo cost <= $ 2, p>10ms, acc>=64  %, q>=good maximize quality")
    assert text == (
        "run w(1.50)\n    slo cost <= $2, p > 10 ms, acc >= 64%, q >= good\n    maximize quality\n"
    )


def test_literals_are_requoted_and_numbers_keep_their_text() -> None:
    text = fmt(r'run w("\u00e9\u0001\"\\", 1e3, -0.50, true)')
    assert text == r'run w("é\u0001\"\\", 1e3, -0.50, true)' + "\n"


def test_imports_stay_together_in_source_order() -> None:
    text = fmt('import "b.mk"\n\n\nimport a.b\nworkflow w() -> text {}\nimport c')
    assert text == 'import "b.mk"\nimport a.b\n\nworkflow w() -> text {\n}\n\nimport c\n'


def test_blank_lines_in_bodies_collapse_to_one() -> None:
    text = fmt("workflow w() -> text {\n\n\n  task a = f()\n\n\n\n  # c\n\n  return a\n\n}")
    assert text == "workflow w() -> text {\n    task a = f()\n\n    # c\n\n    return a\n}\n"


def test_trailing_comment_goes_to_the_statements_last_line() -> None:
    text = fmt("workflow w() -> text {\n task a = f(x,\n   y) with k in {1}  # why\n}")
    assert "    task a = f(x, y) with k in {1}  # why\n" in text


def test_two_trailing_comments_on_one_line_keep_both() -> None:
    text = fmt("workflow w() -> text {\n task a = f(x,  # one\n   y)  # two\n}")
    assert "    # one\n    task a = f(x, y)  # two\n" in text


def test_capability_comments_beside_kind_go_after_the_docstring() -> None:
    source = (
        'capability c() -> text {\n "Doc."\n kind tool  # a tool\n on cpu\n # per k\n knob k = 1\n}'
    )
    assert fmt(source) == (
        'capability c() -> text {\n    "Doc."\n    # a tool\n    kind tool\n    on cpu\n'
        "    # per k\n    knob k = 1\n}\n"
    )


# ---- properties over random edits ----------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"|#[^\n]*|[ \t]+|\n|[^ \t"#\n]+')
_SPACES = [" ", "  ", "\t", "\n", "\n\n   "]
_NEWLINES = ["\n", "\n\n\n", "  # own-line note\n", "  # note\n  # another\n\n"]


@st.composite
def edited(draw: st.DrawFn) -> str:
    """An example with its whitespace shuffled and comments sprinkled in."""
    text = draw(st.sampled_from(EXAMPLES))
    out: list[str] = []
    for index, token in enumerate(_TOKEN.findall(text)):
        if token == "\n":
            indent = " " * draw(st.integers(0, 8))
            token = draw(st.sampled_from(_NEWLINES)) + indent
        elif token.isspace():
            token = draw(st.sampled_from(_SPACES))
        out.append(token)
        if token.startswith('"') or token.startswith("#") or not draw(st.booleans()):
            continue
        if draw(st.integers(0, 9)) == 0:
            out.append(f"  # c{index}\n")
    return "".join(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_properties_hold_after_random_edits(text: str) -> None:
    assert_properties(text)


_GRAMMAR = _ROOT / "grammar" / "mk.lark"
_KEYWORDS = set(re.findall(r'"([a-z]+)"', _GRAMMAR.read_text(encoding="utf-8")))
_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in _KEYWORDS)
_STRINGS = st.text(st.characters(exclude_categories=["Cs"]), max_size=12).map(quote)
_NUMBERS = st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,2})?([eE][+-]?[0-9])?", fullmatch=True)
_LITERALS = st.one_of(_STRINGS, _NUMBERS, st.sampled_from(["true", "false"]))
_CLAUSES = st.one_of(
    st.builds(lambda n, v: f"with {n} = {v}", _NAMES, _LITERALS),
    st.builds(
        lambda n, vs: f"with {n} in {{{', '.join(vs)}}}",
        _NAMES,
        st.lists(_LITERALS, min_size=1, max_size=4),
    ),
    st.builds(lambda n, s: f"using {n} {s}", _NAMES, _STRINGS),
    st.sampled_from(["on gpu", 'on gpu "a100"', "optional"]),
)


@st.composite
def generated(draw: st.DrawFn) -> str:
    """A random workflow of tasks with random literals, clauses and comments."""
    lines = ["workflow w(v: list<video>) -> text {"]
    for index in range(draw(st.integers(1, 6))):
        args = ", ".join(draw(st.lists(st.one_of(_LITERALS, _NAMES), max_size=4)))
        callee = draw(st.one_of(_STRINGS, _NAMES))
        clauses = " ".join(draw(st.lists(_CLAUSES, max_size=4)))
        note = draw(st.sampled_from(["", "  # why", "\n# own", "\n\n"]))
        lines.append(f"task t{index} = {callee}({args}) {clauses}{note}")
    lines.append("return t0 }")
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated())
def test_properties_hold_on_generated_workflows(text: str) -> None:
    assert_properties(text)
