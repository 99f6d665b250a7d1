"""The LLM planner: a language model proposes the plan, the type checker decides.

The model sees the catalogue (every signature's typed interface, kind and doc),
the job's typed inputs and the rules a plan must keep, and replies in a
constrained JSON form (`SCHEMA`, narrowed by `schema_for` to the catalogue's
names and the job's inputs):

    {"steps": [{"name": "scenes", "call": "video.scene_detect",
                "args": [{"input": "video"}], "why": "split the video"}, ...],
     "result": "summary"}

where an argument is one of {"input": NAME}, {"step": NAME}, {"text": "..."} or
{"list": [{"input": NAME} | {"step": NAME}, ...]}. The endpoint enforces the
form where it can: an OpenAI-compatible server through `response_format`
(json_schema, strict), a local GGUF model on llama.cpp through a grammar made
from the schema.

The reply is checked (`check_reply`) into a `search.Plan`, collecting every
error as a sentence: unknown names (with close matches), argument counts, types
(`is_assignable`; a single value fits a `list<T>` parameter when it fits `T`),
references to later steps, LLM steps reading media, unread inputs and results.
A plan without errors is written and checked by the frontend (`planning.write`);
a file that does not check is one more error. The errors go back to the model
for at most `attempts` tries in all; what still fails, or an endpoint or model
that fails, falls back to the default planner, and the planner text says so.

The API key never reaches a note, the planner text or an error: llm_openai
redacts its messages, and everything this module reports is redacted again.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from murakkab.executors import ExecutorError
from murakkab.planner.clauses import split_clauses
from murakkab.planner.library import Library
from murakkab.planner.planning import Job, Planned, plan_default, write
from murakkab.planner.reply import check_reply, retry_prompt, schema_for, system_prompt
from murakkab.planner.search import (
    PlanningError,
    SearchStats,
    score,
)

# Given the chat messages and the JSON schema of the reply, the reply's text.
Chat = Callable[[list[dict[str, str]], dict[str, Any]], str]

MODEL_ENV = "MKC_PLANNER_MODEL"
KEY_ENVS = ("MKC_LLM_API_KEY", "OPENAI_API_KEY")
LOCAL_CONTEXT_TOKENS = 8192  # the catalogue, and the replies and errors of the retries
LOCAL_MAX_TOKENS = 768
# Bounds the grammar puts on a local model's reply (strict OpenAI schemas reject
# them): a small model may repeat a step until max_tokens, and grammar-constrained
# decoding on a CPU is slow, so the bounds keep an attempt to seconds.
LOCAL_MAX_STEPS = 6
LOCAL_MAX_CHARS = 80  # of a step's name, its reason and a literal text
REASON_CHARS = 160  # of an endpoint's error, in the planner text
NOTE_CHARS = 600  # of one failed attempt's errors, in a note

log = logging.getLogger(__name__)


# ---- the planner -----------------------------------------------------------------------


def configured_model(env: Mapping[str, str] = os.environ) -> str | None:
    """The planner model named by MKC_PLANNER_MODEL, or None when it is unset or blank."""
    return env.get(MODEL_ENV, "").strip() or None


class _ChatFailed(Exception):
    """The endpoint or the model failed; the message is safe to show."""


def plan_llm(
    job: Job, library: Library, model: str, attempts: int = 3, chat: Chat | None = None
) -> Planned:
    """The plan `model` proposes, checked and retried with its errors; the default
    planner's when no attempt checks or the model cannot be asked."""
    if not split_clauses(job.description):
        return plan_default(job, library)  # it says the description is empty
    failures: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            ask = chat if chat is not None else _chat_for(model, stack)
            planned = _attempts(job, library, model, max(1, attempts), ask, failures)
        except _ChatFailed as error:
            return _fallback(job, library, model, str(error), failures)
    if planned is not None:
        return planned
    return _fallback(job, library, model, f"no valid plan in {attempts} attempts", failures)


def _attempts(
    job: Job, library: Library, model: str, attempts: int, chat: Chat, failures: list[str]
) -> Planned | None:
    schema = schema_for(library, job.inputs)
    messages = [
        {"role": "system", "content": system_prompt(job, library)},
        {"role": "user", "content": job.description},
    ]
    for attempt in range(1, attempts + 1):
        reply = _ask(chat, messages, schema)
        planner = f"LLM planner: {model}, attempt {attempt} of {attempts}"
        plan, errors = check_reply(reply, job, library)
        if plan is not None:
            try:
                written = write(plan, job, planner, library)
            except RuntimeError as error:
                errors = [str(error)]
            else:
                scores = score(job.description, plan.clauses, library, job.inputs)
                notes = [*library.notes, *failures]
                return Planned(plan, written, planner, scores, SearchStats(), notes)
        failures.append(_redact(f"LLM planner attempt {attempt} failed: " + _clip(errors)))
        log.info("%s", failures[-1])
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": retry_prompt(errors)},
        ]
    return None


