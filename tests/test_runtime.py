"""The local runtime (murakkab/runtime): scheduling, budgets, flow ops, retries and
fallbacks, missing implementations, instances, batching, the cache, energy, Ctrl-C.

Every executor here is a FAKE from tests/fake_executors.py.
"""

from __future__ import annotations

import _thread
import collections
import functools
import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from murakkab.cluster import Cluster, Node
from murakkab.driver import compile_file
from murakkab.executors import Call
from murakkab.hardware import DEVICE_KINDS
from murakkab.plan import Impl, Placement, Plan, Step, build_plan
from murakkab.runtime import invoke, resolve
from murakkab.runtime.cache import ResultCache, cache_key
from murakkab.runtime.energy import (
    EnergyMeter,
    NvmlCounters,
    RaplCounters,
    device_kind_of,
    gpu_count,
)
from murakkab.runtime.engine import run_plan
from murakkab.runtime.instances import INSTANCES
from murakkab.runtime.invoke import StepFailed, copy_path, invoke_step, resolve_args
from murakkab.runtime.options import RunOptions
from murakkab.runtime.trace import OpTrace
from tests import fake_executors
from tests.fake_executors import EXECUTORS, FakeModel, Flaky, Recorder, sleeping

ROOT = Path(__file__).resolve().parent.parent
# verify_solution has the same shapes, inlined, and takes seconds to optimise.
EXAMPLES = ("video_qa", "code_gen_debate", "math_reflect")
FAKE_ENTRY = "tests.fake_executors:fake_dispatch"


@pytest.fixture(autouse=True)
def _fresh_instances() -> None:
    INSTANCES.clear()


def cluster(*nodes: tuple[str, int]) -> Cluster:
    return Cluster("test", tuple(Node(n, c, 16.0, ()) for n, c in nodes), dict(DEVICE_KINDS), "")


def leaf(
    name: str,
    op: str = "llm.generate",
    *args: Any,
    impl: str = "fake",
    entry: str = FAKE_ENTRY,
    fallbacks: tuple[Impl, ...] = (),
    placement: Placement | None = None,
    batch: int = 1,
    instance: str = "",
    knobs: dict[str, Any] | None = None,
) -> Step:
    trees = tuple(a if isinstance(a, dict) else {"ref": a} for a in args) or ({"ref": "x"},)
    return Step(
        name=name,
        op=op,
        args=trees,
        knobs=knobs or {},
        impl=Impl(impl, entry),
        fallbacks=fallbacks,
        placement=placement or Placement("cpu", "n1", 1),
        batch=batch,
        instance=instance,
    )


def plan_of(*steps: Step, result: str | None = None) -> Plan:
    return Plan("t", (("x", "text"),), steps, {"ref": result or steps[-1].name})


def chain(n: int, prefix: str = "s") -> Plan:
    steps = [leaf(f"{prefix}1", "llm.generate", "x", impl=f"{prefix}1")]
    for i in range(2, n + 1):
        steps.append(leaf(f"{prefix}{i}", "llm.generate", f"{prefix}{i - 1}", impl=f"{prefix}{i}"))
    return plan_of(*steps)


def options(**changes: Any) -> RunOptions:
    defaults: dict[str, Any] = {
        "executors": EXECUTORS,
        "cluster": cluster(("n1", 4)),
        "backoff_s": 0.001,
    }
    return RunOptions(**{**defaults, **changes})


def overlap(a: OpTrace, b: OpTrace) -> bool:
    return a.start < b.end and b.start < a.end


# ---- the examples, against a sequential reference ------------------------------------


@functools.cache
def example_plan(name: str) -> Plan:
    return build_plan(compile_file(ROOT / "examples" / f"{name}.mk").module)


def reference(plan: Plan, inputs: dict[str, Any]) -> Any:
    """The plan's meaning, one step at a time (the semantics of murakkab/plan.py)."""

    def run(steps: tuple[Step, ...], env: collections.ChainMap[str, Any]) -> Any:
        for s in steps:
            if s.op == "flow.parallel":
                env[s.name] = [
                    resolve_args(s.yields, run(s.body, env.new_child())) for _ in range(s.count)
                ]
            elif s.op == "flow.repeat":
                carried = resolve_args(s.args[0], env)
                for _ in range(s.count):
                    inner = run(s.body, env.new_child({s.body_args[0]: carried}))
                    carried = resolve_args(s.yields, inner)
                env[s.name] = carried
            else:
                args = tuple(resolve_args(a, env) for a in s.args)
                env[s.name] = EXECUTORS[s.op](Call(s.op, args, s.knobs))
        return env

    return resolve_args(plan.result, run(plan.steps, collections.ChainMap(dict(inputs))))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_runs_to_the_reference_result(example: str) -> None:
    plan = example_plan(example)
    result = run_plan(plan, {}, RunOptions(executors=EXECUTORS))
    assert result.status == "ok", result.error
    assert result.result == reference(plan, plan.defaults)
    assert all(t.energy_source in ("modelled", "none") for t in result.traces)


