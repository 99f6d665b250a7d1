"""agents.debate and agents.self_reflect ("llm-rounds") against the stub chat server."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("openai")

from murakkab.stdlib import agents_impl  # noqa: E402
from murakkab.stdlib.llm_openai import PROMPTS  # noqa: E402

from murakkab.executors import Call, ExecutorError, implementation  # noqa: E402
from tests.test_llm_openai import StubLLM, running_stub  # noqa: E402

SYSTEMS = {prompt.system: name for name, prompt in PROMPTS.items()}
TESTS = "def test_double():\n    assert double(2) == 4"
PROBLEM = "Write double(x), which returns twice x."


def capability_of(body: dict[str, Any]) -> str:
    return SYSTEMS[body["messages"][0]["content"]]


def user_of(body: dict[str, Any]) -> str:
    return str(body["messages"][1]["content"])


def solution(seed: int, round_: int) -> str:
    return f"def double(x):\n    return x * 2  # coder {seed} round {round_}"


class Script:
    """Canned replies by capability: a coder's code names its seed and round."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, int | None]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        capability, seed = capability_of(body), body.get("seed")
        with self.lock:
            self.counts[capability, seed] += 1
            n = self.counts[capability, seed]
        if capability == "code.write_tests":
            return f"```python\n{TESTS}\n```"
        if capability == "code.generate":
            return f"Here you go:\n```python\n{solution(seed or 0, 0)}\n```"
        if capability == "code.revise":
            return f"```python\n{solution(seed or 0, n)}\n```"
        if capability == "code.rank":
            return "Both pass; the second is clearer.\n[2]"
        if capability == "llm.generate":
            return "answer v0"
        if capability == "llm.critique":
            return f"critique #{n}"
        if capability == "llm.revise":
            return f"answer v{n}"
        raise AssertionError(f"unexpected capability {capability}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubLLM]:
    with running_stub(monkeypatch) as stub:
        stub.reply = Script()
        yield stub


def debate_knobs(debaters: int, rounds: int) -> dict[str, Any]:
    return {"debaters": debaters, "rounds": rounds, "model": "phi-4", "tp": 4, "gpu": "a100"}


def first_item(user: str, label: str) -> str:
    """The text of item [1] of the list after `label` in a prompt."""
    listing = user.split(label, 1)[1]
    return listing.split("[1]\n", 1)[1].split("\n\n[2]\n", 1)[0]


@pytest.mark.parametrize(("debaters", "rounds"), [(2, 2), (4, 2), (2, 4), (3, 0)])
def test_debate_makes_the_designed_calls_and_returns_the_ranked_solution(
    server: StubLLM, monkeypatch: pytest.MonkeyPatch, debaters: int, rounds: int
) -> None:
    monkeypatch.setattr(agents_impl, "load_test_runner", lambda: None)
    result = agents_impl.run_debate(PROBLEM, debate_knobs(debaters, rounds))
    bodies = server.bodies()
    assert len(bodies) == debaters * (rounds + 1) + 2 == result.llm_calls
    calls = Counter(capability_of(b) for b in bodies)
    assert calls["code.write_tests"] == calls["code.rank"] == 1
    assert calls["code.generate"] == debaters and calls["code.revise"] == debaters * rounds
    assert all(b["model"] == "phi-4" and PROBLEM in user_of(b) for b in bodies)
    assert result.tests == TESTS
    assert result.candidates == tuple(solution(i, rounds) for i in range(debaters))
    assert result.solution == result.candidates[1]
    assert result.transcript[-1] == "ranker picked candidate 2"
    skipped = [line for line in result.transcript if "tests skipped" in line]
    assert len(skipped) == rounds + 1


def test_each_coder_sees_its_own_solution_first_then_the_others(
    server: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agents_impl, "load_test_runner", lambda: None)
    agents_impl.run_debate(PROBLEM, debate_knobs(3, 2))
    revisions = [b for b in server.bodies() if capability_of(b) == "code.revise"]
    assert sorted(b["seed"] for b in revisions) == [0, 0, 1, 1, 2, 2]
    for body in revisions:
        user, seed = user_of(body), body["seed"]
        assert f"# coder {seed} round" in first_item(user, "Solutions (the first is yours")
        assert all(f"# coder {other} round" in user for other in range(3))
        assert user.count("def double") == 3
        assert "Test report:\n" + agents_impl.NOT_RUN in user


def test_test_reports_reach_the_coders_and_the_ranker(
    server: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[Call] = []

    def fake_run_tests(call: Call) -> str:
        runs.append(call)
        return f"report {len(runs)}: 1 of 2 candidates passed every test\ncandidate 1: FAILED"

    monkeypatch.setattr(agents_impl, "load_test_runner", lambda: fake_run_tests)
    result = agents_impl.run_debate(PROBLEM, debate_knobs(2, 2))
    assert len(runs) == 3
    for round_, call in enumerate(runs):
        assert call.capability == "code.run_tests"
        assert call.args == ([solution(0, round_), solution(1, round_)], TESTS)
        assert call.knobs == {"timeout_s": 10, "memory_mb": 512}
    bodies = server.bodies()
    revisions = [user_of(b) for b in bodies if capability_of(b) == "code.revise"]
    assert sum("Test report:\nreport 1:" in user for user in revisions) == 2
    assert sum("Test report:\nreport 2:" in user for user in revisions) == 2
    (rank,) = [user_of(b) for b in bodies if capability_of(b) == "code.rank"]
    assert "# Results of these tests on the candidates:\n# report 3:" in rank
    assert "# candidate 1: FAILED" in rank
    assert "round 2 test report:\nreport 3" in result.transcript[-2]


def test_debate_with_the_sandboxed_interpreter(
    server: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("murakkab.stdlib.code_tools")
    assert agents_impl.load_test_runner() is not None
    result = agents_impl.run_debate(PROBLEM, debate_knobs(2, 1))
    revisions = [user_of(b) for b in server.bodies() if capability_of(b) == "code.revise"]
    assert len(revisions) == 2
    assert all("Test report:\n2 of 2 candidates passed every test" in u for u in revisions)
    assert any("test report" in line for line in result.transcript)
    assert result.solution == solution(1, 1)


def test_missing_test_runner_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agents_impl, "TEST_RUNNER_MODULE", "murakkab.stdlib.no_such_tools")
    assert agents_impl.load_test_runner() is None


def test_debate_entry_is_registered_and_returns_code(
    server: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agents_impl, "load_test_runner", lambda: None)
    impl = implementation("agents.debate", "llm-rounds")
    assert impl is not None and impl.cost_model == "composition"
    entry = impl.load()
    assert entry(Call("agents.debate", (PROBLEM,), debate_knobs(2, 2))) == solution(1, 2)


@pytest.mark.parametrize("rounds", [0, 1, 2, 3])
def test_self_reflect_makes_one_plus_two_r_calls(server: StubLLM, rounds: int) -> None:
    impl = implementation("agents.self_reflect", "llm-rounds")
    assert impl is not None and impl.cost_model == "composition"
    knobs = {"rounds": rounds, "model": "phi-4", "tp": 4, "gpu": "a100"}
    answer = impl.load()(Call("agents.self_reflect", ("Why is the sky blue?",), knobs))
    bodies = server.bodies()
    expected = ["llm.generate"] + ["llm.critique", "llm.revise"] * rounds
    assert [capability_of(b) for b in bodies] == expected
    assert answer == f"answer v{rounds}"
    assert bodies[0]["max_tokens"] == 1024  # llm.generate's default, filled in
    assert all(b["model"] == "phi-4" for b in bodies)
    for k in range(1, rounds + 1):
        critique, revise = user_of(bodies[2 * k - 1]), user_of(bodies[2 * k])
        assert f"Answer:\nanswer v{k - 1}" in critique
        assert f"Answer:\nanswer v{k - 1}" in revise and f"Critique:\ncritique #{k}" in revise


@pytest.mark.parametrize(
    "knobs", [{"debaters": 0, "rounds": 2}, {"debaters": 2, "rounds": -1}, {"debaters": "2"}]
)
def test_bad_knobs_fail_before_any_call(server: StubLLM, knobs: dict[str, Any]) -> None:
    with pytest.raises(ExecutorError, match="must be a whole number"):
        agents_impl.run_debate(PROBLEM, {"model": "phi-4", **knobs})
    assert server.bodies() == []


def test_endpoint_errors_surface(server: StubLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_LLM_API_KEY", "sk-wrong")
    monkeypatch.setattr(agents_impl, "load_test_runner", lambda: None)
    with pytest.raises(ExecutorError, match="rejected the API key"):
        agents_impl.run_debate(PROBLEM, debate_knobs(2, 2))
    with pytest.raises(ExecutorError, match="rejected the API key"):
        agents_impl.run_self_reflect("q", {"rounds": 1, "model": "phi-4"})
