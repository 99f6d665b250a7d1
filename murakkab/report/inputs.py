"""Workflow inputs from the command line: `mkc run --input NAME=VALUE`.

A value is read against its parameter's type (as a plan writes it: "text",
"list<video>"): text, code and media are the string as given (media by path);
`number` (a plain decimal: not `nan`, `inf` or `1_000`) and `bool` are parsed;
`list<T>` is a JSON list (`["a.mp4", "b.mp4"]`) or else one item, and repeating
the flag adds items; records are JSON objects (and nothing else).
`NAME=@FILE` reads the value from a UTF-8 file (one trailing newline dropped),
`NAME=@@text` is the literal "@text". Inputs not given come from what
`--resume` stored, then from the file's `run` request (`Plan.defaults`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from murakkab.plan import Plan


class InputError(ValueError):
    """A bad `--input`: the message names the flag and the inputs expected."""


def parse_inputs(plan: Plan, flags: list[str], stored: dict[str, Any]) -> dict[str, Any]:
    """The workflow's inputs: the file's `run` request, then what `--resume` stored,
    then `--input NAME=VALUE` flags (a list input's flags add up, in order)."""
    types = dict(plan.params)
    given: dict[str, Any] = {}
    for flag in flags:
        name, equals, text = flag.partition("=")
        name = name.strip()
        if not equals or not name:
            raise InputError(f"--input expects NAME=VALUE, got '{flag}'; {_expected(plan)}")
        if name not in types:
            raise InputError(f"--input {name}: no such input; {_expected(plan)}")
        value = input_value(name, _read_at(name, text), types[name])
        if name in given and types[name].startswith("list<"):
            given[name] = given[name] + value
        elif name in given:
            raise InputError(f"--input {name} is given twice; it is a {types[name]}, not a list")
        else:
            given[name] = value
    kept = {
        k: stored_value(k, v, types[k]) for k, v in stored.items() if k in types and k not in given
    }
    inputs = {**plan.defaults, **kept, **given}
    missing = [name for name in types if name not in inputs]
    if missing:
        raise InputError(
            f"missing --input for {', '.join(missing)} (the file has no `run` request giving"
            f" it); {_expected(plan)}"
        )
    return {name: inputs[name] for name in types}


def _expected(plan: Plan) -> str:
    params = ", ".join(f"{name}: {type_}" for name, type_ in plan.params) or "none"
    return f"{plan.workflow} takes {params}"


def _read_at(name: str, text: str) -> str:
    """`@FILE` reads the value from a text file (one trailing newline dropped);
    `@@...` is a literal value starting with '@'."""
    if text.startswith("@@"):
        return text[1:]
    if not text.startswith("@"):
        return text
    try:
        read = Path(text[1:]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InputError(f"--input {name}: cannot read {text[1:]}: {reason}") from error
    return read[:-1] if read.endswith("\n") else read


def input_value(name: str, text: str, type_: str) -> Any:
    """`text` as a value of the IR type `type_` (as a plan writes it, "list<video>").

    Media, code and text are strings (media by path); numbers and booleans are
    parsed; a list is a JSON list, or else one item; records are JSON objects.
    """
    if type_.startswith("list<") and type_.endswith(">"):
        element = type_[5:-1]
        if not text.lstrip().startswith("["):
            return [input_value(name, text, element)]
        try:
            items = json.loads(text)
        except ValueError as error:
            raise InputError(f"--input {name}: not a JSON list ({error})") from error
        if not isinstance(items, list):
            raise InputError(f"--input {name}: expected a JSON list of {element}")
        return [_json_item(name, item, element) for item in items]
    if type_ == "number":
        return _number(name, text)
    if type_ == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise InputError(f"--input {name}: '{text}' is not a bool (true or false)")
        return lowered in ("true", "1", "yes")
    if type_.startswith("record"):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise InputError(f"--input {name}: not a JSON object ({error})") from error
        if not isinstance(value, dict):
            raise InputError(f"--input {name}: expected a JSON object {{...}}, got {text.strip()}")
        return value
    return text


# A plain decimal number: no "nan", "inf", "1_000" or "0x10", which int() and
# float() would take but which nobody means as an input.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _number(name: str, text: str) -> int | float:
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        raise InputError(f"--input {name}: '{text}' is not a number (e.g. 3, -0.5, 1e3)")
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped)
    value = float(stripped)
    if not math.isfinite(value):
        raise InputError(f"--input {name}: '{text}' is too large a number")
    return value


def _json_item(name: str, item: Any, type_: str) -> Any:
    """One item of a JSON list, checked against the element type."""
    if isinstance(item, str):
        return input_value(name, item, type_)
    if type_ == "number" and _is_number(item):
        return item
    if type_ == "bool" and isinstance(item, bool):
        return item
    if type_.startswith("list<") and isinstance(item, list):
        return item
    if type_.startswith("record") and isinstance(item, dict):
        return item
    raise InputError(f"--input {name}: {json.dumps(item)} is not a {type_}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def stored_value(name: str, value: Any, type_: str) -> Any:
    """An input as `--resume` stored it in run.json (JSON data, not text), checked
    against its type; InputError when run.json was edited into something else."""
    if type_.startswith("list<") and type_.endswith(">") and isinstance(value, list):
        element = type_[5:-1]
        if all(_fits(item, element) for item in value):
            return value
    elif _fits(value, type_):
        return value
    raise InputError(
        f"the stored input {name} (run.json) is {json.dumps(value)[:80]}, not a {type_};"
        f" give it with --input {name}=VALUE"
    )


def _fits(value: Any, type_: str) -> bool:
    if type_ == "number":
        return _is_number(value)
    if type_ == "bool":
        return isinstance(value, bool)
    if type_.startswith("list<"):
        return isinstance(value, list)
    if type_.startswith("record"):
        return isinstance(value, dict)
    return isinstance(value, str)
