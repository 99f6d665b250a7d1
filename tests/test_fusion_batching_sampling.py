"""operator-fusion, batching and frame-sampling, each rule on a graph of two to four ops."""

from __future__ import annotations

from typing import Any

import pytest
from murakkab.passes.base import PassContext
from murakkab.passes.batching import BatchingPass, Curve, profile_key
from murakkab.passes.frame_sampling import FrameSamplingPass, graph_config
from murakkab.passes.manager import parse_pipeline, run_pipeline
from murakkab.passes.operator_fusion import OperatorFusionPass

from murakkab.ir.core import Domain, Module, Op
from murakkab.ir.parser import parse_module
from murakkab.ir.printer import print_module
from murakkab.ir.verifier import verify_module
from murakkab.profiles.schema import CurvePoint, ModelProfile
from murakkab.slo import Objective, SloBound, SloSpec
from murakkab.source import SourceFile

GEMMA = 'gpu = "a100", impl = "vllm", model = "gemma-3-27b", tp = 4'


def _module(body: str, level: str = "physical", params: str = "%q: text") -> Module:
    text = f"level {level}\n\nworkflow @w({params}) -> text {{\n{body}\n}}\n"
    return parse_module(SourceFile.of("t.mkir", text))


def _ops(module: Module) -> dict[str, Op]:
    return {op.result.name: op for op in module.workflows[0].walk()}


def _kinds(ctx: PassContext, kind: str) -> list[dict[str, Any]]:
    return [d for d in ctx.decisions if d.get("kind") == kind]


def _roundtrips(module: Module) -> None:
    assert verify_module(module) == []
    assert parse_module(SourceFile.of("again.mkir", print_module(module))) == module


# ---- operator-fusion ----------------------------------------------------------------

_VIDEO = """  %s = video.scene_detect(%v) {impl = "opencv.hist"} @cpu : list<scene>
  %f = video.frame_extract(%s) {frames = 5, impl = "opencv.seek"} @DEV : list<image>
  %a = llm.answer(%q, [%f]) {GEMMA, load = 79.31} @gpu:a100x4 : text
  return %a"""


def _video(device: str = "cpu", level: str = "physical") -> Module:
    body = _VIDEO.replace("DEV", device).replace("GEMMA", GEMMA)
    if level == "logical":
        body = body.replace(" @cpu", "").replace(" @gpu:a100x4", "")
    return _module(body, level, "%q: text, %v: list<video>")


def test_scene_detect_and_frame_extract_on_one_cpu_form_a_stream_group() -> None:
    ctx = PassContext()
    before = _video()
    ops = _ops(OperatorFusionPass().apply(before, ctx))
    assert ops["s"].attr("fuse") == ops["f"].attr("fuse") == "s"
    assert ops["a"].attr("fuse") is None
    # Nothing is absorbed: each member keeps its own span.
    assert ops["f"].span == _ops(before)["f"].span
    assert _kinds(ctx, "stream") == [
        {
            "pass": "operator-fusion",
            "kind": "stream",
            "workflow": "w",
            "group": "s",
            "producer": "s",
            "consumer": "f",
            "device": "cpu",
            "materialised": False,
        }
    ]


def test_other_readers_keep_the_value_and_the_group_says_it_is_materialised() -> None:
    body = _VIDEO.replace("DEV", "cpu").replace("GEMMA", GEMMA)
    body = body.replace(
        "  %a =",
        '  %t = speech.transcribe(%s) {impl = "faster-whisper"} @cpu : text\n  %a =',
    ).replace("[%f]", "[%f, %t]")
    ctx = PassContext()
    out = OperatorFusionPass().apply(_module(body, params="%q: text, %v: list<video>"), ctx)
    ops = _ops(out)
    assert ops["t"].operands == ops["f"].operands and ops["t"].attr("fuse") is None
    assert _kinds(ctx, "stream")[0]["materialised"] is True
    _roundtrips(out)


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        (_video("gpu:a100x1"), "different devices (cpu, gpu:a100x1)"),
        (_video(level="logical"), "no device (run model-substitution first)"),
    ],
)
def test_no_stream_group_across_devices_or_without_one(module: Module, reason: str) -> None:
    ctx = PassContext()
    out = OperatorFusionPass().apply(module, ctx)
    assert all(op.attr("fuse") is None for op in out.workflows[0].walk())
    assert [d["reason"] for d in _kinds(ctx, "rejected")] == [reason]


