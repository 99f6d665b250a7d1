"""Text -> `.mk` AST, with every failure turned into a located diagnostic.

Before lark sees the text we reject what would make it misbehave: bytes that
are not UTF-8, NUL bytes, files over a size limit and nesting deep enough to
exhaust Python's stack in later recursive phases.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Iterator
from pathlib import Path

from lark import (
    Lark,
    Token,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError
from murakkab.frontend import ast
from murakkab.frontend.transform import AstBuilder
from murakkab.grammar import grammar_text
from murakkab.grammar.syntax_errors import MK_EXAMPLES
from murakkab.source import SourceFile, Span

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
_OPENERS, _CLOSERS = "([{<", ")]}>"
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"?|#[^\n]*')

_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "CMP": "a comparison (<, <=, >, >=)",
    "$END": "end of file",
}


@functools.cache
def mk_parser() -> Lark:
    # cache=True keeps lark's LALR tables in the temp dir, keyed by a hash of the
    # grammar and options: every `mkc` run after the first starts ~45 ms sooner.
    return Lark(
        grammar_text("mk"),
        parser="lalr",
        start=["start", "cli_slo"],
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


def read_source(path: Path, name: str) -> SourceFile:
    """Read a file as UTF-8 text, or raise a located MK00xx diagnostic."""
    start = Span.point(name, 1, 1)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DiagnosticError(
            [Diagnostic.error("MK0001", start, f"no such file: {name}")]
        ) from None
    except OSError as exc:
        message = f"cannot read {name}: {exc.strerror or exc}"
        raise DiagnosticError([Diagnostic.error("MK0001", start, message)]) from None
    return decode_source(data, name)


def decode_source(data: bytes, name: str) -> SourceFile:
    if len(data) > MAX_BYTES:
        message = f"file is {len(data)} bytes; job files are limited to {MAX_BYTES} bytes"
        raise DiagnosticError([Diagnostic.error("MK0105", Span.point(name, 1, 1), message)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = SourceFile.of(name, data.decode("utf-8", "replace"))
        span = Span.point(name, *shown.position(len(data[: exc.start].decode("utf-8", "replace"))))
        message = f"byte 0x{data[exc.start]:02x} is not UTF-8 text; is this a binary file?"
        error = Diagnostic.error("MK0104", span, message)
        raise DiagnosticError([error], {name: shown}) from None
    source = SourceFile.of(name, text.removeprefix("\ufeff"))
    nul = source.text.find("\0")
    if nul >= 0:
        span = Span.point(name, *source.position(nul))
        message = "file contains a NUL character; is this a binary file?"
        raise DiagnosticError([Diagnostic.error("MK0104", span, message)], {name: source})
    return source


def parse_source(source: SourceFile) -> ast.MkFile:
    """Parse a whole `.mk` file."""
    _check_depth(source)
    diagnostics = DiagnosticBag()
    with _collector_paused():
        tree = _parse(source, "start")
        items = AstBuilder(source.name, diagnostics).transform(tree)
    diagnostics.raise_if_errors()
    return ast.MkFile(source.name, tuple(items), _comments(source))


def parse_cli_slo(source: SourceFile) -> ast.CliSlo:
    """Parse the value of one `--slo` flag."""
    _check_depth(source)
    tree = _parse(source, "cli_slo")
    diagnostics = DiagnosticBag()
    result: ast.CliSlo = AstBuilder(source.name, diagnostics).transform(tree)
    diagnostics.raise_if_errors()
    return result


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing allocates many small, acyclic objects; the cyclic garbage collector
    would rescan the growing heap again and again (measured by bench/frontend.py:
    a 10,000-task file parses about 1.5x faster without it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(source: SourceFile, start: str) -> Tree:
    parser = mk_parser()
    try:
        return parser.parse(source.text, start=start)
    except UnexpectedInput as error:
        raise DiagnosticError([_syntax_diagnostic(source, error, start)]) from None


def _syntax_diagnostic(source: SourceFile, error: UnexpectedInput, start: str) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        char = source.text[offset] if offset < len(source.text) else ""
        span = Span.point(source.name, line, column)
        if char == '"':
            return Diagnostic.error(
                "MK0103",
                span,
                "unterminated string literal",
                hint=r"close the string on the same line; write \n for a line break",
            )
        shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
        return Diagnostic.error(
            "MK0102", span, f"unexpected character '{shown}'", *_expected_note(error.allowed)
        )
    token = error.token if isinstance(error, UnexpectedToken) else None
    if isinstance(error, UnexpectedEOF) or (token is not None and token.type == "$END"):
        end_line, end_column = source.position(max(len(source.text) - 1, 0))
        span = Span.point(source.name, end_line, end_column)
        expected: set[str] = getattr(error, "expected", set())
        return Diagnostic.error(
            "MK0101", span, "unexpected end of input", *_expected_note(expected)
        )
    assert token is not None
    span = Span(source.name, line, column, token.end_line or line, token.end_column or column + 1)
    friendly = _match_example(error, start)
    notes = _expected_note(getattr(error, "expected", set()))
    if friendly is not None:
        message, hint = friendly
        return Diagnostic.error("MK0101", span, message, *notes, hint=hint)
    return Diagnostic.error("MK0101", span, f"unexpected {_describe(token)}", *notes)


def _match_example(error: UnexpectedInput, start: str) -> tuple[str, str] | None:
    """The friendly message whose examples fail in the same parser state.

    lark's own `match_examples` also compares stack depth, so an example would
    only match at the nesting level it was written at; the LALR state alone
    says what was being parsed.
    """
    state = getattr(error, "state", None)
    if start != "start" or state is None:
        return None
    label = _example_states().get(state.position)
    return None if label is None else (label, MK_EXAMPLES[label][0])


@functools.cache
def _example_states() -> dict[int, str]:
    states: dict[int, str] = {}
    for label, (_, snippets) in MK_EXAMPLES.items():
        for snippet in snippets:
            try:
                mk_parser().parse(snippet, start="start")
            except UnexpectedInput as error:
                state = getattr(error, "state", None)
                if state is not None:
                    states.setdefault(state.position, label)
    return states


def _describe(token: Token) -> str:
    if token.type in ("NAME", "NUMBER", "STRING"):
        return f"{_TERMINAL_WORDS[token.type].split(' ', 1)[1]} {str(token)[:40]!r}"
    return f"'{token}'"


def _expected_note(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    words = sorted({_terminal_word(name) for name in names})
    if not words:
        return ()
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ("expected " + ", ".join(words),)


def _terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = mk_parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower()


def _check_depth(source: SourceFile) -> None:
    """Reject nesting deeper than MAX_DEPTH: later phases recurse over it."""
    text = _STRING_OR_COMMENT.sub(lambda m: " " * len(m.group()), source.text)
    depth = 0
    for offset, char in enumerate(text):
        if char in _OPENERS and (char != "<" or text.endswith("list", 0, offset)):
            depth += 1
            if depth > MAX_DEPTH:
                span = Span.point(source.name, *source.position(offset))
                message = f"nesting is deeper than {MAX_DEPTH} levels"
                raise DiagnosticError(
                    [Diagnostic.error("MK0105", span, message, hint="flatten the expression")]
                )
        elif char in _CLOSERS and (char != ">" or depth > 0):
            depth = max(0, depth - 1)


def _comments(source: SourceFile) -> tuple[ast.Comment, ...]:
    """Comments, for `mkc fmt`; strings are skipped so `#` inside them is not one."""
    out = []
    for match in _STRING_OR_COMMENT.finditer(source.text):
        if match.group().startswith("#"):
            line, column = source.position(match.start())
            span = Span(source.name, line, column, line, column + len(match.group()))
            out.append(ast.Comment(match.group(), span))
    return tuple(out)
