"""The cost model against numbers computed by hand on small workflows.

Profiles and device kinds here are fakes with round numbers (FakeProfiles,
FAKE_KINDS), so every expected value below can be checked on paper.
"""

from __future__ import annotations

import pytest

from murakkab.catalogue import stdlib_catalogue
from murakkab.cost.config import Assumptions
from murakkab.cost.ops import CostContext, operating_point
from murakkab.cost.workflow import estimate_workflow
from murakkab.hardware import DeviceKind
from murakkab.ir.core import Domain, Workflow
from murakkab.ir.rewrite import map_ops
from murakkab.profiles.schema import CurvePoint, ModelProfile, Profile, ToolProfile, WorkflowProfile
from tests.goldens import EXAMPLES
from tests.helpers import lower_text

FAKE_KINDS = {
    "cpu-core": DeviceKind("cpu-core", "cpu", None, 0.036, 2.0, 10.0, 4.0, "fake"),
    "a100": DeviceKind("a100-80gb", "gpu", "a100", 3.6, 100.0, 400.0, 80.0, "fake"),
}


class FakeHardware:
    def kind(self, name: str) -> DeviceKind | None:
        return FAKE_KINDS.get(name)


class FakeProfiles:
    def __init__(self, *profiles: Profile):
        self.by_key = {p.key: p for p in profiles}

    def get(self, key: str) -> Profile | None:
        return self.by_key.get(key)


def tool(executor: str, impl: str, unit: str, per_unit: float, fixed: float) -> ToolProfile:
    return ToolProfile(executor, impl, "cpu", unit, per_unit, fixed, 1, "prior", "fake")


GEMMA = ModelProfile(
    "gemma-3-27b",
    "a100",
    4,
    (CurvePoint(500.0, 0.04, 0.4), CurvePoint(1000.0, 0.08, 0.6)),
    1000.0,
    None,
    None,
    None,
    None,
    "prior",
    "fake",
)
PROFILES = FakeProfiles(
    tool("video.scene_detect", "opencv.hist", "video_s", 0.1, 1.0),
    tool("video.frame_extract", "opencv.seek", "frame", 0.05, 0.5),
    tool("speech.transcribe", "faster-whisper:whisper-base", "audio_s", 0.2, 2.0),
    tool("vision.detect_objects", "haar-ocr", "frame", 0.1, 0.0),
    GEMMA,
)

VIDEO = """import stdlib.video
import stdlib.speech
import stdlib.llm

workflow ask(query: text, videos: list<video>) -> text {
    task scenes = video.scene_detect(videos)
    task frames = video.frame_extract(scenes)
    task transcript = speech.transcribe(scenes)
    task answer = llm.answer(query, [frames, transcript])
    return answer
}
"""


def estimate(text: str, profiles: FakeProfiles = PROFILES, **assume: object) -> object:
    workflow: Workflow = lower_text(text).workflows[0]
    ctx = CostContext(profiles, FakeHardware(), Assumptions(**assume))  # type: ignore[arg-type]
    return estimate_workflow(workflow, stdlib_catalogue(), ctx, args=("q", ("a.mp4",)))


def test_critical_path_with_parallel_branches() -> None:
    result = estimate(VIDEO)
    by_name = {e.name: e for e in result.ops}
    # 60 s of video on 2 cores (the `cores` default), profiles measured on 1 core.
    assert by_name["scenes"].prediction.latency_s == pytest.approx(1.0 + 60 * 0.1 / 2)  # 4
    # 6 scenes x 5 frames (the `frames` default) = 30 frames.
    assert by_name["frames"].prediction.latency_s == pytest.approx(0.5 + 30 * 0.05 / 2)  # 1.25
    assert by_name["transcript"].prediction.latency_s == pytest.approx(2.0 + 60 * 0.2 / 2)  # 8
    # Low-load operating point: TTFT 0.4 s + 300 tokens x 0.04 s.
    assert by_name["answer"].prediction.latency_s == pytest.approx(0.4 + 300 * 0.04)  # 12.4
    # frames (ready at 5.25) and transcript (ready at 12) overlap; answer waits for both.
    assert by_name["answer"].start_s == pytest.approx(12.0)
    assert result.total.latency_s == pytest.approx(4 + 8 + 12.4)
    assert result.critical_path == ("scenes", "transcript", "answer")


