"""operator-fusion: run neighbouring ops that share a device and a data stream as one.

A fused op is a *group* of ops, not a new op. Every member keeps its name,
operands, knobs, implementation and source span; each carries the group's
name in an attribute, and the runtime and placement execute a group as one
unit. This keeps the IR typed and verifiable without new op names (the
catalogue, the signature check, the cost model and the workflow-profile match
all still see `video.frame_extract`), round-trips through the textual IR (a
group is an ordinary string attribute), and keeps the exact spans of what was
fused: they are the members' own spans (`--debuginfo` prints them), where a
single replacement op could carry them only as strings.

Two kinds of group:

- **stream** (`fuse = "HEAD"`): a producer->consumer pair of `STREAM_PAIRS`
  on one device. `video.scene_detect -> video.frame_extract` decodes the video
  once: frames are taken during the scene-detection pass, so the frames never
  wait on a second decode. `HEAD` is the result name of the group's first op.
  Other readers of the producer (speech.transcribe reads the scenes too) read
  the same value as before; the record says whether it must be materialised.
- **instance** (`instance = "MODEL@DEVICE"`): an LLM call reading the result of
  an LLM call on the same model and device (critique -> revise in a
  self-reflection round). Both run on one model instance, so the model is
  loaded once. When the producer's operands are the first operands of the
  consumer, the consumer's prompt starts with the producer's context and it
  gets `prefix_of = "%PRODUCER"`: the runtime reuses that prefix's KV cache.

Never grouped: ops without a device or on different devices, hosted LLM calls
(no instance of ours to share), an op with one in another `flow.*` block (a
region runs per copy or round, so it has no single partner outside), and
calls on different models. No value changes, so no reader sees a different
value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from murakkab.passes.base import PassContext

from murakkab.ir.core import AttrValue, Module, Op, Workflow, operand_values
from murakkab.ir.rewrite import map_ops

NAME = "operator-fusion"

# (producer, consumer) capabilities whose data stream can be shared on one device.
STREAM_PAIRS = frozenset({("video.scene_detect", "video.frame_extract")})

_LLM_KINDS = ("llm",)


@dataclass(frozen=True)
class OperatorFusionPass:
    """Does: groups producer->consumer ops sharing a device and a stream, or an LLM instance.
    Requires: a verified physical or placed module (ops without a device are never grouped).
    Ensures: stream-fused ops share a `fuse` group; chained same-model LLM calls an `instance`.
    """

    name: ClassVar[str] = NAME
    streams: bool = True
    instances: bool = True

    def apply(self, module: Module, ctx: PassContext) -> Module:
        workflows = []
        for workflow in module.workflows:
            groups = _Groups(self.streams, self.instances, ctx, workflow)
            groups.block(workflow.ops, {})
            workflows.append(map_ops(workflow, groups.annotate))
        return module.replace(workflows=tuple(workflows))


@dataclass
class _Groups:
    """The groups of one workflow, found block by block, then written as attributes."""

    streams: bool
    instances: bool
    ctx: PassContext
    workflow: Workflow
    fuse: dict[str, str] = field(default_factory=dict)  # op -> stream group head
    instance: dict[str, str] = field(default_factory=dict)  # op -> "model@device"
    prefix_of: dict[str, str] = field(default_factory=dict)  # consumer -> producer
    readers: dict[str, int] = field(default_factory=dict)  # value -> number of readers

    def __post_init__(self) -> None:
        for op in self.workflow.walk():
            for name in {v.name for o in op.operands for v in operand_values(o)}:
                self.readers[name] = self.readers.get(name, 0) + 1
            if op.region is not None:
                for value in operand_values(op.region.result):
                    self.readers[value.name] = self.readers.get(value.name, 0) + 1
        for value in operand_values(self.workflow.result):
            self.readers[value.name] = self.readers.get(value.name, 0) + 1

    def block(self, ops: tuple[Op, ...], outer: dict[str, Op]) -> None:
        """Pairs within `ops`; `outer` holds the ops of the enclosing blocks."""
        here: dict[str, Op] = {}
        for op in ops:
            for name in dict.fromkeys(v.name for o in op.operands for v in operand_values(o)):
                if name in here:
                    self.pair(here[name], op)
                elif name in outer:
                    self.across(outer[name], op)
            if op.region is not None:
                self.block(op.region.ops, {**outer, **here})
            here[op.result.name] = op

    def pair(self, producer: Op, consumer: Op) -> None:
        if self.streams and (producer.name, consumer.name) in STREAM_PAIRS:
            self.stream(producer, consumer)
        elif self.instances and self.is_llm(producer) and self.is_llm(consumer):
            self.llm_chain(producer, consumer)

    def across(self, producer: Op, consumer: Op) -> None:
        """A candidate pair split by a `flow.*` region boundary is never grouped."""
        stream = self.streams and (producer.name, consumer.name) in STREAM_PAIRS
        chain = self.instances and self.is_llm(producer) and self.is_llm(consumer)
        if stream or chain:
            self.reject(producer, consumer, "a flow region boundary lies between them")

    def stream(self, producer: Op, consumer: Op) -> None:
        if producer.device is None or producer.device != consumer.device:
            self.reject(producer, consumer, _device_reason(producer, consumer))
            return
        head = self.fuse.get(producer.result.name, producer.result.name)
        self.fuse[producer.result.name] = self.fuse[consumer.result.name] = head
        self.ctx.decide(
            NAME,
            kind="stream",
            workflow=self.workflow.name,
            group=head,
            producer=producer.result.name,
            consumer=consumer.result.name,
            device=producer.device,
            materialised=self.readers.get(producer.result.name, 0) > 1,
        )

    def llm_chain(self, producer: Op, consumer: Op) -> None:
        model, other = producer.attr("model"), consumer.attr("model")
        if not isinstance(model, str) or model != other:
            self.reject(producer, consumer, f"different models ({_text(model)}, {_text(other)})")
            return
        if producer.device is None or producer.device != consumer.device:
            self.reject(producer, consumer, _device_reason(producer, consumer))
            return
        if producer.device == "hosted":
            self.reject(producer, consumer, "a hosted model has no instance of ours to share")
            return
        name = f"{model}@{producer.device}"
        self.instance[producer.result.name] = self.instance[consumer.result.name] = name
        # A consumer's prompt starts with at most one producer's context: the first found.
        leading = consumer.operands[: len(producer.operands)] == producer.operands
        prefix = leading and consumer.result.name not in self.prefix_of
        if prefix:
            self.prefix_of[consumer.result.name] = producer.result.name
        self.ctx.decide(
            NAME,
            kind="instance",
            workflow=self.workflow.name,
            instance=name,
            producer=producer.result.name,
            consumer=consumer.result.name,
            prefix=prefix,
        )

    def reject(self, producer: Op, consumer: Op, reason: str) -> None:
        self.ctx.decide(
            NAME,
            kind="rejected",
            workflow=self.workflow.name,
            producer=producer.result.name,
            consumer=consumer.result.name,
            reason=reason,
        )

    def is_llm(self, op: Op) -> bool:
        capability = self.ctx.catalogue.lookup(op.name)
        return capability is not None and capability.kind in _LLM_KINDS

    def annotate(self, op: Op) -> Op:
        name = op.result.name
        updates: dict[str, AttrValue | None] = {}
        if name in self.fuse:
            updates["fuse"] = self.fuse[name]
        if name in self.instance:
            updates["instance"] = self.instance[name]
        if name in self.prefix_of:
            updates["prefix_of"] = "%" + self.prefix_of[name]
        return op.with_attrs(**updates) if updates else op


def _device_reason(producer: Op, consumer: Op) -> str:
    if producer.device is None or consumer.device is None:
        return "no device (run model-substitution first)"
    return f"different devices ({producer.device}, {consumer.device})"


def _text(value: AttrValue | None) -> str:
    return "none" if value is None else str(value)
