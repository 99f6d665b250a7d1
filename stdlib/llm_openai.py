"""Implementation "openai-compatible": each `kind llm` capability of stdlib/llm.mk and
stdlib/code.mk as one chat completion on an OpenAI-compatible endpoint, configured by
MKC_LLM_* environment variables (see Settings, and "LLM executors" in docs/executors.md).
The API key never reaches an exception, a log record or a repr: errors are raised `from None` (the
openai exception holds the request headers) and every message is redacted."""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from murakkab.executors import Call, ExecutorError, Implementation

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 3
MAX_BACKOFF_S = 30.0
MAX_ITEM_CHARS = 32_000  # one argument or list item; longer text is clipped, and says so
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
# Local servers (vLLM, llama.cpp) accept any key; the client library insists on one.
PLACEHOLDER_KEY = "no-key"

log = logging.getLogger(__name__)
_sleep = time.sleep  # tests replace it to observe the backoff without waiting


@dataclass(frozen=True)
class Prompt:
    """How one capability asks the model: a system prompt, one label per
    capability parameter (in order) and a closing instruction. Arguments are
    pasted after their labels as data; nothing here is a format string."""

    system: str
    labels: tuple[str, ...]
    instruction: str
    code: bool = False  # the result is code: keep the code, drop the prose and fences


_UNSEEN = " Non-text items such as images appear only as a path or description: you can't see them."
_CODE_ONLY = "Reply with Python code only, in a single ```python block, with no explanation."

PROMPTS: dict[str, Prompt] = {
    "llm.answer": Prompt(
        "You answer questions from the context you are given." + _UNSEEN,
        ("Question", "Context"),
        "Answer the question from the context. Say so when the context does not tell.",
    ),
    "llm.generate": Prompt(
        "You are a helpful assistant that follows instructions exactly.",
        ("Instruction",),
        "Follow the instruction.",
    ),
    "llm.chat": Prompt(
        "You are a helpful assistant in a conversation.",
        ("Conversation so far", "Message"),
        "Reply to the message, taking the conversation so far into account.",
    ),
    "llm.solve": Prompt(
        "You solve math and reasoning problems step by step.",
        ("Problem",),
        "Solve the problem step by step, then state the final answer on a last line"
        " that starts with 'Answer:'.",
    ),
    "llm.critique": Prompt(
        "You are a careful reviewer who finds mistakes and gaps in answers.",
        ("Question", "Answer"),
        "List the mistakes and gaps in the answer. Do not rewrite the answer.",
    ),
    "llm.revise": Prompt(
        "You rewrite answers so that they address a reviewer's critique.",
        ("Question", "Answer", "Critique"),
        "Rewrite the answer so that it addresses the critique. Reply with the new answer only.",
    ),
    "llm.summarize": Prompt(
        "You write faithful, concise summaries." + _UNSEEN,
        ("Content",),
        "Summarize the content.",
    ),
    "llm.compare": Prompt(
        "You compare items and explain how they differ." + _UNSEEN,
        ("Question", "Items"),
        "Compare the items with respect to the question and say how they differ.",
    ),
    "code.generate": Prompt(
        "You are an expert Python programmer who writes correct, self-contained code.",
        ("Problem",),
        "Write a Python solution to the problem. " + _CODE_ONLY,
        code=True,
    ),
    "code.write_tests": Prompt(
        "You are an expert Python tester who writes unit tests that pin down a specification.",
        ("Problem",),
        "Write Python unit tests (plain assert statements in test_ functions) that check"
        " solutions to the problem. " + _CODE_ONLY,
        code=True,
    ),
    "code.revise": Prompt(
        "You are an expert Python programmer in a debate with other programmers.",
        ("Problem", "Solutions (the first is yours, the others are other agents')", "Test report"),
        "Improve your solution using the other solutions and the test report. Reply with"
        " your complete revised solution. " + _CODE_ONLY,
        code=True,
    ),
    "code.rank": Prompt(
        "You are a judge who picks the best of several candidate solutions.",
        ("Problem", "Candidates", "Unit tests"),
        "Pick the candidate most likely to be correct, by the tests and by agreement"
        " between candidates. Reply with the complete code of that candidate only, in a"
        " single ```python block.",
        code=True,
    ),
}