def _ask(chat: Chat, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    """One reply; any failure of the endpoint or model (the boundary to code that is
    not ours) becomes a _ChatFailed with a short, redacted message."""
    try:
        reply = chat(list(messages), schema)
    except Exception as error:  # noqa: BLE001 - the model's side may fail in any way
        raise _ChatFailed(_reason(error)) from None
    if not isinstance(reply, str):
        raise _ChatFailed(f"the model returned {type(reply).__name__}, not text")
    return reply


def _fallback(job: Job, library: Library, model: str, reason: str, failures: list[str]) -> Planned:
    why = _redact(f"the LLM planner, {model}, failed: {reason}")
    try:
        planned = plan_default(job, library, instead_of=why)
    except PlanningError as error:
        raise PlanningError(str(error), (*error.lines, why)) from None
    return replace(planned, notes=[*planned.notes, *failures])


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > REASON_CHARS:
        text = text[: REASON_CHARS - 3].rstrip() + "..."
    return _redact(text)


def _clip(errors: list[str]) -> str:
    text = "; ".join(" ".join(e.split()) for e in errors)
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 3].rstrip() + "..."


def _redact(text: str, env: Mapping[str, str] = os.environ) -> str:
    """`text` without any API key the environment holds."""
    for name in KEY_ENVS:
        key = env.get(name, "")
        if len(key) >= 4:
            text = text.replace(key, "[redacted]")
    return text


# ---- the endpoints ---------------------------------------------------------------------


def _chat_for(model: str, stack: contextlib.ExitStack[Any]) -> Chat:
    """A local GGUF model by name on llama.cpp, else an OpenAI-compatible endpoint."""
    from murakkab.stdlib import llm_llamacpp

    try:
        if model in llm_llamacpp.MODELS:
            return _llamacpp_chat(model, stack)
        return _openai_chat(model)
    except Exception as error:  # noqa: BLE001 - a missing package, model or setting
        raise _ChatFailed(_reason(error)) from None


def _openai_chat(model: str) -> Chat:
    from murakkab.stdlib import llm_openai

    settings = llm_openai.Settings.from_env()
    served = settings.served_model(model)

    def chat(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        form = {"name": "mkc_plan", "schema": schema, "strict": True}
        options = {
            "response_format": {"type": "json_schema", "json_schema": form},
            "temperature": 0,
        }
        return llm_openai.complete(settings, served, messages, options)

    return chat


def bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """A plan schema as a grammar for llama.cpp: at most LOCAL_MAX_STEPS steps and
    LOCAL_MAX_CHARS characters a string, and without enums (an enum of the
    catalogue's names makes sampling several times slower; the check names
    unknown calls and inputs anyway)."""

    def bound(node: Any, key: str = "") -> Any:
        if isinstance(node, list):
            return [bound(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: bound(v, k) for k, v in node.items() if k != "enum"}
        if out.get("type") == "string":
            out["maxLength"] = LOCAL_MAX_CHARS
        if out.get("type") == "array" and key == "steps":
            out.update(minItems=1, maxItems=LOCAL_MAX_STEPS)
        return out

    return dict(bound(schema))


def _llamacpp_chat(model: str, stack: contextlib.ExitStack[Any]) -> Chat:
    """The local model, loaded with room for the catalogue and the retries, and
    closed when planning is done; the schema becomes a grammar on its output."""
    from murakkab.stdlib import llm_llamacpp

    try:
        from llama_cpp import Llama
    except ImportError as error:
        needs = f"the local LLM planner needs {error.name}: {llm_llamacpp.INSTALL}"
        raise ExecutorError(needs) from None
    threads = max(1, min(8, os.cpu_count() or 1))
    # Typed Any: llama-cpp-python's message and response TypedDicts, like llm_llamacpp.
    llama: Any = Llama(
        model_path=os.fspath(llm_llamacpp.model_path(model)),
        n_ctx=LOCAL_CONTEXT_TOKENS,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    stack.callback(llama.close)

    def chat(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        response = llama.create_chat_completion(
            messages=messages,
            temperature=0.0,
            max_tokens=LOCAL_MAX_TOKENS,
            seed=0,
            response_format={"type": "json_object", "schema": bounded(schema)},
        )
        return str(response["choices"][0]["message"]["content"] or "")

    return chat
