"""The concrete configuration of an op, and what sizes of data flow into it.

`choose` picks what the op runs with *as written*: pinned values, else the
capability's default when the domain allows it, else the domain's first value;
the implementation named by an `impl` attribute, else the first that runs on
the pinned device. Optimising passes (issue #4) replace this with a search.

Sizes are estimates of the work each value carries (seconds of video, scenes,
frames, list items, tokens), propagated from the request's inputs under
stated `Assumptions` that the user can override (`mkc estimate --assume`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from murakkab.catalogue import Capability
from murakkab.device import parse_device
from murakkab.executors import Implementation, implementations_of
from murakkab.ir.core import Const, Domain, ListOperand, Literal, Op, Operand, Value
from murakkab.ir.types import ListType, PrimType, Type

Size = dict[str, float]  # "videos", "video_s", "scenes", "frames", "items", "tokens"


@dataclass(frozen=True)
class Assumptions:
    """What the estimate assumes where the inputs do not say; every field documented."""

    video_s: float = 60.0  # length of an input video that cannot be probed
    scene_s: float = 10.0  # mean scene length (scene detection output)
    speech_tokens_per_s: float = 3.0  # transcript tokens per second of audio (~150 wpm)
    prompt_tokens: float = 200.0  # tokens in a text input whose text is unknown
    output_tokens: float = 300.0  # LLM output tokens when no workflow profile says
    image_tokens: float = 258.0  # prompt tokens per image for a multimodal LLM
    documents: float = 20.0  # items in a list input whose length is unknown
    load: str = "low"  # LLM operating point: "low" (first curve point) or "saturation"

    @staticmethod
    def parse(items: list[str]) -> Assumptions:
        """`["video_s=120", "load=saturation"]` over the defaults; ValueError names the item."""
        known = {f.name: f for f in fields(Assumptions)}
        changes: dict[str, object] = {}
        for item in items:
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in known or not raw:
                raise ValueError(f"'{item}': expected NAME=VALUE with NAME in {', '.join(known)}")
            if name == "load":
                if raw.strip() not in ("low", "saturation"):
                    raise ValueError(f"'{item}': load is 'low' or 'saturation'")
                changes[name] = raw.strip()
                continue
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"'{item}': {name} takes a number") from None
            if value < 0:
                raise ValueError(f"'{item}': {name} must not be negative")
            changes[name] = value
        return replace(Assumptions(), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OpConfig:
    impl: Implementation | None  # None: no implementation runs on the pinned device
    knobs: dict[str, Literal]
    device: str  # "cpu", a GPU type ("a100", "h100"), or "hosted"
    units: int  # cores on cpu, GPUs on a GPU (tensor parallelism), 0 hosted


HOSTED_MODELS = ("gpt-4o",)
CPU_MODELS = ("smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct")
DEFAULT_GPU = "a100"
HOSTED_IMPLEMENTATION = "openai-compatible"


def choose(op: Op, capability: Capability) -> OpConfig:
    knobs: dict[str, Literal] = {}
    for knob in capability.knobs:
        value = op.attr(knob.name)
        if isinstance(value, Domain):
            knobs[knob.name] = knob.default if knob.default in value.values else value.values[0]
        elif value is not None:
            knobs[knob.name] = value
        elif knob.default is not None:
            knobs[knob.name] = knob.default
    load = op.attr("load")  # the operating point a physical LLM op was given
    if isinstance(load, (int, float)) and not isinstance(load, bool):
        knobs["load"] = float(load)
    device = _device(op, capability, knobs)
    impl = _implementation(op, capability, device)
    if device in ("cpu", "hosted"):
        units = 0 if device == "hosted" else int(number(knobs.get("cores"), 1))
    else:
        units = _gpu_count(op.device) or int(number(knobs.get("tp"), 1))
    return OpConfig(impl, knobs, device, units)


def _gpu_count(device: str | None) -> int | None:
    """4 for a physical `gpu:a100x4`; None for a pin without a count."""
    return parse_device(device).count if device else None


def number(value: Literal | None, default: float) -> float:
    """A knob's numeric value, or `default` when it has none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default


def flow_count(op: Op) -> int | None:
    """How many copies (`flow.parallel`) or rounds (`flow.repeat`) as written: the
    pinned value, else the smallest of the domain."""
    value = op.attr("agents" if op.name == "flow.parallel" else "rounds")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    counts = [v for v in getattr(value, "values", ()) if isinstance(v, int)]
    return min(counts) if counts else None


def _device(op: Op, capability: Capability, knobs: dict[str, Literal]) -> str:
    pinned = op.device
    model = knobs.get("model")
    if capability.kind in ("llm", "composition") and pinned is None:
        if model in HOSTED_MODELS:
            return "hosted"
        if model in CPU_MODELS:
            return "cpu"
    if pinned == "hosted":
        return "hosted"
    if pinned is not None and pinned.startswith("gpu"):
        return parse_device(pinned).gpu_type or str(knobs.get("gpu", DEFAULT_GPU))
    if pinned == "cpu" or "gpu" not in capability.hardware:
        return "cpu"
    if capability.kind in ("llm", "composition"):
        return str(knobs.get("gpu", DEFAULT_GPU))
    return "cpu"


def _implementation(op: Op, capability: Capability, device: str) -> Implementation | None:
    """The named implementation, else the first that runs where the op runs: a
    hosted model through the OpenAI-compatible client, the rest on their side."""
    impls = implementations_of(capability.name)
    named = op.attr("impl")
    if isinstance(named, str):
        return next((i for i in impls if i.name == named), None)
    if device == "hosted":
        return next((i for i in impls if i.name == HOSTED_IMPLEMENTATION), None)
    side = "cpu" if device == "cpu" else "gpu"
    return next((i for i in impls if side in i.devices and i.name != HOSTED_IMPLEMENTATION), None)


# ---- sizes --------------------------------------------------------------------------


def param_size(ptype: Type, arg: Literal | None, assume: Assumptions) -> Size:
    """The size of a workflow input, from the request's argument where there is one."""
    count = float(len(arg)) if isinstance(arg, tuple) else None
    element = ptype.element if isinstance(ptype, ListType) else ptype
    if element == PrimType("video"):
        videos = count if count is not None else 1.0
        return {"videos": videos, "video_s": videos * assume.video_s, "items": videos}
    if element in (PrimType("text"), PrimType("code")):
        if isinstance(arg, str):
            return {"tokens": max(1.0, len(arg) / 4), "items": 1.0}
        items = (
            count if count is not None else (assume.documents if isinstance(ptype, ListType) else 1)
        )
        return {"tokens": items * assume.prompt_tokens, "items": items}
    return {"items": count if count is not None else 1.0}


def operand_size(operand: Operand, sizes: dict[str, Size], assume: Assumptions) -> Size:
    if isinstance(operand, Value):
        return sizes.get(operand.name, {})
    if isinstance(operand, Const):
        text = operand.value if isinstance(operand.value, str) else ""
        return {"tokens": max(1.0, len(text) / 4), "items": 1.0}
    items = operand.items if isinstance(operand, ListOperand) else ()
    return merged([operand_size(item, sizes, assume) for item in items])


def merged(inputs: list[Size]) -> Size:
    total: Size = {}
    for size in inputs:
        for key, value in size.items():
            total[key] = total.get(key, 0.0) + value
    return total