def test_flow_ops_run_every_copy_and_round_with_labels() -> None:
    plan = example_plan("code_gen_debate")
    result = run_plan(plan, {}, RunOptions(executors=EXECUTORS))
    labels = {t.step for t in result.traces}
    debaters, rounds = plan.steps[1].count, plan.steps[2].count
    assert len(result.traces) == 2 + debaters + rounds * (1 + debaters)
    assert f"proposals.draft#{debaters - 1}" in labels
    assert f"debated.revisions.revision@{rounds - 1}#{debaters - 1}" in labels
    # a round starts after the previous one ended; copies of one round overlap in time
    by_label = {t.step: t for t in result.traces}
    assert by_label["debated.report@1"].start >= by_label["debated.revisions.revision@0#0"].end
    # the repeat body reads `tests` (an outer step) although the flow step's deps omit it
    assert by_label["debated.report@0"].start >= by_label["tests"].end


def test_repeat_carries_each_round_into_the_next() -> None:
    recorder = Recorder("llm.generate")
    body = (leaf("r.next", "llm.generate", "r.carried"),)
    repeat = Step("r", "flow.repeat", ({"ref": "x"},), count=3, body=body,
                  body_args=("r.carried",), yields={"ref": "r.next"})  # fmt: skip
    result = run_plan(plan_of(repeat), {"x": "seed"}, options(executors={"llm.generate": recorder}))
    assert result.status == "ok"
    seen = [c.args[0] for c in recorder.calls]
    assert seen[0] == "seed"
    assert seen[1] == EXECUTORS["llm.generate"](Call("llm.generate", ("seed",), {}))
    assert result.result == EXECUTORS["llm.generate"](Call("llm.generate", (seen[2],), {}))


def test_parallel_yields_a_list_of_the_copies() -> None:
    body = (leaf("p.one", "llm.generate", "x"),)
    par = Step("p", "flow.parallel", (), count=3, body=body, yields={"ref": "p.one"})
    result = run_plan(plan_of(par), {"x": "q"}, options())
    one = EXECUTORS["llm.generate"](Call("llm.generate", ("q",), {}))
    assert result.result == [one, one, one]


# ---- concurrency and budgets ----------------------------------------------------------


def test_independent_branches_run_concurrently() -> None:
    a, b = leaf("a", "llm.generate", "x", impl="a"), leaf("b", "llm.generate", "x", impl="b")
    join = leaf("c", "llm.compare", "x", {"list": [{"ref": "a"}, {"ref": "b"}]})
    table = {
        **EXECUTORS,
        "llm.generate/a": sleeping(0.3, "llm.generate"),
        "llm.generate/b": sleeping(0.3, "llm.generate"),
    }
    result = run_plan(plan_of(a, b, join), {"x": "q"}, options(executors=table))
    assert result.status == "ok"
    assert result.wall_s < 0.55  # one sleep, not two
    ta, tb, tc = sorted(result.traces, key=lambda t: t.step)
    assert overlap(ta, tb) and tc.start >= max(ta.end, tb.end)


@pytest.mark.parametrize(("cores", "concurrent"), [(1, False), (2, True)])
def test_a_node_runs_cpu_ops_within_its_cores(cores: int, concurrent: bool) -> None:
    table = {"llm.generate": sleeping(0.15, "llm.generate")}
    a, b = leaf("a", "llm.generate", "x"), leaf("b", "llm.generate", "x")
    opts = options(executors=table, cluster=cluster(("n1", cores)))
    result = run_plan(plan_of(a, b), {"x": "q"}, opts)
    ta, tb = result.traces
    assert overlap(ta, tb) is concurrent
    if not concurrent:
        assert max(ta.wait_s, tb.wait_s) > 0.1


