"""Recognise a reference workflow in an IR workflow, to use its workflow profile.

A workflow profile measures quality and token load of a whole configuration
(video Q/A with model M, F frames, STT on; code debate with D debaters and R
rounds; math self-reflection with R rounds). A workflow *is* one of them when
it contains the ops that define it; its configuration is read off the ops'
knobs. This is a structural match on op names, documented in docs/cost-model.md;
anything else falls back to composing per-op qualities.
"""

from __future__ import annotations

from dataclasses import dataclass

from murakkab.cost.config import OpConfig, flow_count
from murakkab.ir.core import Literal, Op, Workflow

Config = tuple[tuple[str, Literal], ...]


@dataclass(frozen=True)
class Match:
    workflow: str  # the workflow profile's name: "video_qa", "code_gen", "math_qa"
    config: Config  # sorted knob assignments, the profile key's config
    llm_calls: float  # LLM calls per request, to share the profile's token load


# The ops each reference workflow is made of: a workflow with any other op
# (say, video Q/A next to code generation) is not an instance of it.
MEMBERS = {
    "video_qa": {
        "video.scene_detect",
        "video.frame_extract",
        "speech.transcribe",
        "vision.detect_objects",
        "vision.read_text",
        "llm.answer",
    },
    "code_gen": {
        "code.generate",
        "code.write_tests",
        "code.run_tests",
        "code.revise",
        "code.rank",
        "agents.debate",
        "flow.parallel",
        "flow.repeat",
    },
    "math_qa": {
        "llm.solve",
        "llm.generate",
        "llm.critique",
        "llm.revise",
        "agents.self_reflect",
        "flow.repeat",
    },
}


def recognise(workflow: Workflow, configs: dict[str, OpConfig]) -> Match | None:
    """The reference workflow `workflow` is an instance of, if any."""
    ops = {op.name: op for op in workflow.walk()}
    for recogniser in (_video_qa, _code_gen, _math_qa):
        match = recogniser(workflow, ops, configs)
        if match is not None and set(ops) <= MEMBERS[match.workflow]:
            return match
    return None


def _knob(op: Op, configs: dict[str, OpConfig], name: str) -> Literal | None:
    config = configs.get(op.result.name)
    return None if config is None else config.knobs.get(name)


def _video_qa(workflow: Workflow, ops: dict[str, Op], configs: dict[str, OpConfig]) -> Match | None:
    answer, frames = ops.get("llm.answer"), ops.get("video.frame_extract")
    if answer is None or frames is None:
        return None
    stt = "speech.transcribe" in ops
    config = (
        ("frames", _knob(frames, configs, "frames")),
        ("model", _knob(answer, configs, "model")),
        ("stt", stt),
    )
    return _match("video_qa", config, 1)


def _code_gen(workflow: Workflow, ops: dict[str, Op], configs: dict[str, OpConfig]) -> Match | None:
    debate = ops.get("agents.debate")
    if debate is not None:
        debaters, rounds = _knob(debate, configs, "debaters"), _knob(debate, configs, "rounds")
        model = _knob(debate, configs, "model")
    else:
        coder = ops.get("code.generate")
        parallel, repeat = ops.get("flow.parallel"), ops.get("flow.repeat")
        if coder is None or parallel is None or repeat is None:
            return None
        debaters, rounds = flow_count(parallel), flow_count(repeat)
        model = _knob(coder, configs, "model")
    if not isinstance(debaters, int) or not isinstance(rounds, int):
        return None
    config = (("debaters", debaters), ("model", model), ("rounds", rounds))
    return _match("code_gen", config, llm_calls("code_gen", dict(config)))


def _math_qa(workflow: Workflow, ops: dict[str, Op], configs: dict[str, OpConfig]) -> Match | None:
    reflect = ops.get("agents.self_reflect")
    if reflect is not None:
        rounds, model = _knob(reflect, configs, "rounds"), _knob(reflect, configs, "model")
    else:
        solver, repeat = ops.get("llm.solve"), ops.get("flow.repeat")
        if solver is None or repeat is None:
            return None
        rounds, model = flow_count(repeat), _knob(solver, configs, "model")
    if not isinstance(rounds, int):
        return None
    return _match(
        "math_qa", (("model", model), ("rounds", rounds)), llm_calls("math_qa", {"rounds": rounds})
    )


def llm_calls(shape: str, knobs: dict[str, Literal | None]) -> float:
    """LLM calls one request of a reference workflow makes: video Q/A answers once; a
    debate writes tests and D drafts, D revisions per round and one ranking; a
    self-reflection solves once and critiques and revises each round."""
    if shape == "code_gen":
        debaters, rounds = int(knobs["debaters"]), int(knobs["rounds"])  # type: ignore[arg-type]
        return float(debaters * (rounds + 1) + 2)
    if shape == "math_qa":
        return float(1 + 2 * int(knobs["rounds"]))  # type: ignore[arg-type]
    return 1.0


def _match(name: str, config: tuple[tuple[str, Literal | None], ...], calls: float) -> Match | None:
    if any(value is None for _, value in config):
        return None
    return Match(name, tuple((k, v) for k, v in config if v is not None), calls)