def test_energy_and_price() -> None:
    result = estimate(VIDEO)
    by_name = {e.name: e.prediction for e in result.ops}
    # Tools: busy 10 W per core x 2 cores x latency; $0.036 per core-hour.
    assert by_name["scenes"].energy_j == pytest.approx(10 * 2 * 4.0)
    assert by_name["scenes"].cost_usd == pytest.approx(0.036 * 2 * 4.0 / 3600)
    # LLM: 4 GPUs at load 500 of 1000 tok/s draw 4 x (100 + 300 x 0.5) = 1000 W;
    # 300 tokens at 500 tok/s share 0.6 s of that instance.
    assert by_name["answer"].energy_j == pytest.approx(300 * 1000 / 500)
    assert by_name["answer"].cost_usd == pytest.approx(300 * 4 * 3.6 / 3600 / 500)
    tools = 10 * 2 * (4.0 + 1.25 + 8.0)
    assert result.total.energy_j == pytest.approx(tools + 600.0)


def test_load_dependent_latency_and_flags() -> None:
    point, source = operating_point(GEMMA, 750.0)
    assert (point.tpot_s, point.ttft_s, source) == (
        pytest.approx(0.06),
        pytest.approx(0.5),
        "interpolated",
    )
    point, source = operating_point(GEMMA, 1500.0)
    assert point.tpot_s == pytest.approx(0.12) and source == "extrapolated"
    busy = estimate(VIDEO, load="saturation")
    answer = {e.name: e.prediction for e in busy.ops}["answer"]
    assert answer.latency_s == pytest.approx(0.6 + 300 * 0.08)
    # At saturation the instance draws 4 x 400 W for 1000 tok/s: cheaper per token.
    assert answer.energy_j == pytest.approx(300 * 1600 / 1000)


def test_parallel_agents_and_rounds() -> None:
    text = """import stdlib.llm
workflow w(q: text) -> text {
    task drafts = parallel agents = 3 {
        task d = llm.generate(q)
        yield d
    }
    task better = repeat rounds = 2 from q as prev {
        task c = llm.critique(prev, prev)
        yield c
    }
    task pick = llm.compare(q, [drafts, better])
    return pick
}
"""
    result = estimate(text)
    one = 0.4 + 300 * 0.04  # one LLM call at low load
    by_name = {e.name: e for e in result.ops}
    assert by_name["drafts"].prediction.latency_s == pytest.approx(one)  # side by side
    assert by_name["better"].prediction.latency_s == pytest.approx(2 * one)  # in sequence
    assert by_name["drafts.d"].copies == 3 and by_name["better.c"].copies == 2
    call_energy = 300 * 1000 / 500
    assert result.total.energy_j == pytest.approx(call_energy * (3 + 2 + 1))
    assert result.total.latency_s == pytest.approx(2 * one + one)


def test_quality_from_a_matching_workflow_profile() -> None:
    profile = WorkflowProfile(
        "video_qa",
        (("frames", 5), ("model", "gemma-3-27b"), ("stt", True)),
        0.647,
        None,
        639.0,
        None,
        "prior",
        "fake",
    )
    result = estimate(VIDEO, FakeProfiles(*PROFILES.by_key.values(), profile))
    assert result.total.quality == pytest.approx(0.647)
    # The profile's p90 token load replaces the default output length.
    answer = {e.name: e.prediction for e in result.ops}["answer"]
    assert answer.latency_s == pytest.approx(0.4 + 639 * 0.04)


def test_quality_is_unknown_without_a_profile_and_missing_profiles_are_flagged() -> None:
    result = estimate(VIDEO, FakeProfiles(GEMMA))
    assert result.total.quality is None
    assert result.total.provenance == "unbound"
    notes = [n for e in result.ops for n in e.prediction.notes]
    assert any("no tool profile tool/video.scene_detect/opencv.hist/cpu" in n for n in notes)