_REFLECT = f"""  %d = llm.solve(%q) {{{GEMMA}, load = 79.31}} @gpu:a100x4 : text
  %r = flow.repeat(%r.cur = %d) {{knob = "rounds", rounds = 2}} : text {{
    %r.c = llm.critique(%q, %r.cur) {{{GEMMA}, load = 79.31}} @gpu:a100x4 : text
    %r.v = llm.revise(%q, %r.cur, %r.c) {{{GEMMA}, load = 79.31}} @gpu:a100x4 : text
    %r.x = llm.compare(%q, [%d, %r.v]) {{{GEMMA}, load = 79.31}} @gpu:a100x4 : text
    yield %r.v
  }}
  return %r"""


def test_critique_and_revise_share_an_instance_and_a_prompt_prefix() -> None:
    ctx = PassContext()
    out = OperatorFusionPass().apply(_module(_REFLECT), ctx)
    ops = _ops(out)
    shared = "gemma-3-27b@gpu:a100x4"
    assert ops["r.c"].attr("instance") == ops["r.v"].attr("instance") == shared
    assert ops["r.v"].attr("prefix_of") == "%r.c"
    assert ops["r.c"].attr("prefix_of") is None
    # %r.x reads %r.v (a chain, but its operands do not start with revise's) and %d,
    # which lies outside the region.
    assert ops["r.x"].attr("instance") == shared and ops["r.x"].attr("prefix_of") is None
    assert ops["d"].attr("instance") is None
    rejected = _kinds(ctx, "rejected")
    assert [(d["producer"], d["consumer"]) for d in rejected] == [("d", "r.x")]
    assert rejected[0]["reason"] == "a flow region boundary lies between them"
    _roundtrips(out)


@pytest.mark.parametrize(
    ("second", "reason"),
    [
        ('model = "phi-4", gpu = "a100", tp = 2, impl = "vllm"} @gpu:a100x2', "different models"),
        (f"{GEMMA}}} @gpu:h100x4", "different devices"),
    ],
)
def test_llm_calls_on_other_models_or_devices_share_nothing(second: str, reason: str) -> None:
    body = f"""  %c = llm.critique(%q, %q) {{{GEMMA}}} @gpu:a100x4 : text
  %v = llm.revise(%q, %q, %c) {{{second} : text
  return %v"""
    ctx = PassContext()
    out = OperatorFusionPass().apply(_module(body), ctx)
    assert all(op.attr("instance") is None for op in out.workflows[0].walk())
    assert _kinds(ctx, "rejected")[0]["reason"].startswith(reason)


def test_hosted_calls_and_disabled_groups_are_left_alone() -> None:
    hosted = '{impl = "openai-compatible", model = "gpt-4o"} @hosted'
    body = f"""  %c = llm.critique(%q, %q) {hosted} : text
  %v = llm.revise(%q, %q, %c) {hosted} : text
  return %v"""
    out = OperatorFusionPass().apply(_module(body), PassContext())
    assert all(op.attr("instance") is None for op in out.workflows[0].walk())
    (off,) = parse_pipeline("operator-fusion{streams=false}")
    fused = off.apply(_video(), PassContext())
    assert all(op.attr("fuse") is None for op in fused.workflows[0].ops)


# ---- batching -----------------------------------------------------------------------

SMOL = 'impl = "llama.cpp", load = 50.0, model = "smollm2-135m-instruct"'
_BATCH = f"""  %e = text.embed([%q]) {{impl = "minilm-onnx"}} @cpu : list<list<number>>
  %a = llm.answer(%q, [%e]) {{{GEMMA}, load = LOAD}} @gpu:a100x4 : text
  %s = llm.summarize([%a]) {{{SMOL}}} @cpu : text
  return %s"""


def _batch(load: float = 556.0) -> Module:
    return _module(_BATCH.replace("LOAD", repr(load)))


