"""The "vllm" LLM executor against a fake `vllm` module.

vLLM needs NVIDIA GPUs and is not installed here. FakeVllm records how the
engine is built and every `LLM.chat` call, and answers each conversation from
its last user message, so the tests pin what the executor sends (one batch,
the openai-compatible prompts, greedy sampling) and how replies come back.
"""

from __future__ import annotations

import json
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from murakkab.stdlib import llm_vllm
from murakkab.stdlib.llm_openai import PROMPTS, build_messages

from murakkab.executors import Call, ExecutorError


@dataclass
class FakeCompletion:
    text: str
    finish_reason: str = "stop"


@dataclass
class FakeRequestOutput:
    outputs: list[FakeCompletion]


class FakeSamplingParams:
    def __init__(self, **options: Any) -> None:
        self.options = options


class FakeVllm:
    """The fake module's state: engines built, chat batches received, how to answer."""

    def __init__(self) -> None:
        self.engines: list[dict[str, Any]] = []
        self.batches: list[tuple[list[list[dict[str, str]]], list[FakeSamplingParams]]] = []
        self.answer = lambda user: f"reply to {user.splitlines()[1]}"

    def module(self) -> types.ModuleType:
        state = self

        class FakeLLM:
            def __init__(self, **kwargs: Any) -> None:
                state.engines.append(kwargs)

            def chat(
                self,
                conversations: list[list[dict[str, str]]],
                sampling_params: list[FakeSamplingParams],
                use_tqdm: bool,
            ) -> list[FakeRequestOutput]:
                assert use_tqdm is False
                state.batches.append((conversations, sampling_params))
                return [
                    FakeRequestOutput([FakeCompletion(state.answer(c[-1]["content"]))])
                    for c in conversations
                ]

        module = types.ModuleType("vllm")
        module.LLM = FakeLLM  # type: ignore[attr-defined]
        module.SamplingParams = FakeSamplingParams  # type: ignore[attr-defined]
        return module


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeVllm:
    state = FakeVllm()
    monkeypatch.setitem(sys.modules, "vllm", state.module())
    (tmp_path / "gemma-3-27b").mkdir()
    monkeypatch.setenv("MKC_VLLM_MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("MKC_VLLM_MODELS", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(llm_vllm, "_INSTANCES", {})
    return state


def _call(capability: str, *args: Any, gpu_ids: tuple[int, ...] = (0,), **knobs: Any) -> Call:
    knobs = {"model": "gemma-3-27b", "tp": 4, "max_tokens": 1024, **knobs}
    return Call(capability, args, knobs, device="gpu:a100x1", gpu_ids=gpu_ids)


def test_a_batch_is_one_chat_call_and_replies_come_back_in_order(fake_vllm: FakeVllm) -> None:
    calls = [_call("llm.generate", f"instruction {i}") for i in range(3)]
    calls.append(_call("llm.answer", "question 3", ["a frame"]))
    assert llm_vllm.run_batch(calls) == [
        "reply to instruction 0",
        "reply to instruction 1",
        "reply to instruction 2",
        "reply to question 3",
    ]
    ((conversations, _params),) = fake_vllm.batches
    assert conversations == [build_messages(PROMPTS[c.capability], c.args) for c in calls]
    assert len(fake_vllm.engines) == 1


def test_run_is_a_batch_of_one(fake_vllm: FakeVllm) -> None:
    assert llm_vllm.run(_call("llm.solve", "2 + 2")) == "reply to 2 + 2"
    assert len(fake_vllm.batches) == 1 and len(fake_vllm.batches[0][0]) == 1
    assert llm_vllm.run_batch([]) == []


def test_sampling_is_greedy_with_max_tokens_and_the_seed_when_set(fake_vllm: FakeVllm) -> None:
    llm_vllm.run_batch(
        [_call("llm.generate", "a", max_tokens=64), _call("code.generate", "b", seed=2)]
    )
    ((_conversations, params),) = fake_vllm.batches
    assert [p.options for p in params] == [
        {"temperature": 0.0, "max_tokens": 64},
        {"temperature": 0.0, "max_tokens": 1024, "seed": 2},
    ]


def test_code_capabilities_return_the_code_without_fences(fake_vllm: FakeVllm) -> None:
    fake_vllm.answer = lambda user: "Here it is:\n```python\ndef f():\n    return 1\n```\nDone."
    assert llm_vllm.run(_call("code.generate", "write f")) == "def f():\n    return 1"
    assert llm_vllm.run(_call("llm.generate", "say hi")).startswith("Here it is:")


def test_a_ranker_that_names_its_pick_returns_that_candidate(fake_vllm: FakeVllm) -> None:
    fake_vllm.answer = lambda user: "The second is right.\n[2]"
    candidates = ["def f(): return 0", "def f(): return 1"]
    call = _call("code.rank", "problem", candidates, "assert f() == 1")
    assert llm_vllm.run(call) == "def f(): return 1"


def test_the_engine_is_built_once_on_the_local_path_with_tp_from_the_gpus(
    fake_vllm: FakeVllm, tmp_path: Path
) -> None:
    llm_vllm.run(_call("llm.generate", "a", gpu_ids=(2, 3)))
    llm_vllm.run(_call("llm.generate", "b", gpu_ids=(2, 3)))
    path = str(tmp_path / "gemma-3-27b")
    assert fake_vllm.engines == [
        {"model": path, "tokenizer": path, "tensor_parallel_size": 2, "seed": 0}
    ]
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_without_gpu_ids_the_tp_knob_sets_the_tensor_parallel_size(fake_vllm: FakeVllm) -> None:
    instance = llm_vllm.open_instance(_call("llm.generate", "a", gpu_ids=(), tp=4))
    assert instance.tp == 4 and fake_vllm.engines[0]["tensor_parallel_size"] == 4
    assert llm_vllm.run(Call("llm.generate", ("x",), {"model": "m"}, instance=instance))
    assert len(fake_vllm.engines) == 1  # the call's instance is used: no second engine


def test_the_model_map_wins_over_the_model_dir(tmp_path: Path) -> None:
    mapped = tmp_path / "elsewhere"
    mapped.mkdir()
    (tmp_path / "phi-4").mkdir()
    env = {"MKC_VLLM_MODELS": json.dumps({"phi-4": str(mapped)}), "MKC_VLLM_MODEL_DIR": "/x"}
    assert llm_vllm.model_path("phi-4", env) == mapped
    assert llm_vllm.model_path("phi-4", {"MKC_VLLM_MODEL_DIR": str(tmp_path)}) == tmp_path / "phi-4"


def test_missing_weights_are_refused_not_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="set MKC_VLLM_MODELS .* or MKC_VLLM_MODEL_DIR"):
        llm_vllm.model_path("phi-4", {})
    with pytest.raises(ExecutorError, match="MKC_VLLM_MODEL_DIR\\) are not at .*phi-4"):
        llm_vllm.model_path("phi-4", {"MKC_VLLM_MODEL_DIR": str(tmp_path)})
    with pytest.raises(ExecutorError, match="MKC_VLLM_MODELS is not valid JSON"):
        llm_vllm.model_path("phi-4", {"MKC_VLLM_MODELS": "{phi-4"})
    with pytest.raises(ExecutorError, match="must be a JSON object of paths"):
        llm_vllm.model_path("phi-4", {"MKC_VLLM_MODELS": '["/models"]'})