def test_hosted_models_cost_per_token() -> None:
    hosted = ModelProfile(
        "gpt-4o",
        "hosted",
        0,
        (CurvePoint(1.0, 0.01, 0.5),),
        1.0,
        None,
        10.0,
        1e4,
        None,
        "prior",
        "fake",
    )
    text = (
        "import stdlib.llm\nworkflow w(q: text) -> text {\n"
        ' task a = llm.generate(q) using model "gpt-4o"\n return a\n}\n'
    )
    workflow = lower_text(text).workflows[0]
    ctx = CostContext(FakeProfiles(hosted), FakeHardware(), Assumptions())
    result = estimate_workflow(workflow, stdlib_catalogue(), ctx, args=("abcdefgh",))
    answer = result.ops[0].prediction
    # 300 output tokens + 2 prompt tokens (8 characters / 4) at $10 per million.
    assert answer.cost_usd == pytest.approx(302 * 10 / 1e6)
    assert answer.latency_s == pytest.approx(0.5 + 300 * 0.01)
    assert answer.energy_j == 0.0


def test_configuration_grid_crosses_domains_and_optional_tasks() -> None:
    from murakkab.cost.grid import configurations

    workflow = lower_text((EXAMPLES / "video_qa.mk").read_text()).workflows[0]
    grid = configurations(workflow)
    # frames 3 x model 5 x gpu 2 x tp 2, each with the transcript and the detector
    # kept and dropped.
    assert len(grid) == 3 * 5 * 2 * 2 * 2 * 2
    dropped = [w for w in grid if not any(op.name == "speech.transcribe" for op in w.ops)]
    assert len(dropped) == len(grid) // 2
    assert all(not any(isinstance(v, Domain) for op in w.ops for _, v in op.attrs) for w in grid)


def test_estimate_stage_annotates_ops_and_resolves_tiers() -> None:
    from murakkab.cost.annotate import annotate_module
    from murakkab.cost.context import ProfileIndex
    from murakkab.profiles.priors import shipped_priors

    text = (EXAMPLES / "video_qa.mk").read_text().replace("latency < 30 s", "latency <= fair")
    module = lower_text(text)
    ctx = CostContext(ProfileIndex(shipped_priors()), FakeHardware(), Assumptions())
    annotated = annotate_module(module, stdlib_catalogue(), ctx)
    ops = {op.result.name: op for op in annotated.module.workflows[0].ops}
    assert {"est_latency", "est_cost", "est_energy", "est_source"} <= dict(
        ops["scenes"].attrs
    ).keys()
    # The result op carries the end-to-end quality of the matched workflow profile.
    assert ops["answer"].attr("est_quality") == pytest.approx(0.647)
    slo = annotated.module.requests[0].slo
    quality, latency = slo.bound("quality"), slo.bound("latency")
    assert quality is not None and quality.tier is None and quality.value == pytest.approx(0.647)
    assert latency is not None and latency.tier is None and latency.value is not None
    assert any("latency tier 'fair'" in note for note in annotated.notes)


def test_quality_composes_over_the_profiled_parts_of_a_workflow() -> None:
    video = WorkflowProfile(
        "video_qa",
        (("frames", 5), ("model", "gemma-3-27b"), ("stt", True)),
        0.6,
        None,
        None,
        None,
        "prior",
        "fake",
    )
    math = WorkflowProfile(
        "math_qa", (("model", "gemma-3-27b"), ("rounds", 1)), 0.5, None, None, None, "prior", "fake"
    )
    text = VIDEO.replace("workflow ask(", "workflow watch(") + (
        "workflow think(q: text) -> text {\n"
        " task d = llm.solve(q)\n"
        " task a = repeat rounds = 1 from d as c {\n"
        "  task k = llm.critique(q, c)\n  task r = llm.revise(q, c, k)\n  yield r\n }\n"
        " return a\n}\n"
        "workflow both(query: text, videos: list<video>) -> text {\n"
        " task seen = watch(query, videos)\n task thought = think(query)\n"
        ' task verdict: text = "Compare the two answers."(seen, thought)\n'
        " return verdict\n}\n"
    )
    module = lower_text(text)
    workflow = module.workflow("both")
    assert workflow is not None
    ctx = CostContext(
        FakeProfiles(*PROFILES.by_key.values(), video, math), FakeHardware(), Assumptions()
    )
    result = estimate_workflow(workflow, stdlib_catalogue(), ctx, args=("q", ("a.mp4",)))
    # Two profiled parts (the inlined calls `seen` and `thought`): 0.6 x 0.5.
    assert result.total.quality == pytest.approx(0.3)
    assert any("leaves out what no profile covers: verdict" in n for n in result.total.notes)