def _latency_slo(seconds: float) -> dict[str, SloSpec]:
    return {"w": SloSpec((SloBound("latency", "<", seconds),))}


def test_without_an_slo_the_load_is_kept_and_batch_and_shared_are_set() -> None:
    ctx = PassContext()
    out = BatchingPass(max_batch=8).apply(_batch(), ctx)
    ops = _ops(out)
    assert ops["a"].attr("load") == 556.0 and ops["a"].attr("batch") == 8
    assert ops["e"].attr("shared") is True and ops["a"].attr("shared") is True
    assert ops["s"].attr("shared") is None and ops["s"].attr("batch") == 1
    record = next(d for d in _kinds(ctx, "operating-point") if d["op"] == "a")
    assert record["budget_s"] is None and record["chosen"]["capped_from"] > 8
    assert {r["load"] for r in record["rejected"]} == {79.31, 884.0}
    _roundtrips(out)


def test_a_latency_slo_gives_the_largest_load_that_fits_the_budget() -> None:
    ctx = PassContext(slos=_latency_slo(20.0))
    ops = _ops(BatchingPass().apply(_batch(), ctx))
    record = next(d for d in _kinds(ctx, "operating-point") if d["op"] == "a")
    load = ops["a"].attr("load")
    assert isinstance(load, float) and 79.31 <= load < 556.0
    assert record["met"] and record["chosen"]["latency_s"] <= record["budget_s"]
    assert all("tpot_s" in r and r["reason"] for r in record["rejected"])
    larger = [r for r in record["rejected"] if r["load"] > load]
    assert larger and all("over" in r["reason"] for r in larger)


def test_an_impossible_budget_falls_back_to_the_first_point_and_says_so() -> None:
    ctx = PassContext(slos=_latency_slo(0.5))
    ops = _ops(BatchingPass().apply(_batch(), ctx))
    assert ops["a"].attr("load") == 79.31
    record = next(d for d in _kinds(ctx, "operating-point") if d["op"] == "a")
    assert record["met"] is False


def test_loads_stay_between_the_first_point_and_saturation() -> None:
    for written in (10.0, 5000.0):
        ops = _ops(BatchingPass().apply(_batch(written), PassContext()))
        assert ops["a"].attr("load") == (79.31 if written < 79.31 else 884.0)


def test_max_batch_caps_the_batch_and_the_record_keeps_the_uncapped_value() -> None:
    (small,) = parse_pipeline("batching{max-batch=2}")
    ctx = PassContext(slos=_latency_slo(1000.0))
    ops = _ops(run_pipeline(_batch(), [small], ctx, verify_each=True))
    assert ops["a"].attr("batch") == 2 and ops["a"].attr("load") == 884.0
    record = next(d for d in _kinds(ctx, "operating-point") if d["op"] == "a")
    assert record["chosen"]["batch"] == 2 and record["chosen"]["capped_from"] > 2


def test_an_slo_already_met_only_raises_loads_unless_the_objective_is_latency() -> None:
    slack = _latency_slo(200.0)
    raised = _ops(BatchingPass().apply(_batch(), PassContext(slos=slack)))
    load = raised["a"].attr("load")
    assert isinstance(load, float) and load > 556.0
    fastest = {"w": SloSpec(slack["w"].bounds, Objective("minimize", "latency"))}
    kept = _ops(BatchingPass().apply(_batch(), PassContext(slos=fastest)))
    assert kept["a"].attr("load") == 556.0


def test_curve_batch_is_littles_law_rounded_and_capped() -> None:
    profile = ModelProfile(
        "m", "a100", 1, (CurvePoint(10.0, 0.01, 0.0), CurvePoint(100.0, 0.1, 1.0)),
        100.0, None, None, None, None, "prior", "test",
    )  # fmt: skip
    curve = Curve(profile, tokens=100.0, max_batch=4)
    assert curve.latency(10.0) == pytest.approx(1.0)
    assert curve.batch(10.0) == 1  # 10 tok/s x 1 s / 100 tokens
    assert curve.raw_batch(100.0) == pytest.approx(11.0) and curve.batch(100.0) == 4
    chosen, rejected = curve.choose(10.0, budget=6.0)
    assert 6.0 - 0.02 < curve.latency(chosen) <= 6.0  # the budget, to 0.1 tok/s
    assert [r["load"] for r in rejected] == [100.0, 10.0]
    assert curve.choose(50.0, budget=6.0, keep_below=True)[0] == 50.0