def test_an_op_takes_cores_times_fanout_capped_at_the_node() -> None:
    step = leaf("a", "video.frame_extract", "x", knobs={"fanout": 4},
                placement=Placement("cpu", "n1", 2))  # fmt: skip
    result = run_plan(plan_of(step), {"x": []}, options(cluster=cluster(("n1", 6))))
    assert result.traces[0].cores == 6


def test_gpu_ops_lock_their_gpus_unless_they_share_an_instance() -> None:
    table = {"llm.generate": sleeping(0.15, "llm.generate")}
    gpu = Placement("gpu:h100x1", "n1", 1, (0,))
    for shared, concurrent in ((False, False), (True, True)):
        a = leaf("a", "llm.generate", "x", placement=gpu, instance="m@gpu" if shared else "")
        b = leaf("b", "llm.generate", "x", placement=gpu, instance="m@gpu" if shared else "")
        result = run_plan(plan_of(a, b), {"x": "q"}, options(executors=table))
        assert overlap(*result.traces) is concurrent


def test_executors_see_where_they_run() -> None:
    recorder = Recorder("llm.generate")
    step = leaf("a", "llm.generate", "x", placement=Placement("gpu:a100x2", "n1", 1, (2, 3)))
    run_plan(plan_of(step), {"x": "q"}, options(executors={"llm.generate": recorder}))
    call = recorder.calls[0]
    assert (call.device, call.gpu_ids) == ("gpu:a100x2", (2, 3))
    assert isinstance(call.cancel, threading.Event) and not call.cancel.is_set()


# ---- retries, fallbacks, missing implementations ---------------------------------------


def test_a_flaky_executor_is_retried() -> None:
    flaky = Flaky(2, "llm.generate")
    events: list[str] = []
    opts = options(executors={"llm.generate": flaky}, on_event=lambda kind, t: events.append(kind))
    result = run_plan(plan_of(leaf("a")), {"x": "q"}, opts)
    assert result.status == "ok"
    assert result.traces[0].attempts == 3
    assert events == ["start", "retry", "retry", "end"]


def test_a_failing_implementation_falls_back_as_planned() -> None:
    backup = Impl("backup", FAKE_ENTRY)
    step = leaf("a", impl="broken", entry="tests.fake_executors:fake_always_fails",
                fallbacks=(backup,))  # fmt: skip
    events: list[str] = []
    opts = options(executors={}, retries=1, on_event=lambda kind, t: events.append(kind))
    result = run_plan(plan_of(step), {"x": "q"}, opts)
    assert result.status == "ok", result.error
    trace = result.traces[0]
    assert (trace.impl, trace.fallback_from, trace.attempts) == ("backup", "broken", 3)
    assert trace.executor == FAKE_ENTRY
    assert events == ["start", "retry", "fallback", "end"]
    assert result.result == EXECUTORS["llm.generate"](Call("llm.generate", ("q",), {}))


def test_failing_for_good_stops_the_run_and_says_why() -> None:
    step = leaf("a", impl="broken", entry="tests.fake_executors:fake_always_fails")
    after = leaf("b", "llm.generate", "a")
    result = run_plan(plan_of(step, after), {"x": "q"}, options(executors={}, retries=1))
    assert result.status == "failed" and result.result is None
    assert "step 'a' (llm.generate) failed" in result.error
    assert "FAKE failure" in result.error
    assert [t.step for t in result.traces] == ["a"] and result.traces[0].error


def test_invoke_step_raises_step_failed_with_the_trace() -> None:
    step = leaf("a", impl="broken", entry="tests.fake_executors:fake_always_fails")
    with pytest.raises(StepFailed) as failed:
        invoke_step(step, ("q",), options(executors={}, retries=0), label="a#1")
    assert failed.value.trace.step == "a#1" and failed.value.trace.attempts == 1
    copy = pickle.loads(pickle.dumps(failed.value))
    assert (copy.message, copy.trace) == (failed.value.message, failed.value.trace)


def test_retries_are_validated() -> None:
    for bad in (-1, 11, True, 1.5):
        with pytest.raises(ValueError, match="retries must be"):
            RunOptions(retries=bad)
    with pytest.raises(ValueError, match="backoff_s"):
        RunOptions(backoff_s=-1)
    assert RunOptions(retries=10).retries == 10


