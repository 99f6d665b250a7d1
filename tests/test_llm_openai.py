"""The openai-compatible LLM client against a stub chat server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai")

from murakkab.stdlib import llm_openai  # noqa: E402
from murakkab.stdlib.llm_openai import PROMPTS, Settings, render, strip_fences  # noqa: E402

from murakkab.catalogue import stdlib_catalogue  # noqa: E402
from murakkab.executors import Call, ExecutorError, implementation  # noqa: E402
from tests.stub_llm import KEY, StubLLM, running_stub  # noqa: E402


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubLLM]:
    with running_stub(monkeypatch) as server:
        yield server


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(llm_openai, "_sleep", delays.append)
    return delays


def llm_call(capability: str, *args: Any, **knobs: Any) -> Call:
    return Call(capability, args, {"model": "gemma-3-27b", **knobs})


def test_prompts_cover_every_llm_capability_of_llm_and_code() -> None:
    wanted = {
        cap.name: cap
        for cap in stdlib_catalogue().all()
        if cap.kind == "llm" and cap.name.split(".")[0] in ("llm", "code")
    }
    assert set(PROMPTS) == set(wanted)
    for name, prompt in PROMPTS.items():
        assert len(prompt.labels) == len(wanted[name].params), name
        assert prompt.code == (str(wanted[name].result) == "code"), name
        impl = implementation(name, "openai-compatible")
        assert impl is not None and impl.cost_model == "llm" and impl.devices == ("cpu",)
        assert impl.load() is llm_openai.run
    systems = [p.system for p in PROMPTS.values()]
    assert len(set(systems)) == len(systems), "the stub tells capabilities apart by system"


def test_prompt_carries_the_inputs_verbatim(stub: StubLLM) -> None:
    question = "What does {question} mean in {0} and %s?"
    context = ["the transcript says hello", "frames/0001.png", {"t": 3.5, "caption": "a dog"}]
    reply = llm_openai.run(llm_call("llm.answer", question, context, max_tokens=77))
    (body,) = stub.bodies()
    system, user = (m["content"] for m in body["messages"])
    assert body["model"] == "gemma-3-27b" and body["max_tokens"] == 77
    assert question in user and "the transcript says hello" in user
    assert "(image file, not shown: frames/0001.png)" in user
    assert "t: 3.5\ncaption: a dog" in user
    assert "can't see them" in system
    assert reply == "echo: " + user


def test_model_map_and_seed(stub: StubLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_LLM_MODEL_MAP", '{"gemma-3-27b": "google/gemma-3-27b-it"}')
    llm_openai.run(llm_call("llm.solve", "1 + 1", seed=3))
    llm_openai.run(Call("llm.solve", ("2 + 2",), {"model": "phi-4"}))
    first, second = stub.bodies()
    assert first["model"] == "google/gemma-3-27b-it" and first["seed"] == 3
    assert second["model"] == "phi-4" and "seed" not in second and "max_tokens" not in second


def test_code_capabilities_return_only_the_code(stub: StubLLM) -> None:
    stub.reply = lambda body: "Sure:\n```python\ndef f(x):\n    return 2 * x\n```\nDone."
    assert llm_openai.run(llm_call("code.generate", "double x")) == "def f(x):\n    return 2 * x"
    stub.reply = lambda body: "The second is best.\n\n  [2]  "
    picked = llm_openai.run(llm_call("code.rank", "p", ["a = 1", "b = 2"], "assert True"))
    assert picked == "b = 2"
    assert "[1]\na = 1\n\n[2]\nb = 2" in stub.bodies()[-1]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("x = 1", "x = 1"),
        ("```\nx = 1\n```", "x = 1"),
        ("```text\nnotes\n```\nthen\n```py\nx = 1\n```", "x = 1"),
        ("```bash\nls\n```", "ls"),
        ("```python\ndef f():\n    return 1", "def f():\n    return 1"),
        ("\n    x = 1\n", "    x = 1"),
    ],
)
def test_strip_fences(reply: str, code: str) -> None:
    assert strip_fences(reply) == code


class FakeArray:
    shape = (480, 640, 3)


def test_render_references_media_and_clips_long_text() -> None:
    assert render([]) == "(none)"
    assert render([Path("a/b.JPG")]) == "[1]\n(image file, not shown: a/b.JPG)"
    assert render(b"\x00\x01") == "(binary data, 2 bytes, not shown)"
    assert render(FakeArray()) == "(FakeArray of shape (480, 640, 3), not shown)"
    long = "x" * (llm_openai.MAX_ITEM_CHARS + 5)
    assert render(long).endswith("(... 5 more characters cut)")


def test_retries_once_after_429(stub: StubLLM, sleeps: list[float]) -> None:
    stub.faults = [429]
    assert llm_openai.run(llm_call("llm.generate", "hi")).startswith("echo:")
    assert len(stub.bodies()) == 2
    assert sleeps == [0.0]  # the server's Retry-After: 0


def test_retries_5xx_with_growing_backoff(stub: StubLLM, sleeps: list[float]) -> None:
    stub.faults = [503, 500]
    assert llm_openai.run(llm_call("llm.generate", "hi")).startswith("echo:")
    assert len(stub.bodies()) == 3
    assert 0.5 <= sleeps[0] <= 0.625 and 1.0 <= sleeps[1] <= 1.25


def test_retries_are_bounded(
    stub: StubLLM, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKC_LLM_MAX_RETRIES", "2")
    stub.faults = [502] * 5
    with pytest.raises(ExecutorError, match="HTTP 502 after 2 retries: injected 502"):
        llm_openai.run(llm_call("llm.generate", "hi"))
    assert len(stub.bodies()) == 3 and len(sleeps) == 2


def test_auth_failure_never_leaks_the_key(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-HUSH-9876543210"
    monkeypatch.setenv("MKC_LLM_API_KEY", wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ExecutorError) as raised:
        llm_openai.run(llm_call("llm.generate", "hi"))
    error = raised.value
    assert "rejected the API key (HTTP 401)" in str(error)
    shown = "".join(traceback.format_exception(error)) + repr(error) + caplog.text
    assert wrong not in shown and "HUSH" not in shown
    assert error.__cause__ is None and error.__suppress_context__
    assert wrong not in repr(Settings.from_env())


def test_server_text_quoting_the_key_is_redacted(stub: StubLLM) -> None:
    settings = Settings.from_env()
    error = llm_openai._status_error(settings, "m", 400, f"bad request from {KEY}")
    assert KEY not in str(error) and "[redacted]" in str(error)


def test_unknown_model_is_a_clear_error(stub: StubLLM) -> None:
    stub.models = {"gemma-3-27b"}
    with pytest.raises(ExecutorError, match=r"no model 'phi-4' \(HTTP 404.*MKC_LLM_MODEL_MAP"):
        llm_openai.run(Call("llm.solve", ("1 + 1",), {"model": "phi-4"}))


def test_timeout_is_a_clear_error(stub: StubLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_LLM_TIMEOUT_S", "0.2")
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="did not answer within 0.2 s"):
        llm_openai.run(Call("llm.solve", ("1 + 1",), {"model": StubLLM.slow_model}))
    assert time.monotonic() - start < 0.9


def test_no_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MKC_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("MKC_LLM_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(ExecutorError, match="cannot reach the LLM endpoint") as raised:
        llm_openai.run(llm_call("llm.generate", "hi"))
    assert KEY not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no API key for https://api.openai.com/v1"),
        ({"MKC_LLM_BASE_URL": "ftp://x"}, "must be an http"),
        ({"MKC_LLM_BASE_URL": "http://h", "MKC_LLM_TIMEOUT_S": "soon"}, "non-negative number"),
        ({"MKC_LLM_BASE_URL": "http://h", "MKC_LLM_MODEL_MAP": "{"}, "not valid JSON"),
        ({"MKC_LLM_BASE_URL": "http://h", "MKC_LLM_MODEL_MAP": '{"a": 1}'}, "object of strings"),
    ],
)
def test_bad_configuration(env: dict[str, str], message: str) -> None:
    with pytest.raises(ExecutorError, match=message):
        Settings.from_env(env)


def test_local_server_needs_no_key() -> None:
    settings = Settings.from_env({"MKC_LLM_BASE_URL": "http://localhost:8000/v1/"})
    assert settings.base_url == "http://localhost:8000/v1"
    assert settings.api_key == llm_openai.PLACEHOLDER_KEY


def test_bad_calls_fail_before_any_request(stub: StubLLM) -> None:
    with pytest.raises(ExecutorError, match="no prompt for capability 'code.execute'"):
        llm_openai.run(llm_call("code.execute", "print(1)"))
    with pytest.raises(ExecutorError, match="takes 2 arguments, got 1"):
        llm_openai.run(llm_call("llm.answer", "q"))
    with pytest.raises(ExecutorError, match="'model' knob is not set"):
        llm_openai.run(Call("llm.generate", ("hi",), {}))
    assert stub.bodies() == []
