"""common-subexpression-elimination, dead-task-elimination{drop-optional} and parallelism,
each rule on a graph of about three ops."""

from __future__ import annotations

from murakkab.passes.base import Pass, PassContext
from murakkab.passes.common_subexpression_elimination import CommonSubexpressionEliminationPass
from murakkab.passes.dead_task_elimination import DeadTaskEliminationPass
from murakkab.passes.manager import parse_pipeline
from murakkab.passes.parallelism import MAP_STYLE, ParallelismPass, independent_groups

from murakkab.ir.core import (
    AttrValue,
    Level,
    ListOperand,
    Module,
    Op,
    Operand,
    Region,
    Value,
    Workflow,
)
from murakkab.ir.types import ANY, TEXT, ListType, Type, prim
from murakkab.ir.verifier import verify_module

VIDEOS = Value("v", ListType(prim("video")))
Q = Value("q", TEXT)
SCENES = ListType(prim("scene"))
IMAGES = ListType(prim("image"))


def _op(name: str, result: str, rtype: Type, *operands: Operand, **attrs: AttrValue) -> Op:
    return Op(name, Value(result, rtype), operands, tuple(sorted(attrs.items())))


def _detect(result: str, **attrs: AttrValue) -> Op:
    return _op("video.scene_detect", result, SCENES, VIDEOS, **attrs)


def _parallel(result: str, *ops: Op) -> Op:
    body = ops[-1].result
    attrs: tuple[tuple[str, AttrValue], ...] = (("agents", 2), ("knob", result))
    return Op(
        "flow.parallel", Value(result, ListType(body.type)), (), attrs, None, Region((), ops, body)
    )


def _module(*ops: Op, result: Operand | None = None) -> Module:
    out = result if result is not None else ops[-1].result
    workflow = Workflow("w", (Q, VIDEOS), out.type, ops, out)
    return Module(Level.LOGICAL, (workflow,))


def _run(pass_: Pass, module: Module) -> tuple[Module, PassContext]:
    ctx = PassContext()
    out = pass_.apply(module, ctx)
    assert verify_module(out) == []
    assert pass_.apply(out, PassContext()) == out, "the pass is idempotent"
    return out, ctx


def _names(module: Module) -> list[str]:
    return [op.result.name for op in module.workflows[0].walk()]


# common-subexpression-elimination


def test_duplicates_merge_and_every_use_reads_the_kept_op() -> None:
    inner = _op("video.frame_extract", "p.f", IMAGES, Value("b", SCENES), frames=5)
    module = _module(_detect("a"), _detect("b"), _parallel("p", inner), result=Value("b", SCENES))
    out, ctx = _run(CommonSubexpressionEliminationPass(), module)
    workflow = out.workflows[0]
    assert _names(out) == ["a", "p", "p.f"]
    region = workflow.ops[1].region
    assert region is not None and region.ops[0].operands == (Value("a", SCENES),)
    assert workflow.result == Value("a", SCENES)
    assert ctx.decisions == [
        {
            "pass": "common-subexpression-elimination",
            "workflow": "w",
            "kept": "a",
            "removed": "b",
            "op": "video.scene_detect",
        }
    ]


def test_region_results_are_rewritten() -> None:
    first, second = _detect("p.a"), _detect("p.b")
    region = _parallel("p", first, second)
    answer = _op("llm.summarize", "s", TEXT, region.result)
    out, _ = _run(CommonSubexpressionEliminationPass(), _module(region, answer))
    region_out = out.workflows[0].ops[0].region
    assert region_out is not None and region_out.result == Value("p.a", SCENES)


def test_est_annotations_do_not_matter_but_other_attrs_do() -> None:
    module = _module(_detect("a", cores=2), _detect("b", cores=2, est_latency=1.5), _detect("c"))
    out, _ = _run(CommonSubexpressionEliminationPass(), module)
    assert _names(out) == ["a", "c"]


def test_ops_of_different_regions_are_not_merged() -> None:
    outer = _detect("a")
    module = _module(outer, _parallel("p", _detect("p.a")), _parallel("r", _detect("r.a")))
    out, ctx = _run(CommonSubexpressionEliminationPass(), module)
    assert _names(out) == ["a", "p", "p.a", "r", "r.a"]
    assert ctx.decisions == []


def test_llm_calls_are_samples_unless_temperature_is_zero() -> None:
    def calls(**attrs: AttrValue) -> Module:
        a, b = (
            _op("llm.generate", "a", TEXT, Q, **attrs),
            _op("llm.generate", "b", TEXT, Q, **attrs),
        )
        both = ListOperand((a.result, b.result), ListType(TEXT))
        return _module(a, b, _op("llm.summarize", "s", TEXT, both))

    assert _names(_run(CommonSubexpressionEliminationPass(), calls())[0]) == ["a", "b", "s"]
    sampled = calls(temperature=0.7)
    assert _names(_run(CommonSubexpressionEliminationPass(), sampled)[0]) == ["a", "b", "s"]
    assert _names(_run(CommonSubexpressionEliminationPass(), calls(temperature=0))[0]) == ["a", "s"]
    (merge_llm,) = parse_pipeline("common-subexpression-elimination{merge-llm=true}")
    assert _names(_run(merge_llm, calls())[0]) == ["a", "s"]


# dead-task-elimination{drop-optional=true}


