"""frame-sampling: where frames are sampled, and how many per scene.

Placement: when `video.frame_extract` feeds a per-frame detector
(`vision.detect_objects`, `vision.read_text`), sampling happens at extraction,
per scene, before detection: the op gets `sample = "per-scene"` and extracts
`frames` evenly spaced frames from each scene, so the detectors (the costly
per-frame work) only ever see the sampled frames. Decoding every frame and
thinning after detection is never cheaper for a detector that costs per frame.

Count: when `frames` is still a domain (a logical module), the pass picks the
smallest value whose workflow profile (`workflow/video_qa/frames=F,model=M,
stt=S`) meets the request's quality bound (`ctx.slos[workflow]`). `M` and `S`
come from the op graph: `M` is the `model` of the workflow's `llm.answer` op
(one op with one model), `S` is true when a `speech.transcribe` op is present
and not optional, false when there is none. When either is undecided (a model
domain, an optional transcription), there is no numeric quality bound, or no
profiled value meets it, the domain is left to the joint optimizer. On a
physical module `frames` is already a value: only the placement is annotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.ir.core import Domain, Module, Op, Workflow, operand_values
from murakkab.ir.rewrite import map_ops
from murakkab.profiles.schema import WorkflowProfile
from murakkab.slo import SloBound

NAME = "frame-sampling"

DETECTORS = frozenset({"vision.detect_objects", "vision.read_text"})
PROFILED_WORKFLOW = "video_qa"


@dataclass(frozen=True)
class FrameSamplingPass:
    """Does: samples frames per scene at extraction before detection; picks `frames` from a domain.
    Requires: a verified module; the quality SLO in `ctx.slos` to narrow a `frames` domain.
    Ensures: frame_extract ops feeding a detector carry `sample = "per-scene"`.
    """

    name: ClassVar[str] = NAME

    def apply(self, module: Module, ctx: PassContext) -> Module:
        return module.replace(workflows=tuple(_workflow(w, ctx) for w in module.workflows))


def _workflow(workflow: Workflow, ctx: PassContext) -> Workflow:
    readers: dict[str, list[str]] = {}
    for op in workflow.walk():
        for name in {v.name for o in op.operands for v in operand_values(o)}:
            readers.setdefault(name, []).append(op.name)

    def rewrite(op: Op) -> Op:
        if op.name != "video.frame_extract":
            return op
        detectors = sorted({r for r in readers.get(op.result.name, []) if r in DETECTORS})
        if not detectors:
            return op
        frames = op.attr("frames")
        ctx.decide(
            NAME,
            kind="sample",
            workflow=workflow.name,
            op=op.result.name,
            at="per-scene",
            before=detectors,
            frames=list(frames.values) if isinstance(frames, Domain) else frames,
        )
        op = op.with_attrs(sample="per-scene")
        if isinstance(frames, Domain):
            op = _choose_frames(op, frames, workflow, ctx)
        return op

    return map_ops(workflow, rewrite)


def _choose_frames(op: Op, frames: Domain, workflow: Workflow, ctx: PassContext) -> Op:
    """The smallest profiled frame count that meets the quality bound, else the domain."""
    slo = ctx.slos.get(workflow.name)
    bound = slo.bound("quality") if slo is not None else None
    config = graph_config(workflow)
    record = {"kind": "frames", "workflow": workflow.name, "op": op.result.name}
    if bound is None or bound.value is None:
        ctx.decide(NAME, **record, chosen=None, reason="no numeric quality bound")
        return op
    if config is None:
        reason = "model or speech-to-text not decided by the op graph"
        ctx.decide(NAME, **record, chosen=None, reason=reason)
        return op
    model, stt = config
    qualities = _qualities(ctx, model, stt)
    counts = sorted(v for v in frames.values if isinstance(v, int) and not isinstance(v, bool))
    rejected: list[dict[str, object]] = []
    for count in counts:
        quality = qualities.get(count)
        if quality is not None and _meets(quality, bound):
            ctx.decide(
                NAME,
                **record,
                chosen=count,
                quality=quality,
                bound=bound.value,
                model=model,
                stt=stt,
                rejected=rejected,
            )
            return op.with_attrs(frames=count)
        why = "no workflow profile" if quality is None else f"quality {quality:g} below the bound"
        rejected.append({"frames": count, "quality": quality, "reason": why})
    reason = "no profiled frame count meets the quality bound"
    ctx.decide(NAME, **record, chosen=None, reason=reason, bound=bound.value, rejected=rejected)
    return op


def graph_config(workflow: Workflow) -> tuple[str, bool] | None:
    """(model, stt) as the op graph says, or None when either is undecided."""
    answers = [op for op in workflow.walk() if op.name == "llm.answer"]
    model = answers[0].attr("model") if len(answers) == 1 else None
    if not isinstance(model, str):
        return None
    transcribers = [op for op in workflow.walk() if op.name == "speech.transcribe"]
    if any(op.attr("optional") is True for op in transcribers):
        return None
    return model, bool(transcribers)


def _qualities(ctx: PassContext, model: str, stt: bool) -> dict[int, float]:
    """Quality per frame count of the profiled workflow with `model` and `stt`."""
    everything = getattr(ctx.cost_context().profiles, "all", None)
    profiles = everything("workflow") if everything is not None else []
    out: dict[int, float] = {}
    for profile in profiles:
        if not isinstance(profile, WorkflowProfile) or profile.workflow != PROFILED_WORKFLOW:
            continue
        config = dict(profile.config)
        count = config.get("frames")
        if config.get("model") != model or config.get("stt") is not stt:
            continue
        if isinstance(count, int) and not isinstance(count, bool):
            out[count] = profile.quality
    return out


def _meets(quality: float, bound: SloBound) -> bool:
    assert bound.value is not None
    return quality > bound.value if bound.op == ">" else quality >= bound.value - 1e-12
