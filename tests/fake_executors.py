"""FAKE executors for tests: deterministic stand-ins for every capability.

Never what `mkc run` uses by default. A fake returns a value of its
capability's result type derived from a digest of its arguments and its
`model` knob only, so the result of a plan does not depend on where or how it
was placed, and the local runtime, the Python plan and the Ray plan can be
compared for equality. Use with `--executors tests.fake_executors` (plans) or
`EXECUTORS` (the runtime's override table, keyed by capability).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from murakkab.catalogue import stdlib_catalogue
from murakkab.executors import Call
from murakkab.ir.types import ListType, PrimType, Type


def digest(call: Call) -> str:
    seen = {"capability": call.capability, "args": call.args, "model": call.knobs.get("model")}
    text = json.dumps(seen, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def fake_value(type_: Type, seed: str, length: int = 3) -> Any:
    """A value of `type_` made from `seed`."""
    if isinstance(type_, ListType):
        return [fake_value(type_.element, f"{seed}.{i}", length) for i in range(length)]
    name = type_.name if isinstance(type_, PrimType) else "any"
    if name == "number":
        return int(seed[:6], 16) / 0xFFFFFF
    if name in ("text", "any"):
        return f"fake:{seed}"
    if name == "code":
        return f"def solution():\n    return {seed!r}\n"
    return {"kind": name, "id": seed}  # video, scene, image, audio


def fake(capability: str) -> Callable[[Call], Any]:
    found = stdlib_catalogue().lookup(capability)
    if found is None:
        raise KeyError(capability)
    result_type = found.result

    def run(call: Call) -> Any:
        return fake_value(result_type, f"{capability}:{digest(call)}")

    run.__name__ = f"fake_{capability.replace('.', '_')}"
    return run


EXECUTORS: dict[str, Callable[[Call], Any]] = {
    capability.name: fake(capability.name) for capability in stdlib_catalogue().all()
}