def test_backoff_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoke, "MAX_BACKOFF_S", 0.05)
    opts = options(executors={"llm.generate": Flaky(2, "llm.generate")}, backoff_s=100.0)
    result = run_plan(plan_of(leaf("a")), {"x": "q"}, opts)
    assert result.status == "ok" and result.traces[0].attempts == 3
    assert result.wall_s < 1.0


def test_an_op_backing_off_gives_its_cores_back() -> None:
    # One core: `a` fails at once and backs off 0.4 s; `b` (ready at 0.05 s) runs meanwhile.
    a = leaf("a", "llm.generate", "x", impl="a")
    c = leaf("c", "llm.generate", "x", impl="c", placement=Placement("hosted"))
    b = leaf("b", "llm.generate", "c", impl="b")
    table = {
        **EXECUTORS,
        "llm.generate/a": Flaky(1, "llm.generate"),
        "llm.generate/c": sleeping(0.05, "llm.generate"),
    }
    opts = options(executors=table, cluster=cluster(("n1", 1)), backoff_s=0.4, retries=1)
    result = run_plan(plan_of(a, c, b, result="a"), {"x": "q"}, opts)
    assert result.status == "ok", result.error
    by = {t.step: t for t in result.traces}
    assert by["a"].attempts == 2
    assert by["b"].end < by["a"].end and by["b"].wait_s < 0.2


def test_a_plan_reading_an_unknown_name_fails_cleanly() -> None:
    result = run_plan(plan_of(leaf("a", "llm.generate", "nowhere")), {"x": "q"}, options())
    assert result.status == "failed" and "nowhere" in result.error


def test_a_missing_package_names_the_extra_to_install() -> None:
    impl = Impl("minilm-onnx", FAKE_ENTRY, ("no_such_package_fake",), "embeddings")
    step = Step("a", "text.embed", ({"ref": "x"},), impl=impl, placement=Placement("cpu"))
    result = run_plan(plan_of(step), {"x": ["t"]}, options(executors={}))
    assert result.status == "failed"
    assert "minilm-onnx" in result.error and "no_such_package_fake" in result.error
    assert 'pip install "murakkab[embeddings]"' in result.error
    assert result.traces[0].attempts == 0  # not retried


def test_a_declared_module_not_in_this_version_falls_back() -> None:
    missing = "murakkab.stdlib.not_in_this_version:scene_detect"
    step = leaf("a", "video.scene_detect", "x", impl="opencv.hist", entry=missing,
                fallbacks=(Impl("fake-scenes", FAKE_ENTRY),))  # fmt: skip
    events: list[tuple[str, str]] = []
    opts = options(executors={}, on_event=lambda kind, t: events.append((kind, t.error)))
    result = run_plan(plan_of(step), {"x": ["v.mp4"]}, opts)
    assert result.status == "ok"
    assert result.traces[0].fallback_from == "opencv.hist"
    with pytest.raises(StepFailed, match="declared but not installed in this version"):
        invoke_step(
            leaf("a", "video.scene_detect", "x", entry=missing), ((),), options(executors={})
        )


# ---- instances and batching ------------------------------------------------------------


def test_one_instance_is_loaded_across_steps_and_runs() -> None:
    model = FakeModel("llm.generate", load_s=0.05)
    a = leaf("a", "llm.generate", "x", instance="fake-model@cpu")
    b = leaf("b", "llm.generate", "x", instance="fake-model@cpu")  # concurrent with a
    opts = options(executors={"llm.generate": model})
    first = run_plan(plan_of(a, b), {"x": "q"}, opts)
    second = run_plan(plan_of(a, b), {"x": "r"}, opts)
    assert first.status == second.status == "ok"
    assert model.loads == 1
    assert INSTANCES.stats.loads == 1 and INSTANCES.stats.hits == 3
    assert len({id(i) for i in model.instances}) == 1
    assert sum(t.instance_loaded for t in first.traces + second.traces) == 1


def test_concurrent_calls_to_one_instance_are_batched() -> None:
    model = FakeModel("llm.generate", batching=True)
    gpu = Placement("gpu:h100x1", "n1", 1, (0,))
    body = (leaf("p.ask", "llm.generate", "x", placement=gpu, batch=4, instance="m@gpu"),)
    par = Step("p", "flow.parallel", (), count=4, body=body, yields={"ref": "p.ask"})
    opts = options(executors={"llm.generate": model}, batch_window_s=0.2)
    result = run_plan(plan_of(par), {"x": "q"}, opts)
    assert result.status == "ok"
    assert model.batches == [4]
    assert [t.batched for t in result.traces] == [4, 4, 4, 4]
    assert result.result == ["fake:llm.generate:q"] * 4


