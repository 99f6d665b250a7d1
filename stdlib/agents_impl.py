"""Implementation "llm-rounds" of agents.debate and agents.self_reflect: multi-agent
compositions carried out as rounds of `kind llm` calls, each a `Call` to
`llm_openai.run` (so they share its endpoint, retries and secrets policy).

agents.debate with D debaters and R rounds makes D * (R + 1) + 2 model calls: one
tester writes tests; D coders propose; in each of R rounds every coder revises after
reading the others' solutions and the test report; one ranker picks. Tests run in the
sandboxed interpreter (code.run_tests of murakkab.stdlib.code_tools) after every
round, when that module is installed; otherwise the transcript says they were not run.

agents.self_reflect with R rounds makes 1 + 2R calls: answer, then R times critique
and revise.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from murakkab.catalogue import stdlib_catalogue
from murakkab.executors import Call, ExecutorError, Implementation

from . import llm_openai

LlmFn = Callable[[Call], str]
TestRunner = Callable[[Call], Any]

TEST_RUNNER_MODULE = "murakkab.stdlib.code_tools"
NOT_RUN = (
    f"Tests were not run: {TEST_RUNNER_MODULE} is not installed, so no solution has"
    " been checked; judge them by reading them."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DebateResult:
    solution: str  # the ranker's pick
    candidates: tuple[str, ...]  # the coders' solutions after the last round
    tests: str
    transcript: tuple[str, ...]
    llm_calls: int


@dataclass(frozen=True)
class ReflectResult:
    answer: str
    transcript: tuple[str, ...]
    llm_calls: int


def debate(call: Call) -> str:
    """Entry of agents.debate: the ranked solution."""
    result = run_debate(_text_arg(call), call.knobs)
    _log_transcript(call.capability, result.transcript)
    return result.solution


def self_reflect(call: Call) -> str:
    """Entry of agents.self_reflect: the answer after the last revision."""
    result = run_self_reflect(_text_arg(call), call.knobs)
    _log_transcript(call.capability, result.transcript)
    return result.answer


def load_test_runner() -> TestRunner | None:
    """code.run_tests of the sandboxed interpreter, or None when it is not installed."""
    try:
        module = importlib.import_module(TEST_RUNNER_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TEST_RUNNER_MODULE:
            raise  # the module exists but is broken: that is a bug to see, not to skip
        return None
    runner: TestRunner | None = getattr(module, "run_tests", None)
    return runner


def run_debate(problem: str, knobs: Mapping[str, Any], llm: LlmFn = llm_openai.run) -> DebateResult:
    debaters = _count(knobs, "debaters", least=1)
    rounds = _count(knobs, "rounds", least=0)
    runner = load_test_runner()
    calls = 0
    transcript: list[str] = [f"debate: {debaters} debaters, {rounds} rounds"]

    def ask(capability: str, args: tuple[Any, ...], seed: int | None = None) -> Call:
        extra = {} if seed is None else {"seed": seed}
        return Call(capability, args, {**knobs_for(capability, knobs), **extra})

    with ThreadPoolExecutor(max_workers=debaters + 1) as pool:
        pending_tests = pool.submit(llm, ask("code.write_tests", (problem,)))
        solutions = list(
            pool.map(llm, [ask("code.generate", (problem,), seed=i) for i in range(debaters)])
        )
        tests = pending_tests.result()
        calls += debaters + 1
        transcript.append(f"tester wrote {len(tests.splitlines())} lines of tests")
        transcript += [f"round 0, coder {i + 1} proposed:\n{s}" for i, s in enumerate(solutions)]
        report = _run_tests(runner, solutions, tests, transcript, 0)
        for round_ in range(1, rounds + 1):
            revisions = [
                ask("code.revise", (problem, _yours_first(solutions, i), report), seed=i)
                for i in range(debaters)
            ]
            solutions = list(pool.map(llm, revisions))
            calls += debaters
            transcript += [
                f"round {round_}, coder {i + 1} revised:\n{s}" for i, s in enumerate(solutions)
            ]
            report = _run_tests(runner, solutions, tests, transcript, round_)
    best = llm(ask("code.rank", (problem, solutions, _with_report(tests, report))))
    calls += 1
    picked = [i + 1 for i, s in enumerate(solutions) if s.strip() == best.strip()]
    verdict = f"candidate {picked[0]}" if picked else "a solution of its own"
    transcript.append(f"ranker picked {verdict}")
    return DebateResult(best, tuple(solutions), tests, tuple(transcript), calls)


def run_self_reflect(
    question: str, knobs: Mapping[str, Any], llm: LlmFn = llm_openai.run
) -> ReflectResult:
    rounds = _count(knobs, "rounds", least=0)
    # llm.generate, not llm.answer: its model domain holds every self_reflect model.
    answer = llm(Call("llm.generate", (question,), knobs_for("llm.generate", knobs)))
    transcript = [f"answer:\n{answer}"]
    for round_ in range(1, rounds + 1):
        critique = llm(Call("llm.critique", (question, answer), knobs_for("llm.critique", knobs)))
        revise_knobs = knobs_for("llm.revise", knobs)
        answer = llm(Call("llm.revise", (question, answer, critique), revise_knobs))
        transcript += [f"round {round_} critique:\n{critique}", f"round {round_} answer:\n{answer}"]
    return ReflectResult(answer, tuple(transcript), 1 + 2 * rounds)


def knobs_for(capability: str, knobs: Mapping[str, Any]) -> dict[str, Any]:
    """The knobs of a sub-call: the capability's defaults, overridden by the
    composition's knobs of the same name (model, tp, gpu)."""
    declared = stdlib_catalogue().lookup(capability)
    if declared is None:
        raise ExecutorError(f"the standard library declares no capability {capability!r}")
    defaults = {k.name: k.default for k in declared.knobs if k.default is not None}
    return {name: knobs.get(name, default) for name, default in defaults.items()}


