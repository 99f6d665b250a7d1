"""String literal escapes, shared by the `.mk` parser, the IR parser and printers."""

from __future__ import annotations

from murakkab.source import Span

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "0": "\0"}
_QUOTE = {v: "\\" + k for k, v in _ESCAPES.items()}


ESCAPE_HINT = r"valid escapes are \n \t \r \" \\ \0 and \uXXXX"


class StringEscapeError(ValueError):
    def __init__(self, sequence: str, offset: int):
        super().__init__(f"invalid escape {sequence!r}")
        self.sequence = sequence
        self.offset = offset
        self.length = len(sequence)

    def span(self, literal: Span) -> Span:
        """Where the bad escape is, inside the literal (which starts with its quote)."""
        column = literal.column + 1 + self.offset
        return Span(literal.file, literal.line, column, literal.line, column + self.length)


def unescape(body: str) -> str:
    """Decode the text between the quotes of a string literal."""
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = body[index + 1 : index + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            index += 2
        elif code == "u" and _is_hex(body[index + 2 : index + 6]):
            point = int(body[index + 2 : index + 6], 16)
            if 0xD800 <= point <= 0xDFFF:
                raise StringEscapeError(body[index : index + 6], index)
            out.append(chr(point))
            index += 6
        else:
            raise StringEscapeError(
                body[index : index + 2] if code != "u" else body[index : index + 6], index
            )
    return "".join(out)


def quote(text: str) -> str:
    """The canonical literal for `text`: printable characters as they are, the rest escaped."""
    out = ['"']
    for char in text:
        if char in _QUOTE:
            out.append(_QUOTE[char])
        elif not char.isprintable() and ord(char) <= 0xFFFF:
            # \u escapes carry 16 bits; rarer characters beyond stay literal,
            # which the string grammar accepts.
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)