def test_profile_keys_come_from_the_device() -> None:
    ops = _ops(_batch())
    assert profile_key(ops["a"]) == "model/gemma-3-27b/a100/tp4"
    assert profile_key(ops["s"]) == "model/smollm2-135m-instruct/cpu/tp0"
    assert profile_key(ops["e"]) is None


# ---- frame-sampling -----------------------------------------------------------------

_FRAMES = """  %s = video.scene_detect(%v) : list<scene>
  %f = video.frame_extract(%s) {frames FRAMES} : list<image>
  %t = speech.transcribe(%s) STT: text
  %o = vision.detect_objects(%f, %q) : list<image>
  %a = llm.answer(%q, [%o, %t]) {model = "gemma-3-27b"} : text
  return %a"""


def _frames(frames: str = "in {1, 5, 10}", stt: str = "", level: str = "logical") -> Module:
    body = _FRAMES.replace("FRAMES", frames).replace("STT", stt)
    return _module(body, level, "%q: text, %v: list<video>")


def _quality_slo(value: float) -> dict[str, SloSpec]:
    return {"w": SloSpec((SloBound("quality", ">=", value),))}


@pytest.mark.parametrize(("bound", "frames"), [(0.6, 5), (0.5, 1), (0.66, 10)])
def test_the_smallest_frame_count_that_meets_the_quality_bound(bound: float, frames: int) -> None:
    ctx = PassContext(slos=_quality_slo(bound))
    ops = _ops(FrameSamplingPass().apply(_frames(), ctx))
    assert ops["f"].attr("frames") == frames and ops["f"].attr("sample") == "per-scene"
    (record,) = _kinds(ctx, "frames")
    assert record["chosen"] == frames and record["stt"] is True
    assert [r["frames"] for r in record["rejected"]] == [c for c in (1, 5, 10) if c < frames]


@pytest.mark.parametrize(
    ("module", "slos", "reason"),
    [
        (_frames(), {}, "no numeric quality bound"),
        (_frames(stt="{optional = true} "), _quality_slo(0.6), "not decided"),
        (_frames(), _quality_slo(0.9), "no profiled frame count meets"),
    ],
)
def test_the_domain_is_left_when_nothing_decides_it(
    module: Module, slos: dict[str, SloSpec], reason: str
) -> None:
    ctx = PassContext(slos=slos)
    ops = _ops(FrameSamplingPass().apply(module, ctx))
    assert ops["f"].attr("frames") == Domain((1, 5, 10))
    assert ops["f"].attr("sample") == "per-scene"
    assert reason in _kinds(ctx, "frames")[0]["reason"]


def test_a_fixed_frame_count_only_gets_its_sampling_placed() -> None:
    ctx = PassContext(slos=_quality_slo(0.6))
    ops = _ops(FrameSamplingPass().apply(_frames(frames="= 10"), ctx))
    assert ops["f"].attr("frames") == 10 and ops["f"].attr("sample") == "per-scene"
    assert _kinds(ctx, "frames") == [] and _kinds(ctx, "sample")[0]["frames"] == 10


def test_frames_that_feed_no_detector_are_not_annotated() -> None:
    body = """  %s = video.scene_detect(%v) : list<scene>
  %f = video.frame_extract(%s) {frames = 5} : list<image>
  %a = llm.answer(%q, [%f]) : text
  return %a"""
    ctx = PassContext()
    out = FrameSamplingPass().apply(_module(body, "logical", "%q: text, %v: list<video>"), ctx)
    assert _ops(out)["f"].attr("sample") is None and ctx.decisions == []


def test_graph_config_reads_model_and_speech_to_text_off_the_ops() -> None:
    assert graph_config(_frames().workflows[0]) == ("gemma-3-27b", True)
    without = _frames().workflows[0]
    without = without.replace(ops=tuple(op for op in without.ops if op.result.name != "t"))
    assert graph_config(without) == ("gemma-3-27b", False)