def _run_tests(
    runner: TestRunner | None,
    solutions: Sequence[str],
    tests: str,
    transcript: list[str],
    round_: int,
) -> str:
    if runner is None:
        transcript.append(f"round {round_}: tests skipped, {TEST_RUNNER_MODULE} is not installed")
        return NOT_RUN
    call = Call("code.run_tests", (list(solutions), tests), knobs_for("code.run_tests", {}))
    report = runner(call)
    text = report if isinstance(report, str) else str(report)
    transcript.append(f"round {round_} test report:\n{text}")
    return text


def _yours_first(solutions: Sequence[str], mine: int) -> list[str]:
    return [solutions[mine], *(s for i, s in enumerate(solutions) if i != mine)]


def _with_report(tests: str, report: str) -> str:
    """The tests with the last report as trailing comments: code.rank takes no report,
    and the ranker should still judge by the results."""
    lines = [f"# {line}".rstrip() for line in report.splitlines()]
    return "\n".join([tests.rstrip(), "", "# Results of these tests on the candidates:", *lines])


def _count(knobs: Mapping[str, Any], name: str, least: int) -> int:
    value = knobs.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
        raise ExecutorError(f"knob '{name}' must be a whole number >= {least}, not {value!r}")
    return int(value)


def _text_arg(call: Call) -> str:
    if len(call.args) != 1 or not isinstance(call.args[0], str):
        raise ExecutorError(f"{call.capability} takes one text argument, got {call.args!r}")
    return call.args[0]


def _log_transcript(capability: str, transcript: Sequence[str]) -> None:
    for entry in transcript:
        log.info("%s: %s", capability, entry)


IMPLEMENTATIONS = tuple(
    Implementation(
        capability=f"agents.{name}",
        name="llm-rounds",
        # The rounds run wherever their LLM calls are served: a GPU server
        # (vLLM behind the OpenAI-compatible endpoint), a CPU one, or a provider.
        devices=("cpu", "gpu"),
        cost_model="composition",
        entry=f"murakkab.stdlib.agents_impl:{name}",
        description=description,
        requires=("openai",),
    )
    for name, description in (
        ("debate", "Coders propose and revise over rounds, tests run, a ranker picks."),
        ("self_reflect", "Answer, then critique and revise for a number of rounds."),
    )
)
