"""How user-written text reaches emitted Python: only through these three doors.

Everything a user wrote (task text, names, inputs, node names, docstrings) is
data to the templates, and the templates put data into code only through:

- `py_literal` (the `|py` filter; `py_block`, `|pyblock`, lays it out over
  lines): a Python literal for plain data: str, int,
  float, bool, None, list, tuple and dict with str keys. Strings go through
  `repr`, which escapes quotes, backslashes and every non-printable character
  (newlines, `\\r`, NUL, U+2028, U+0085, bidi controls), so a literal is one
  line that evaluates back to the same value. Anything else is refused.
- `Identifiers` (the `identifier` names a view hands to the templates): names
  made of `[A-Za-z_][A-Za-z0-9_]*`, never a keyword, a builtin or a name the
  template itself uses, unique within the module.
- `doc_text` (the `|doc` filter): text for a docstring or comment line, with
  backslashes and double quotes escaped and every character that is not
  printable (line breaks included) written as an escape, so it can neither
  end the docstring nor start a new line.

Jinja never re-renders a value, so `{{ }}` or `{% %}` inside user text is inert.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Iterable
from typing import Any

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")
_RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


class UnsafeValue(TypeError):
    """A value that has no safe Python literal (an object, a non-str dict key)."""


def py_literal(value: Any) -> str:
    """A Python expression that evaluates to `value`, on one line."""
    kind = type(value)
    if value is None or kind is bool:
        return repr(value)
    if kind is int:
        return repr(value)
    if kind is float:
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if kind is str:
        return _str_literal(value)
    if kind is list:
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if kind is tuple:
        items = [py_literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise UnsafeValue(f"dict key {key!r} is not a str")
        return (
            "{" + ", ".join(f"{_str_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
        )
    raise UnsafeValue(f"no safe Python literal for a {kind.__name__}")


def py_block(value: Any, indent: int = 0, width: int = 96) -> str:
    """`py_literal`, laid out one item per line when it does not fit in `width`
    (the `|pyblock` filter, for data tables in emitted code)."""
    flat = py_literal(value)
    kind = type(value)
    if indent + len(flat) <= width or kind not in (list, dict) or not value:
        return flat
    pad = " " * (indent + 4)
    if kind is list:
        items = [py_block(item, indent + 4, width) for item in value]
    else:
        items = []
        for key, item in value.items():
            prefix = f"{_str_literal(key)}: "
            items.append(prefix + py_block(item, indent + 4, width - len(prefix)))
    close = " " * indent + ("]" if kind is list else "}")
    return ("[" if kind is list else "{") + "\n" + "".join(f"{pad}{i},\n" for i in items) + close


def _str_literal(text: str) -> str:
    # repr() of an exact str escapes quotes, backslashes and non-printable
    # characters; the check makes that guarantee explicit rather than assumed.
    quoted = repr(text)
    if not quoted.isprintable() or "\n" in quoted or "\r" in quoted:
        raise UnsafeValue("repr() left a line break in a string literal")  # pragma: no cover
    return quoted


def doc_text(text: Any) -> str:
    """`text` safe inside a `\"\"\"` docstring or after a `#`: one line, inert."""
    out: list[str] = []
    for char in str(text):
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char.isprintable():
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def sanitize(name: str, prefix: str = "op") -> str:
    """`name` as a Python identifier: other characters become `_`."""
    base = _NOT_IDENTIFIER.sub("_", name).strip("_") or prefix
    if base[0].isdigit() or base in _RESERVED:
        base = f"{prefix}_{base}"
    return base


class Identifiers:
    """Unique identifiers for one emitted module, in the order they are asked for.

    `taken` are the names the template itself defines or imports; a user name
    equal to one of them (or to a keyword or builtin) gets a prefix, and two
    names that sanitize alike get `_2`, `_3`, ...
    """

    def __init__(self, taken: Iterable[str] = ()):
        self._used = set(taken)
        self._given: dict[str, str] = {}

    def __call__(self, name: str, prefix: str = "op") -> str:
        if name in self._given:
            return self._given[name]
        base = sanitize(name, prefix)
        if base in self._used:
            base = f"{prefix}_{base}"
        chosen, index = base, 2
        while chosen in self._used or chosen in _RESERVED:
            chosen, index = f"{base}_{index}", index + 1
        self._used.add(chosen)
        self._given[name] = chosen
        return chosen
