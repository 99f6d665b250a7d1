"""Friendly syntax errors by example (lark's `match_examples`).

Each message maps to snippets that fail in the same parser state; a syntax
error whose state matches gets the message (and hint) instead of the generic
"unexpected X, expected Y". Keep examples small: one mistake each.
"""

from __future__ import annotations

# message -> (hint, examples)
MK_EXAMPLES: dict[str, tuple[str, list[str]]] = {
    "a task needs '=' between its name and what it computes": (
        "write `task NAME = capability(args)`",
        ["workflow w() -> text { task x f() }", "workflow w() -> text { task x }"],
    ),
    "a task computes a call, `parallel` or `repeat`": (
        'write `task NAME = capability(args)` or `task NAME = "description"(args)`',
        ["workflow w() -> text { task x = }", "workflow w() -> text { task x = 3 }"],
    ),
    "a parameter needs a type": (
        "write `NAME: TYPE`, e.g. `query: text` or `videos: list<video>`",
        ["workflow w(x) -> text { }", "workflow w(x, y: text) -> text { }"],
    ),
    "a workflow declares its result type": (
        "write `workflow NAME(params) -> TYPE { ... }`",
        ["workflow w() { }", "workflow w(x: text) { }"],
    ),
    "a statement inside a workflow starts with `task`, `return` or `yield`": (
        "give every step a name: `task NAME = ...`",
        ["workflow w() -> text { f(x) }", "workflow w() -> text { x = f() }"],
    ),
    "SLO bounds are separated by commas": (
        "write `slo latency < 30 s, cost < 2 usd`",
        ["run w() slo latency < 30 s cost < 2", "run w() slo cost < 2 quality >= good"],
    ),
    "an SLO bound compares a metric with a value": (
        "write `latency < 30 s`, `cost <= 2 usd`, `quality >= good` or `energy < 5 Wh`",
        ["run w() slo latency 30", "run w() slo latency = 30", "run w() slo < 30"],
    ),
    "a knob constraint is `NAME in {values}` or `NAME = value`": (
        "for example `with frames in {1, 5, 10}` or `with rounds = 2`",
        [
            "workflow w() -> text { task x = f() with frames }",
            "workflow w() -> text { task x = f() with frames {1} }",
        ],
    ),
}