def test_a_flow_op_starts_when_the_values_its_region_reads_are_ready() -> None:
    text = """import stdlib.llm
workflow w(q: text) -> text {
    task first = llm.generate(q)
    task drafts = parallel critics = 2 {
        task d = llm.critique(q, first)
        yield d
    }
    task again = repeat rounds = 2 from first as prev {
        task inner = parallel revisers = 3 {
            task x = llm.revise(q, prev, prev)
            yield x
        }
        task pick = llm.compare(q, inner)
        yield pick
    }
    task last = llm.compare(q, [drafts, again])
    return last
}
"""
    result = estimate(text)
    one = 0.4 + 300 * 0.04
    by_name = {e.name: e for e in result.ops}
    # `drafts` has no operands but reads `first`: it starts when `first` is done.
    assert by_name["drafts"].start_s == pytest.approx(one)
    assert by_name["drafts"].prediction.latency_s == pytest.approx(one)
    # A round is 3 parallel revisions then a compare; nested flow ops are not
    # counted twice: 2 rounds x (3 + 1) calls.
    again = by_name["again"].prediction
    assert again.latency_s == pytest.approx(2 * 2 * one)
    call_energy = 300 * 1000 / 500
    assert again.energy_j == pytest.approx(2 * (3 + 1) * call_energy)
    assert result.total.energy_j == pytest.approx((1 + 2 + 8 + 1) * call_energy)


def test_cpu_models_use_their_cpu_profile() -> None:
    cpu = ModelProfile(
        "smollm2-135m-instruct",
        "cpu",
        0,
        (CurvePoint(50.0, 0.02, 0.15),),
        160.0,
        None,
        None,
        None,
        None,
        "prior",
        "fake",
    )
    text = (
        "import stdlib.llm\nworkflow w(q: text) -> text {\n"
        ' task a = llm.generate(q) using model "smollm2-135m-instruct"\n return a\n}\n'
    )
    workflow = lower_text(text).workflows[0]
    ctx = CostContext(FakeProfiles(cpu), FakeHardware(), Assumptions())
    answer = estimate_workflow(workflow, stdlib_catalogue(), ctx, args=("hi",)).ops[0].prediction
    assert answer.provenance == "prior"
    assert answer.latency_s == pytest.approx(0.15 + 300 * 0.02)
    # The default 2 cores (llama.cpp threads) at 10 W busy each.
    assert answer.energy_j == pytest.approx(2 * 10 * answer.latency_s)


def test_fanned_out_ops_divide_latency_not_cost() -> None:
    plain = estimate(VIDEO)
    workflow = lower_text(VIDEO).workflows[0]
    fanned = map_ops(
        workflow, lambda op: op.with_attrs(fanout=4) if op.name == "video.frame_extract" else op
    )
    ctx = CostContext(PROFILES, FakeHardware(), Assumptions())
    result = estimate_workflow(fanned, stdlib_catalogue(), ctx, args=("q", ("a.mp4",)))
    before = {e.name: e.prediction for e in plain.ops}["frames"]
    after = {e.name: e.prediction for e in result.ops}["frames"]
    # 6 scenes, 4 copies: a quarter of the time, the same cost and energy.
    assert after.latency_s == pytest.approx(before.latency_s / 4)
    assert (after.cost_usd, after.energy_j) == (before.cost_usd, before.energy_j)