def _optional_transcript(*, direct: bool = False) -> Module:
    scenes = _detect("scenes")
    transcript = _op("speech.transcribe", "t", TEXT, scenes.result, optional=True)
    items = ListOperand((scenes.result, transcript.result), ListType(ANY))
    context: Operand = transcript.result if direct else items
    answer = _op("llm.answer", "answer", TEXT, Q, context)
    return _module(scenes, transcript, answer)


def test_optional_ops_read_only_in_lists_are_dropped_on_request() -> None:
    module = _optional_transcript()
    assert _run(DeadTaskEliminationPass(), module)[0] == module
    out, ctx = _run(DeadTaskEliminationPass(drop_optional=True), module)
    assert _names(out) == ["scenes", "answer"]
    assert out.workflows[0].ops[1].operands[1] == ListOperand(
        (Value("scenes", SCENES),), ListType(SCENES)
    )
    assert ctx.decisions == [
        {
            "pass": "dead-task-elimination",
            "workflow": "w",
            "removed": "t",
            "op": "speech.transcribe",
            "reason": "optional",
            "lists_of": ["answer"],
        }
    ]


def test_optional_ops_read_directly_or_returned_stay() -> None:
    direct = _optional_transcript(direct=True)
    assert _run(DeadTaskEliminationPass(drop_optional=True), direct)[0] == direct
    ops = _optional_transcript().workflows[0].ops
    returned = _module(*ops, result=ops[1].result)
    assert _names(_run(DeadTaskEliminationPass(drop_optional=True), returned)[0]) == [
        "scenes",
        "t",
    ]


def test_an_emptied_list_is_a_list_of_any() -> None:
    note = _op("llm.generate", "n", TEXT, Q, optional=True)
    answer = _op("llm.answer", "answer", TEXT, Q, ListOperand((note.result,), ListType(TEXT)))
    out, _ = _run(DeadTaskEliminationPass(drop_optional=True), _module(note, answer))
    assert out.workflows[0].ops[0].operands[1] == ListOperand((), ListType(ANY))


# parallelism


def test_map_style_ops_over_lists_fan_out_and_keep_cores_per_copy() -> None:
    frames = _op("video.frame_extract", "f", IMAGES, Value("s", SCENES), cores=2, frames=5)
    answer = _op("llm.answer", "a", TEXT, Q, ListOperand((frames.result,), ListType(IMAGES)))
    module = _module(_detect("s"), frames, answer)
    out, ctx = _run(ParallelismPass(), module)
    scenes, frames_out, answer = out.workflows[0].ops
    assert frames_out.attrs == (("cores", 2), ("fanout", 4), ("frames", 5))
    assert scenes.attr("fanout") is None and answer.attr("fanout") is None
    fanouts = [d for d in ctx.decisions if d["kind"] == "fanout"]
    assert fanouts == [
        {
            "pass": "parallelism",
            "kind": "fanout",
            "workflow": "w",
            "op": "f",
            "capability": "video.frame_extract",
            "param": "scenes",
            "degree": 4,
            "cores_per_copy": 2,
        }
    ]


def test_degree_is_capped_and_a_pinned_fanout_is_kept() -> None:
    pinned = _op("video.frame_extract", "p", IMAGES, Value("s", SCENES), fanout=2)
    free = _op("video.frame_extract", "f", IMAGES, Value("s", SCENES))
    both = ListOperand((pinned.result, free.result), ListType(IMAGES))
    module = _module(_detect("s"), pinned, free, _op("llm.summarize", "x", TEXT, both))
    out, _ = _run(ParallelismPass(degree=16, max_degree=8), module)
    assert [op.attr("fanout") for op in out.workflows[0].ops] == [None, 2, 8, None]
    off, ctx = _run(ParallelismPass(degree=1), module)
    assert off == module and ctx.decisions[-1]["kind"] == "fanout-off"


def test_independent_ops_are_recorded_and_nothing_is_annotated_for_them() -> None:
    a, b = _detect("a"), _op("llm.generate", "b", TEXT, Q)
    c = _op("llm.answer", "c", TEXT, b.result, ListOperand((a.result,), ListType(SCENES)))
    module = _module(a, b, c)
    out, ctx = _run(ParallelismPass(), module)
    assert out == module
    assert ctx.decisions == [
        {
            "pass": "parallelism",
            "kind": "independent",
            "workflow": "w",
            "block": "",
            "ops": ["a", "b"],
            "branches": [["a"], ["b"]],
        }
    ]


def test_a_chain_has_no_independent_group_and_branches_follow_paths() -> None:
    a = _detect("a")
    b = _op("video.frame_extract", "b", IMAGES, a.result)
    c = _op("speech.transcribe", "c", TEXT, a.result)
    assert independent_groups((a, b)) == []
    d = _op("llm.generate", "d", TEXT, Q)
    assert independent_groups((a, b, c, d)) == [(["a", "b", "c", "d"], [["a", "b", "c"], ["d"]])]


def test_map_style_capabilities_are_declared_and_read_lists() -> None:
    from murakkab.catalogue import stdlib_catalogue

    catalogue = stdlib_catalogue()
    for name in sorted(MAP_STYLE):
        capability = catalogue.lookup(name)
        assert capability is not None, name
        assert any(isinstance(ty, ListType) for _, ty in capability.params), name