# ---- the content-addressed cache ------------------------------------------------------


def test_a_rerun_after_a_failure_resumes_from_the_cache(tmp_path: Path) -> None:
    counting = Recorder("llm.generate")
    table: dict[str, Any] = {
        "llm.generate": counting,
        "llm.generate/s3": fake_executors.fake_always_fails,
    }
    plan = chain(4)
    failed = run_plan(plan, {"x": "q"}, options(executors=table, cache_dir=tmp_path, retries=0))
    assert failed.status == "failed" and "s3" in failed.error
    assert len(counting.calls) == 2
    del table["llm.generate/s3"]
    resumed = run_plan(plan, {"x": "q"}, options(executors=table, cache_dir=tmp_path))
    assert resumed.status == "ok"
    assert [(t.step, t.cached) for t in resumed.traces] == [
        ("s1", True), ("s2", True), ("s3", False), ("s4", False)]  # fmt: skip
    assert len(counting.calls) == 4  # s1 and s2 ran once over both runs
    fresh = run_plan(plan, {"x": "q"}, options(executors={"llm.generate": counting}))
    assert resumed.result == fresh.result


def test_corrupt_cache_entries_are_recomputed(tmp_path: Path) -> None:
    plan = chain(2)
    first = run_plan(plan, {"x": "q"}, options(cache_dir=tmp_path))
    for entry in tmp_path.glob("*/*"):
        entry.write_bytes(b"\x80garbage")
    again = run_plan(plan, {"x": "q"}, options(cache_dir=tmp_path))
    assert again.result == first.result and not any(t.cached for t in again.traces)
    third = run_plan(plan, {"x": "q"}, options(cache_dir=tmp_path))
    assert all(t.cached for t in third.traces)


def test_cache_keys_follow_values_not_placement(tmp_path: Path) -> None:
    key = cache_key("llm.generate", "e", {"model": "m", "cores": 2}, ("q",))
    assert key == cache_key("llm.generate", "e", {"model": "m", "cores": 8, "tp": 4}, ("q",))
    assert key != cache_key("llm.generate", "e", {"model": "n"}, ("q",))
    paths = ("#1", "@1", "@0#1", "@1#0", "#1@0")
    keys = {cache_key("llm.generate", "e", {"model": "m"}, ("q",), copy=p) for p in paths}
    assert len(keys | {key}) == len(paths) + 1
    assert key != cache_key("llm.generate", "e", {"model": "m"}, ("q",), version="VERSION=2")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"one")
    before = cache_key("video.scene_detect", "e", {}, ([str(video)],))
    video.write_bytes(b"longer")
    assert cache_key("video.scene_detect", "e", {}, ([str(video)],)) != before
    cache = ResultCache(tmp_path / "c")
    assert key is not None and cache.put(key, "i", ("a", 1)) and cache.get(key).value == ("a", 1)


def test_copies_and_rounds_are_cached_apart(tmp_path: Path) -> None:
    # Every copy and round computes llm.generate(x) with equal arguments: distinct samples.
    counting = Recorder("llm.generate")
    par = Step("r.p", "flow.parallel", (), count=2, body=(leaf("r.p.one", "llm.generate", "x"),),
               yields={"ref": "r.p.one"})  # fmt: skip
    repeat = Step("r", "flow.repeat", ({"ref": "x"},), count=2, body=(par,),
                  body_args=("r.carried",), yields={"ref": "r.p"})  # fmt: skip
    opts = options(executors={"llm.generate": counting}, cache_dir=tmp_path)
    first = run_plan(plan_of(repeat), {"x": "q"}, opts)
    assert first.status == "ok", first.error
    assert len(counting.calls) == 4 and not any(t.cached for t in first.traces)
    again = run_plan(plan_of(repeat), {"x": "q"}, opts)
    assert len(counting.calls) == 4 and all(t.cached for t in again.traces)
    assert sorted(t.step for t in again.traces) == [
        "r.p.one@0#0", "r.p.one@0#1", "r.p.one@1#0", "r.p.one@1#1"]  # fmt: skip
    assert copy_path("r.p.one@1#0", "r.p.one") == "@1#0" and copy_path("a", "a") == ""


