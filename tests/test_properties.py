"""Property tests (hypothesis): `mkc` never crashes, and the IR printer is a fixpoint.

Robustness: random text and bytes, and mutations of the examples, the IR goldens and valid
`--slo` strings, either pass or exit 1 with a located `file:line:col: error[MKnnnn]`; never
an internal error (exit 70) or a traceback. Round trip: `print(parse(print(m))) == print(m)`
and `parse(print(m)) == m` for every example and for generated modules.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from murakkab.cli import main
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
from murakkab.ir.parser import parse_module
from murakkab.ir.printer import print_module
from murakkab.ir.types import PRIMITIVES, ListType, PrimType, RecordType, Type, join, literal_type
from murakkab.slo import MAX_BOUND, Objective, SloBound, SloSpec
from murakkab.source import SourceFile
from tests.goldens import EXAMPLES, example_ir, examples

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOCATED_ERROR = re.compile(r"^[^\n]*:\d+:\d+: error\[MK\d{4}\]", re.MULTILINE)
EXAMPLE_TEXTS = {name: (EXAMPLES / f"{name}.mk").read_text(encoding="utf-8") for name in examples()}
# Words, strings, numbers or single symbols: the units a token mutation moves around.
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|%?[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?|\s+|.', re.S)
VALID_SLOS = (
    "cost<2",
    "latency < 30 s, quality >= good",
    "cost < $2, minimize energy",
    "quality >= 64%, latency <= 2 min",
    "energy < 3 kWh, maximize quality",
)


# ---- running mkc in-process ------------------------------------------------------------


def run_mkc(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


def assert_handled(args: list[str]) -> None:
    """`mkc ARGS` succeeds, or fails with a located diagnostic; it never crashes."""
    try:
        status, _, err = run_mkc(args)
    except RecursionError as error:  # pragma: no cover - reported with the input
        raise AssertionError(f"mkc {' '.join(args)} raised {error!r}") from error
    assert status in (0, 1), f"mkc {' '.join(args)} exited {status}:\n{err}"
    assert "Traceback" not in err, err
    if status == 1:
        assert LOCATED_ERROR.search(err), f"exit 1 without a located error:\n{err}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding copies of the examples, so that a mutated file's imports resolve."""
    folder = tmp_path_factory.mktemp("fuzz")
    for name, text in EXAMPLE_TEXTS.items():
        (folder / f"{name}.mk").write_text(text, encoding="utf-8")
    return folder


def check_and_compile(workdir: Path, data: bytes) -> None:
    path = workdir / "fuzz.mk"
    path.write_bytes(data)
    # A real file, never os.devnull: `-o` replaces its target atomically.
    output = workdir / "fuzz.out.mkir"
    assert_handled(["check", str(path)])
    assert_handled(["compile", str(path), "-p", "none", "--emit", "ir", "-o", str(output)])


# ---- mutations ---------------------------------------------------------------------------

VOCABULARY = sorted(
    {
        token
        for text in EXAMPLE_TEXTS.values()
        for token in TOKEN.findall(text)
        if not token.isspace()
    }
    | set('()[]{}<>,:=.%@#"\\$')
    | {"task", "parallel", "repeat", "from", "as", "yield", "return", "list<", "record{", "\n"}
)


@st.composite
def mutated(draw: st.DrawFn, text: str, max_edits: int = 4) -> str:
    """`text` after a few character or token edits: delete, insert, duplicate, swap, truncate."""
    for _ in range(draw(st.integers(1, max_edits))):
        units = TOKEN.findall(text) if draw(st.booleans()) else list(text)
        if not units:
            units = [""]
        edit = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "truncate"]))
        at = draw(st.integers(0, len(units) - 1))
        if edit == "delete":
            del units[at]
        elif edit == "insert":
            units.insert(at, draw(st.sampled_from(VOCABULARY) | st.characters()))
        elif edit == "duplicate":
            units.insert(at, units[at])
        elif edit == "swap":
            other = draw(st.integers(0, len(units) - 1))
            units[at], units[other] = units[other], units[at]
        else:
            units = units[:at]
        text = "".join(units)
    return text


mutated_example = st.sampled_from(sorted(EXAMPLE_TEXTS)).flatmap(
    lambda name: mutated(EXAMPLE_TEXTS[name])
)


# ---- mkc never crashes -------------------------------------------------------------------


@FUZZ
@given(text=st.text())
@example(text="[" * 5000)
@example(text="workflow w() -> " + "list<" * 5000 + "text")
@example(text="run w(" + "[" * 5000 + ")")
@example(text="# " + "x" * 200_000)
@example(text="task " * 50_000)
@example(text='"' + "\\" * 9999 + '"')
def test_random_text_is_handled(workdir: Path, text: str) -> None:
    check_and_compile(workdir, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.binary(max_size=2000))