def test_a_model_without_weights_fails_before_vllm_is_built(fake_vllm: FakeVllm) -> None:
    with pytest.raises(ExecutorError, match="weights of model 'phi-4'"):
        llm_vllm.run(_call("llm.generate", "a", model="phi-4"))
    assert fake_vllm.engines == []


def test_missing_vllm_names_the_install(
    fake_vllm: FakeVllm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm now fails
    with pytest.raises(ExecutorError, match="needs vllm: pip install vllm") as info:
        llm_vllm.run(_call("llm.generate", "a"))
    assert "pip install 'murakkab[gpu]'" in str(info.value)


def test_one_batch_runs_on_one_model(fake_vllm: FakeVllm) -> None:
    calls = [_call("llm.generate", "a"), _call("llm.generate", "b", model="phi-4")]
    with pytest.raises(ExecutorError, match="one batch runs on one engine"):
        llm_vllm.run_batch(calls)


def test_bad_calls_are_named(fake_vllm: FakeVllm) -> None:
    with pytest.raises(ExecutorError, match="no prompt for capability 'llm.dance'"):
        llm_vllm.run(_call("llm.dance", "a"))
    with pytest.raises(ExecutorError, match="llm.answer takes 2 arguments, got 1"):
        llm_vllm.run(_call("llm.answer", "a"))
    with pytest.raises(ExecutorError, match="the 'model' knob is not set"):
        llm_vllm.run(Call("llm.generate", ("a",), {}))


def test_an_empty_reply_is_an_error_with_its_finish_reason(fake_vllm: FakeVllm) -> None:
    fake_vllm.answer = lambda user: "  "
    with pytest.raises(ExecutorError, match="empty reply \\(finish reason: stop\\)"):
        llm_vllm.run(_call("llm.generate", "a"))