@dataclass(frozen=True)
class Settings:
    """Where and how to call the model; the key is left out of the repr."""

    base_url: str
    api_key: str = field(repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    model_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        base_url = env.get("MKC_LLM_BASE_URL", "").strip() or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ExecutorError(f"MKC_LLM_BASE_URL must be an http(s) URL, not {base_url!r}")
        key = env.get("MKC_LLM_API_KEY") or env.get("OPENAI_API_KEY") or ""
        if not key and base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ExecutorError(
                f"no API key for {DEFAULT_BASE_URL}: set MKC_LLM_API_KEY or OPENAI_API_KEY,"
                " or point MKC_LLM_BASE_URL at another OpenAI-compatible server"
            )
        return cls(
            base_url=base_url.rstrip("/"),
            api_key=key or PLACEHOLDER_KEY,
            timeout_s=_number(env, "MKC_LLM_TIMEOUT_S", DEFAULT_TIMEOUT_S),
            max_retries=int(_number(env, "MKC_LLM_MAX_RETRIES", DEFAULT_MAX_RETRIES)),
            model_map=_model_map(env.get("MKC_LLM_MODEL_MAP", "")),
        )

    def served_model(self, model: str) -> str:
        return self.model_map.get(model, model)

    def redact(self, text: str) -> str:
        if self.api_key == PLACEHOLDER_KEY:
            return text
        return text.replace(self.api_key, "[redacted]")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ExecutorError(f"{name} must be a non-negative number, not {raw!r}")
    return value


def _model_map(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ExecutorError(f"MKC_LLM_MODEL_MAP is not valid JSON: {error}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ExecutorError(
            'MKC_LLM_MODEL_MAP must be a JSON object of strings, e.g. {"gemma-3-27b": "..."}'
        )
    return mapping


def run(call: Call) -> str:
    """Carry out one `kind llm` capability call; the entry of every implementation here."""
    prompt = PROMPTS.get(call.capability)
    if prompt is None:
        raise ExecutorError(f"openai-compatible has no prompt for capability {call.capability!r}")
    if len(call.args) != len(prompt.labels):
        raise ExecutorError(
            f"{call.capability} takes {len(prompt.labels)} arguments, got {len(call.args)}"
        )
    model = call.knobs.get("model")
    if not isinstance(model, str) or not model:
        raise ExecutorError(f"{call.capability}: the 'model' knob is not set")
    settings = Settings.from_env()
    # `seed` is no declared knob: agents.debate sets it so that its coders differ.
    wanted = ("max_tokens", "seed")
    options = {k: int(call.knobs[k]) for k in wanted if call.knobs.get(k) is not None}
    reply = complete(
        settings, settings.served_model(model), build_messages(prompt, call.args), options
    )
    return finish_reply(call.capability, prompt, reply, call.args)


def finish_reply(capability: str, prompt: Prompt, reply: str, args: Sequence[Any]) -> str:
    """A model's reply as the capability's result: trimmed prose, or the code in it
    (a ranker's pick by number becomes that candidate). Shared by every LLM family."""
    if not prompt.code:
        return reply.strip()
    if capability == "code.rank":
        picked = _picked_candidate(reply, args[1])
        if picked is not None:
            return picked
    return strip_fences(reply)


def build_messages(prompt: Prompt, args: Sequence[Any]) -> list[dict[str, str]]:
    sections = [f"{label}:\n{render(arg)}" for label, arg in zip(prompt.labels, args)]
    user = "\n\n".join([*sections, prompt.instruction])
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def render(value: Any) -> str:
    """An argument as prompt text: lists become numbered items, media a reference."""
    if isinstance(value, (list, tuple)):
        if not value:
            return "(none)"
        return "\n\n".join(f"[{i}]\n{_render_item(item)}" for i, item in enumerate(value, 1))
    return _render_item(value)


def _render_item(value: Any) -> str:
    if isinstance(value, str):
        if "\n" not in value and value.lower().endswith(IMAGE_SUFFIXES):
            return f"(image file, not shown: {value})"
        return _clip(value)
    if isinstance(value, os.PathLike):
        path = str(os.fspath(value))
        kind = "image file" if path.lower().endswith(IMAGE_SUFFIXES) else "file"
        return f"({kind}, not shown: {path})"
    if isinstance(value, bytes | bytearray):
        return f"(binary data, {len(value)} bytes, not shown)"
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, Mapping) and value.get("kind") in ("image", "scene"):
        return _render_media(value)
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {_render_item(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(_render_item(v) for v in value)
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"({type(value).__name__} of shape {tuple(shape)}, not shown)"
    return _clip(str(value))


def _render_media(item: Mapping[str, Any]) -> str:
    """A frame or scene dict of the video executors as the sentence a model can use:
    where it is, what the detector saw and the text on screen (not its file path)."""
    video = os.path.basename(str(item.get("video", ""))) or "the video"
    if item.get("kind") == "scene":
        start, end = item.get("start_s", 0.0), item.get("end_s", 0.0)
        return f"(scene {item.get('index', '?')} of {video}, {start}-{end} s, not shown)"
    where = f"Frame of {video}"
    if item.get("time_s") is not None:
        where += f" at {float(item['time_s']):.1f} s"
    if item.get("scene") is not None:
        where += f" (scene {item['scene']})"
    seen = [str(label) for label in item.get("labels") or ()]
    text = str(item.get("text") or "")
    if not seen and not text:
        return where + ": nothing detected (the image itself is not shown)"
    parts = [f"shows {', '.join(seen)}"] if seen else []
    if text:
        parts.append(f"text on screen: {_clip(text)}")
    return where + ": " + "; ".join(parts)


def _clip(text: str) -> str:
    if len(text) <= MAX_ITEM_CHARS:
        return text
    return text[:MAX_ITEM_CHARS] + f"\n(... {len(text) - MAX_ITEM_CHARS} more characters cut)"


_FENCE = re.compile(r"```[ \t]*([\w.+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)


def strip_fences(reply: str) -> str:
    """The code in a reply: its first Python fenced block (or first block of any
    kind), an unclosed block when the reply was cut off, else the whole reply."""
    blocks = _FENCE.findall(reply)
    if not blocks:
        return reply.strip("\n").rstrip()
    python = [body for tag, body in blocks if tag.lower() in ("", "python", "py", "python3")]
    return (python or [blocks[0][1]])[0].strip("\n").rstrip()


_NUMBER_REPLY = re.compile(r"^\W*(?:candidate)?\s*\[?#?(\d+)\]?\W*$", re.IGNORECASE)


def _picked_candidate(reply: str, candidates: Any) -> str | None:
    """A ranker that ends by naming its pick ("[2]", "Candidate 2") instead of copying it."""
    last = reply.strip().rsplit("\n", 1)[-1]
    match = None if "```" in reply else _NUMBER_REPLY.match(last.strip())
    if match is None or not isinstance(candidates, (list, tuple)):
        return None
    index = int(match.group(1)) - 1
    return str(candidates[index]) if 0 <= index < len(candidates) else None


def complete(
    settings: Settings, model: str, messages: list[dict[str, str]], options: Mapping[str, Any]
) -> str:
    """One chat completion, retried on 429 and 5xx with exponential backoff."""
    openai = _import_openai()
    client = _client(settings.base_url, settings.api_key, settings.timeout_s)
    for attempt in range(settings.max_retries + 1):
        try:
            response = client.chat.completions.create(model=model, messages=messages, **options)
        except openai.APIStatusError as error:
            if error.status_code in RETRYABLE_STATUS and attempt < settings.max_retries:
                delay = _backoff(attempt, error.response.headers.get("retry-after"))
                status, retries = error.status_code, settings.max_retries
                note = "%s answered HTTP %d; retry %d of %d in %.2f s"
                log.warning(note, settings.base_url, status, attempt + 1, retries, delay)
                _sleep(delay)
                continue
            raise _status_error(
                settings, model, error.status_code, _server_message(error)
            ) from None
        except openai.APITimeoutError:
            raise ExecutorError(
                f"the LLM endpoint {settings.base_url} did not answer within"
                f" {settings.timeout_s:g} s (raise MKC_LLM_TIMEOUT_S for slow models)"
            ) from None
        except openai.APIConnectionError:
            raise ExecutorError(
                f"cannot reach the LLM endpoint {settings.base_url}: start the server or"
                " set MKC_LLM_BASE_URL to an OpenAI-compatible endpoint"
            ) from None
        return _content(settings, model, response)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _status_error(settings: Settings, model: str, status: int, detail: str) -> ExecutorError:
    where = settings.base_url
    if status in (401, 403):
        # The server's text may quote the key (OpenAI shows part of it): leave it out.
        message = (
            f"the LLM endpoint {where} rejected the API key (HTTP {status}):"
            " check MKC_LLM_API_KEY or OPENAI_API_KEY"
        )
    elif status == 404:
        message = (
            f"the LLM endpoint {where} has no model {model!r} (HTTP 404: {detail}); map"
            " murakkab model names to served names with MKC_LLM_MODEL_MAP, and check that"
            " MKC_LLM_BASE_URL ends in its API path such as /v1"
        )
    elif status in RETRYABLE_STATUS:
        message = (
            f"the LLM endpoint {where} still answered HTTP {status} after"
            f" {settings.max_retries} retries: {detail}"
        )
    else:
        message = f"the LLM endpoint {where} refused the request (HTTP {status}): {detail}"
    return ExecutorError(settings.redact(message))


def _server_message(error: Any) -> str:
    body = getattr(error, "body", None)
    text = body.get("message") if isinstance(body, dict) else None
    return str(text or getattr(error, "message", "") or "no detail")[:300]


def _content(settings: Settings, model: str, response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices else None
    if not isinstance(content, str) or not content.strip():
        reason = choices[0].finish_reason if choices else "no choices"
        raise ExecutorError(
            f"the LLM endpoint {settings.base_url} returned an empty reply from {model!r}"
            f" (finish reason: {reason})"
        )
    return content


def _backoff(attempt: int, retry_after: str | None) -> float:
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_BACKOFF_S)
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
    return min(0.5 * 2**attempt, MAX_BACKOFF_S) * (1 + 0.25 * random.random())


def _import_openai() -> Any:
    try:
        import openai
    except ImportError:
        raise ExecutorError(
            "the openai-compatible LLM client needs the 'openai' package:"
            " pip install 'murakkab[llm]'"
        ) from None
    return openai


# Typed Any: the overloads of `chat.completions.create` differ across the openai
# versions the `llm` extra admits, and only a few stable fields are read.
@functools.lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout_s: float) -> Any:
    openai = _import_openai()
    # Retries are ours (logged, bounded by MKC_LLM_MAX_RETRIES), not the library's.
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


IMPLEMENTATIONS = tuple(
    Implementation(
        capability=capability,
        name="openai-compatible",
        devices=("cpu",),
        cost_model="llm",
        entry="murakkab.stdlib.llm_openai:run",
        description="Chat completion on an OpenAI-compatible endpoint (MKC_LLM_BASE_URL).",
        requires=("openai",),
    )
    for capability in PROMPTS
)