def _module(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.py").write_text(text)
    importlib.invalidate_caches()


def test_a_fallback_result_is_cached_under_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    entry = "mkc_test_not_yet_installed:run"
    step = leaf("a", impl="primary", entry=entry, fallbacks=(Impl("backup", FAKE_ENTRY),))
    opts = options(executors={}, cache_dir=tmp_path / "cache")
    first = run_plan(plan_of(step), {"x": "q"}, opts)
    assert (first.traces[0].impl, first.traces[0].cached) == ("backup", False)
    version = resolve.code_version("tests.fake_executors")
    assert version.startswith("sha256:")
    key = cache_key("llm.generate", FAKE_ENTRY, {}, ("q",), "", version)
    stored = ResultCache(tmp_path / "cache").get(key or "")
    assert stored is not None and (stored.impl, stored.missing) == ("backup", ("primary",))
    resumed = run_plan(plan_of(step), {"x": "q"}, opts)  # the primary is still missing
    trace = resumed.traces[0]
    assert (trace.impl, trace.fallback_from, trace.cached) == ("backup", "primary", True)
    _module(tmp_path, "mkc_test_not_yet_installed", "def run(call):\n    return 'primary:q'\n")
    try:
        installed = run_plan(plan_of(step), {"x": "q"}, opts)  # recomputed by the primary
        assert (installed.traces[0].impl, installed.traces[0].cached) == ("primary", False)
        assert installed.result == "primary:q"
        assert run_plan(plan_of(step), {"x": "q"}, opts).traces[0].cached
    finally:
        sys.modules.pop("mkc_test_not_yet_installed", None)
        resolve.clear_caches()


def test_a_fallback_result_is_reused_when_the_primary_failed_when_called(tmp_path: Path) -> None:
    fails = Impl("broken", "tests.fake_executors:fake_always_fails")
    step = leaf("a", impl="broken", entry=fails.entry, fallbacks=(Impl("backup", FAKE_ENTRY),))
    opts = options(executors={}, cache_dir=tmp_path, retries=0)
    first = run_plan(plan_of(step), {"x": "q"}, opts)
    assert first.traces[0].impl == "backup" and first.traces[0].attempts == 2
    again = run_plan(plan_of(step), {"x": "q"}, opts)
    assert again.traces[0].cached and again.traces[0].fallback_from == "broken"
    assert again.result == first.result


def test_editing_an_executor_module_invalidates_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    name = "mkc_test_versioned_executor"
    step = leaf("a", impl="v", entry=f"{name}:run")
    opts = options(executors={}, cache_dir=tmp_path / "cache")

    def edit(text: str) -> tuple[Any, bool]:
        _module(tmp_path, name, text)
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        resolve.clear_caches()  # a new process, as far as the runtime knows
        result = run_plan(plan_of(step), {"x": "q"}, opts)
        return result.result, result.traces[0].cached

    try:
        assert edit("def run(call):\n    return 'one'\n") == ("one", False)
        assert run_plan(plan_of(step), {"x": "q"}, opts).traces[0].cached
        assert edit("def run(call):\n    return 'two!'\n") == ("two!", False)
        assert edit("VERSION = 7\ndef run(call):\n    return 'three'\n") == ("three", False)
        # the module declares its version: an edit that keeps it keeps the results
        assert edit("VERSION = 7\ndef run(call):\n    return 'four, no'\n") == ("three", True)
    finally:
        sys.modules.pop(name, None)
        resolve.clear_caches()


# ---- energy -----------------------------------------------------------------------------


def test_energy_is_modelled_and_labelled_where_no_counter_exists() -> None:
    table = {"llm.generate": sleeping(0.05, "llm.generate")}
    cpu = leaf("a", "llm.generate", "x", placement=Placement("cpu", "n1", 2))
    hosted = leaf("h", "llm.generate", "x", placement=Placement("hosted"))
    result = run_plan(plan_of(cpu, hosted), {"x": "q"}, options(executors=table))
    by = {t.step: t for t in result.traces}
    core = DEVICE_KINDS["cpu-core"]
    assert by["a"].energy_source == "modelled"
    assert by["a"].energy_j == pytest.approx(core.busy_watts * 2 * by["a"].latency_s, rel=0.2)
    assert by["a"].cost_usd == pytest.approx(
        core.price_per_hour * 2 * by["a"].latency_s / 3600, rel=0.2
    )
    assert (by["h"].energy_source, by["h"].energy_j, by["h"].cost_usd) == ("none", 0.0, 0.0)


def test_rapl_counters_handle_wraparound(tmp_path: Path) -> None:
    package = tmp_path / "intel-rapl:0"
    package.mkdir()
    (package / "max_energy_range_uj").write_text("1000000\n")
    (package / "energy_uj").write_text("999000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-domain: not counted again
    meter = EnergyMeter(rapl=RaplCounters(tmp_path))
    reading = meter.start("cpu", ())
    (package / "energy_uj").write_text("1000\n")  # wrapped: 2000 uJ later
    spent = meter.stop(reading, "cpu", (), meter.cores, DEVICE_KINDS["cpu-core"])
    assert spent.source == "rapl" and spent.joules == pytest.approx(0.002)
    assert meter.start("cpu", (), "cpu-vm-2").source == "modelled"  # not this machine


class FakeNvml:
    """A FAKE pynvml: two H100s whose energy counters grow by 5 J per reading."""

    def __init__(self) -> None:
        self.mj = [1000, 2000]

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return type("Memory", (), {"total": 80 * 2**30})()

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        self.mj[handle] += 5000
        return self.mj[handle]


def test_nvml_measures_only_gpus_of_this_machine_and_of_the_op_type(tmp_path: Path) -> None:
    nvml = NvmlCounters(FakeNvml())
    assert nvml.types == ["h100", "h100"]
    meter = EnergyMeter(rapl=RaplCounters(tmp_path), nvml=nvml)
    h100 = DEVICE_KINDS["h100-80gb"]
    for node in ("", "localhost"):
        reading = meter.start("gpu:h100x1", (1,), node)
        assert meter.stop(reading, "gpu:h100x1", (1,), 1, h100).source == "nvml"
    assert meter.start("gpu:h100x1", (0,), "h100-vm-1").source == "modelled"  # another node
    assert meter.start("gpu:a100x1", (0,), "localhost").source == "modelled"  # another type
    assert meter.start("gpu:h100x1", (2,), "localhost").source == "modelled"  # no such GPU
    assert meter.start("gpu", (0,), "").source == "modelled"


def test_device_strings_are_read_by_parse_device() -> None:
    devices = ("gpu:a100x4", "gpu:a100", "gpu", "cpu", "hosted")
    assert [gpu_count(d) for d in devices] == [4, 1, 0, 0, 0]
    assert device_kind_of("gpu:h100x2", {}) is DEVICE_KINDS["h100-80gb"]
    assert device_kind_of("hosted", {}) is None and device_kind_of("gpu", {}) is None


# ---- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_returns_what_finished_and_a_rerun_resumes(tmp_path: Path) -> None:
    interrupted = threading.Event()

    def interrupt(call: Call) -> Any:  # FAKE: the user presses Ctrl-C during s2
        if not interrupted.is_set():
            interrupted.set()
            _thread.interrupt_main()
            time.sleep(0.5)  # the main thread sees it within 0.1 s, while s2 still runs
        return EXECUTORS["llm.generate"](call)

    plan = chain(4)
    table = {**EXECUTORS, "llm.generate/s2": interrupt}
    first = run_plan(plan, {"x": "q"}, options(executors=table, cache_dir=tmp_path))
    assert first.status == "interrupted" and first.result is None
    assert [t.step for t in first.traces] == ["s1", "s2"]  # s2 was running: it finished
    assert "cache" in first.error
    second = run_plan(plan, {"x": "q"}, options(executors=table, cache_dir=tmp_path))
    assert second.status == "ok"
    assert [t.cached for t in second.traces] == [True, True, False, False]


def _sandboxes() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("mkc-sandbox-*"))


def _process_in(folder: Path) -> int | None:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cwd").resolve() == folder.resolve():
                return int(entry.name)
        except OSError:
            continue
    return None


def test_ctrl_c_kills_a_running_sandbox_and_returns_promptly() -> None:
    before = _sandboxes()
    seen: list[int | None] = []

    def press_ctrl_c() -> None:  # once the sandboxed program runs
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (new := _sandboxes() - before):
            time.sleep(0.02)
        time.sleep(0.2)
        seen.extend(_process_in(folder) for folder in new)
        _thread.interrupt_main()

    step = leaf("run", "code.execute", "x", impl="subprocess-sandbox",
                entry="murakkab.stdlib.code_tools:execute", knobs={"timeout_s": 60})  # fmt: skip
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    started = time.monotonic()
    program = "import time\ntime.sleep(25)\n"
    result = run_plan(plan_of(step), {"x": program}, options(executors={}, grace_s=0.3))
    assert result.status == "interrupted"
    assert time.monotonic() - started < 5
    assert result.traces[0].error.startswith("cancelled") and "abandoned" not in result.error
    assert len(seen) == 1 and seen[0] is not None
    with pytest.raises(ProcessLookupError):
        os.kill(seen[0], 0)
    assert _sandboxes() <= before  # its working directory is gone


def test_a_second_ctrl_c_ends_the_grace_period_without_raising() -> None:
    handler = signal.getsignal(signal.SIGINT)

    def twice(call: Call) -> Any:  # FAKE: Ctrl-C twice, then wait to be cancelled
        _thread.interrupt_main()
        deadline = time.monotonic() + 5
        while signal.getsignal(signal.SIGINT) is handler and time.monotonic() < deadline:
            time.sleep(0.01)  # until the runtime handles the first one
        time.sleep(0.1)
        _thread.interrupt_main()
        assert call.cancel is not None and call.cancel.wait(30)
        raise RuntimeError("FAKE: stopped")

    started = time.monotonic()
    opts = options(executors={"llm.generate": twice}, grace_s=30)
    result = run_plan(plan_of(leaf("a")), {"x": "q"}, opts)
    assert result.status == "interrupted" and result.error.startswith("interrupted (Ctrl-C)")
    assert time.monotonic() - started < 3
    assert result.traces[0].error.startswith("cancelled") and result.traces[0].attempts == 1
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_run_stops_when_its_cancel_event_is_set() -> None:
    cancel = threading.Event()

    def waits(call: Call) -> Any:  # FAKE: someone else cancels the run meanwhile
        threading.Timer(0.1, cancel.set).start()
        assert call.cancel is cancel and cancel.wait(30)
        raise RuntimeError("FAKE: stopped")

    opts = options(executors={"llm.generate": waits}, cancel=cancel, grace_s=30)
    result = run_plan(chain(2), {"x": "q"}, opts)
    assert result.status == "interrupted" and result.error.startswith("cancelled after 0 op(s)")
    assert [t.step for t in result.traces] == ["s1"]


_STUCK_RUN = """\
import os, signal, sys, threading, time
from murakkab.cluster import Cluster, Node
from murakkab.hardware import DEVICE_KINDS
from murakkab.plan import Impl, Placement, Plan, Step
from murakkab.runtime import engine
from murakkab.runtime.options import RunOptions

engine.CANCEL_WAIT_S = 0.2

def stuck(call):  # ignores Call.cancel
    time.sleep(60)

def press_ctrl_c():
    for _ in range(2):
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

step = Step("a", "llm.generate", ({"ref": "x"},), impl=Impl("stuck", "nowhere:run"),
            placement=Placement("cpu", "n1"))
plan = Plan("t", (("x", "text"),), (step,), {"ref": "a"})
nodes = (Node("n1", 2, 1.0, ()),)
options = RunOptions(executors={"llm.generate": stuck}, grace_s=60,
                     cluster=Cluster("t", nodes, dict(DEVICE_KINDS), ""))
threading.Thread(target=press_ctrl_c, daemon=True).start()
result = engine.run_plan(plan, {"x": "q"}, options)
print(result.status, result.error, flush=True)
"""


def test_an_interrupted_process_exits_with_an_op_still_running() -> None:
    started = time.monotonic()
    command = [sys.executable, "-c", _STUCK_RUN]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 10
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("interrupted interrupted (Ctrl-C) after 0 op(s) finished")
    assert "1 op(s) did not stop when cancelled and were abandoned" in done.stdout
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_a_package_installed_apart_is_named_with_its_own_command() -> None:
    from murakkab.plan import Impl
    from murakkab.runtime.resolve import _missing_package

    impl = Impl(
        "rapidocr", "murakkab.stdlib.vision_local:read_text", ("rapidocr_onnxruntime",), "vision"
    )
    message = _missing_package("vision.read_text", impl, "rapidocr_onnxruntime")
    assert 'pip install "murakkab[vision]" && pip install --no-deps rapidocr-onnxruntime' in message