@example(data=b"\xff\xfe\x00")
@example(data=b"workflow w() -> text {\x00}")
@example(data=b"import stdlib.llm\n" + b"\xc3\x28")
@example(data=b"\xef\xbb\xbf" + EXAMPLE_TEXTS["video_qa"].encode())
@example(data=b"(" * 100_000)
def test_random_bytes_are_handled(workdir: Path, data: bytes) -> None:
    check_and_compile(workdir, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_example)
def test_mutated_examples_are_handled(workdir: Path, text: str) -> None:
    check_and_compile(workdir, text.encode("utf-8", "surrogatepass"))


slo_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(VALID_SLOS).flatmap(lambda slo: mutated(slo, max_edits=3)),
)


@FUZZ
@given(slos=st.lists(slo_text, min_size=1, max_size=3))
@example(slos=["latency < 1e999 s"])
@example(slos=["cost < -1"])
@example(slos=["(" * 500])
def test_slo_flags_are_handled(workdir: Path, slos: list[str]) -> None:
    video_qa = str(workdir / "video_qa.mk")
    assert_handled(["compile", video_qa, "-p", "none", *(f"--slo={slo}" for slo in slos)])


def test_slo_flag_with_undecodable_bytes_is_handled(workdir: Path) -> None:
    # A shell passes bytes that are not UTF-8; Python's argv holds them as lone surrogates.
    assert_handled(["compile", str(workdir / "video_qa.mk"), "--slo=latency < 3\udcff s"])


ir_text = st.sampled_from(examples()).flatmap(lambda name: mutated(_example_ir(name), 6))


@FUZZ
@given(text=ir_text)
@example(text="level logical\n" + "workflow @w() -> " + "list<" * 5000 + "text {}")
@example(text="level logical workflow @w() -> text { return " + "[" * 5000 + "}")
def test_mutated_ir_is_handled_by_opt(workdir: Path, text: str) -> None:
    path = workdir / "fuzz.mkir"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_handled(["opt", str(path), "-o", str(workdir / "fuzz.out.mkir")])


_IR_CACHE: dict[str, str] = {}


def _example_ir(name: str) -> str:
    """The example's IR, as `python -m tests.goldens` writes it to tests/golden/ir/."""
    if name not in _IR_CACHE:
        _IR_CACHE[name] = example_ir(name)
    return _IR_CACHE[name]


# ---- printing is a fixpoint ----------------------------------------------------------------


def reparse(text: str) -> Module:
    return parse_module(SourceFile.of("<round-trip>", text))


@pytest.mark.parametrize("name", examples())
@pytest.mark.parametrize("debuginfo", [False, True])
def test_example_ir_print_is_a_fixpoint(name: str, debuginfo: bool) -> None:
    from murakkab.driver import compile_file

    module = compile_file(EXAMPLES / f"{name}.mk").module
    assert module is not None
    text = print_module(module, debuginfo=debuginfo)
    again = reparse(text)
    assert print_module(again, debuginfo=debuginfo) == text
    assert again == module


NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True) | st.sampled_from(
    ["level", "workflow", "return", "yield", "run", "slo", "in", "list", "record", "loc", "doc"]
)
VALUE_NAME = st.from_regex(r"[a-z_][a-z0-9_.]{0,10}", fullmatch=True)
OP_NAME = st.lists(NAME, min_size=1, max_size=3).map(".".join)
DEVICE = st.one_of(NAME, st.tuples(NAME, NAME).map(":".join))
STRING = st.text(max_size=20) | st.sampled_from(
    ['\\"\n\t\r\0', "\\u0041", "#", "\u2028\x85", "😀\U000e0001"]
)
SCALAR = st.one_of(
    STRING,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
LITERAL: st.SearchStrategy[Literal] = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=8
)


def _record(fields: list[tuple[str, Type]]) -> Type:
    unique = dict(fields)
    return RecordType(tuple(sorted(unique.items())))


TYPE: st.SearchStrategy[Type] = st.recursive(
    st.sampled_from(PRIMITIVES).map(PrimType),
    lambda inner: st.one_of(
        inner.map(ListType), st.lists(st.tuples(NAME, inner), max_size=3).map(_record)
    ),
    max_leaves=6,
)
ATTR_VALUE = LITERAL | st.lists(LITERAL, max_size=4).map(lambda values: Domain(tuple(values)))


class Names:
    """Fresh value names: the IR parser types a reference by the name's one definition."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw
        self.taken: set[str] = set()

    def fresh(self) -> str:
        name = self.draw(VALUE_NAME)
        if name in self.taken:
            name = f"{name}_{len(self.taken)}"
        self.taken.add(name)
        return name


def _operand(draw: st.DrawFn, scope: list[Value], depth: int = 0) -> Operand:
    """A reference, a scalar constant, or a list: a bracket operand parses as a ListOperand."""
    kinds = ["const", "list"] + (["value", "value"] if scope else [])
    kind = draw(st.sampled_from(kinds if depth < 2 else kinds[:1] + kinds[2:]))
    if kind == "const":
        value = draw(SCALAR)
        return Const(value, literal_type(value))
    if kind == "value":
        return draw(st.sampled_from(scope))
    items = tuple(_operand(draw, scope, depth + 1) for _ in range(draw(st.integers(0, 3))))
    return ListOperand(items, ListType(join([item.type for item in items])))


def _ops(draw: st.DrawFn, names: Names, scope: list[Value], depth: int) -> tuple[Op, ...]:
    ops: list[Op] = []
    for _ in range(draw(st.integers(0, 3 if depth == 0 else 2))):
        op = _op(draw, names, list(scope), depth)
        scope.append(op.result)
        ops.append(op)
    return tuple(ops)


def _op(draw: st.DrawFn, names: Names, scope: list[Value], depth: int) -> Op:
    result = Value(names.fresh(), draw(TYPE))
    operands = [_operand(draw, scope) for _ in range(draw(st.integers(0, 3)))]
    attrs = tuple(draw(st.dictionaries(NAME, ATTR_VALUE, max_size=3)).items())
    device = draw(st.none() | DEVICE)
    region: Region | None = None
    name = draw(OP_NAME)
    if depth < 2 and draw(st.booleans()):
        name = draw(st.sampled_from(["flow.parallel", "flow.repeat"]))
        args: tuple[Value, ...] = ()
        if name == "flow.repeat":
            args = (Value(names.fresh(), result.type),)
            operands = operands or [_operand(draw, scope)]
        inner = [*scope, *args]
        body = _ops(draw, names, inner, depth + 1)
        region = Region(args, body, _operand(draw, inner))
    return Op(name, result, tuple(operands), attrs, device, region)


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    names = Names(draw)
    params = tuple(Value(names.fresh(), draw(TYPE)) for _ in range(draw(st.integers(0, 3))))
    scope = list(params)
    ops = _ops(draw, names, scope, 0)
    doc = draw(st.none() | STRING)
    return Workflow(draw(NAME), params, draw(TYPE), ops, _operand(draw, scope), doc)


SLO_VALUE = st.floats(min_value=0, max_value=float(MAX_BOUND))  # larger bounds are errors
BOUND = st.one_of(
    st.builds(SloBound, st.sampled_from(["cost", "latency", "energy"]),
              st.sampled_from(["<", "<="]), value=SLO_VALUE),
    st.builds(SloBound, st.just("quality"), st.sampled_from([">", ">="]),
              value=st.floats(min_value=0, max_value=1)),
    st.builds(SloBound, st.just("quality"), st.sampled_from([">", ">="]),
              tier=st.sampled_from(["best", "good", "fair", "basic"])),
)  # fmt: skip
OBJECTIVE = st.sampled_from(
    [("minimize", "cost"), ("minimize", "energy"), ("minimize", "latency"), ("maximize", "quality")]
).map(lambda pair: Objective(*pair))


def _spec(bounds: list[SloBound], objective: Objective | None) -> SloSpec:
    by_metric = {bound.metric: bound for bound in bounds}
    return SloSpec(tuple(by_metric[m] for m in sorted(by_metric)), objective)


SPEC = st.builds(_spec, st.lists(BOUND, max_size=4), st.none() | OBJECTIVE)
REQUEST = st.builds(Request, NAME, st.lists(LITERAL, max_size=3).map(tuple), SPEC)
MODULE = st.builds(
    Module,
    st.sampled_from(list(Level)),
    st.lists(workflows(), max_size=3).map(tuple),
    st.lists(REQUEST, max_size=2).map(tuple),
)


@ROUND_TRIP
@given(module=MODULE)
def test_generated_module_print_is_a_fixpoint(module: Module) -> None:
    text = print_module(module)
    again = reparse(text)
    assert print_module(again) == text
    assert again == module
    assert print_module(again, debuginfo=True) == print_module(
        reparse(print_module(again, True)), True
    )


# ---- mkc fmt ---------------------------------------------------------------------------------


def _formatter() -> Callable[[str], str] | None:
    try:
        from murakkab.frontend.format import format_file
        from murakkab.frontend.parse import parse_source
    except ImportError:
        return None
    return lambda text: format_file(parse_source(SourceFile.of("<fmt>", text)))


def _parses(text: str) -> bool:
    from murakkab.diagnostics import DiagnosticError
    from murakkab.frontend.parse import parse_source

    with contextlib.suppress(DiagnosticError):
        parse_source(SourceFile.of("<fmt>", text))
        return True
    return False


@pytest.mark.skipif(_formatter() is None, reason="murakkab/frontend/format.py is not there yet")
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=mutated_example.filter(_parses) | st.sampled_from(sorted(EXAMPLE_TEXTS.values())))
def test_fmt_is_idempotent(text: str) -> None:
    format_text = _formatter()
    assert format_text is not None
    once = format_text(text)
    assert format_text(once) == once
