"""Implementation "vllm": each `kind llm` capability of stdlib/llm.mk and stdlib/code.mk
run in-process by vLLM on local weights, with tensor parallelism over the call's GPUs.

Prompts and result handling are those of "openai-compatible" (stdlib/llm_openai.py:
PROMPTS, build_messages, strip_fences and the code.rank pick), so the two answer
alike; only the engine differs. Decoding is greedy (temperature 0), at most knob
`max_tokens` (default 1024) tokens, with knob `seed` when a caller sets one
(agents.debate does, so that its coders differ).

Weights are never downloaded: knob `model` ("gemma-3-27b") is looked up in
MKC_VLLM_MODELS, a JSON object of local paths ({"gemma-3-27b": "/models/gemma-3-27b-it"}),
else taken as MKC_VLLM_MODEL_DIR/<model>; a path that does not exist is refused,
and HF_HUB_OFFLINE=1 is set (unless already set) before vLLM is imported so that
neither it nor transformers reaches the hub. One `vllm.LLM` is built per process
per (path, tensor-parallel size): by `open_instance(call)` when the runtime runs
the plan, else through a module-level cache. `run_batch(calls)` sends the
messages of several calls on one model in a single `LLM.chat`, which vLLM
schedules as one continuous batch; `run(call)` is a batch of one.

Limits: vLLM runs in this process and uses the GPUs CUDA lets it see, the first
`tensor_parallel_size` of them; it cannot be pointed at `Call.gpu_ids`. Launch
`mkc run` with CUDA_VISIBLE_DEVICES set to the GPUs the plan places this model
on (its tensor-parallel size is len(gpu_ids), else knob `tp`). One engine holds
its GPUs' memory (vLLM's default 90%) until the process ends; two models in one
process need their own GPUs. Text only: images reach the model as references,
as with openai-compatible.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from murakkab.stdlib.llm_openai import (
    PROMPTS,
    Prompt,
    _picked_candidate,
    build_messages,
    strip_fences,
)

from murakkab.executors import Call, ExecutorError

MODELS_ENV = "MKC_VLLM_MODELS"
MODEL_DIR_ENV = "MKC_VLLM_MODEL_DIR"
DEFAULT_MAX_TOKENS = 1024
INSTALL = (
    "pip install vllm on a machine with NVIDIA GPUs and CUDA (the 'murakkab[gpu]' extra, "
    "pip install 'murakkab[gpu]', installs only GPU discovery: nvidia-ml-py)"
)


@dataclass
class VllmInstance:
    """One vLLM engine; `chat` calls on it are serialised (LLM is not thread-safe)."""

    llm: Any  # vllm.LLM
    path: str
    tp: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def chat(self, conversations: list[list[dict[str, str]]], params: list[Any]) -> list[Any]:
        with self.lock:
            outputs: list[Any] = self.llm.chat(
                conversations, sampling_params=params, use_tqdm=False
            )
        return outputs


def open_instance(call: Call) -> VllmInstance:
    """The runtime's instance hook: the engine for the call's model and GPU count."""
    return _load(str(model_path(_model(call))), _tp(call))


def run(call: Call) -> str:
    """Carry out one `kind llm` capability call; the entry of every implementation here."""
    return run_batch([call])[0]


def run_batch(calls: Sequence[Call]) -> list[str]:
    """The results of calls on one model, in order, from a single vLLM `chat` batch."""
    if not calls:
        return []
    prompts = [_prompt(call) for call in calls]
    models = {(_model(call), _tp(call)) for call in calls}
    if len(models) > 1:
        raise ExecutorError(
            f"vllm: one batch runs on one engine, but its calls ask for {sorted(models)}"
        )
    instance = next(
        (c.instance for c in calls if isinstance(c.instance, VllmInstance)), None
    ) or _cached(calls[0])
    sampling = _import_vllm().SamplingParams
    conversations = [build_messages(p, c.args) for p, c in zip(prompts, calls, strict=True)]
    params = [sampling(**_sampling_options(call)) for call in calls]
    try:
        outputs = instance.chat(conversations, params)
    except (ValueError, RuntimeError) as error:  # prompt longer than the context, CUDA OOM
        raise ExecutorError(f"vllm ({instance.path}) refused the batch: {error}") from error
    if len(outputs) != len(calls):
        raise ExecutorError(f"vllm returned {len(outputs)} replies for {len(calls)} prompts")
    return [
        _finish(call, prompt, _text(instance, output))
        for call, prompt, output in zip(calls, prompts, outputs, strict=True)
    ]


def model_path(model: str, env: Mapping[str, str] = os.environ) -> Path:
    """The local weights of a murakkab model name: MKC_VLLM_MODELS, else MKC_VLLM_MODEL_DIR."""
    mapping = _models_map(env.get(MODELS_ENV, ""))
    folder = env.get(MODEL_DIR_ENV, "").strip()
    if model in mapping:
        path, where = Path(mapping[model]), f"{MODELS_ENV}[{model!r}]"
    elif folder:
        path, where = Path(folder) / model, MODEL_DIR_ENV
    else:
        raise ExecutorError(
            f"vllm has no local weights for model {model!r}: set {MODELS_ENV} to a JSON object"
            f' of paths ({{"{model}": "/models/..."}}) or {MODEL_DIR_ENV} to a folder holding'
            f" {model}/ (nothing is downloaded)"
        )
    if not path.exists():
        raise ExecutorError(
            f"vllm: the weights of model {model!r} ({where}) are not at {path}"
            " (vLLM is given local paths only; nothing is downloaded)"
        )
    return path


def _models_map(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ExecutorError(f"{MODELS_ENV} is not valid JSON: {error}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ExecutorError(
            f'{MODELS_ENV} must be a JSON object of paths, e.g. {{"gemma-3-27b": "/models/g"}}'
        )
    return mapping


def _prompt(call: Call) -> Prompt:
    prompt = PROMPTS.get(call.capability)
    if prompt is None:
        raise ExecutorError(f"vllm has no prompt for capability {call.capability!r}")
    if len(call.args) != len(prompt.labels):
        raise ExecutorError(
            f"{call.capability} takes {len(prompt.labels)} arguments, got {len(call.args)}"
        )
    return prompt


def _model(call: Call) -> str:
    model = call.knobs.get("model")
    if not isinstance(model, str) or not model:
        raise ExecutorError(f"{call.capability}: the 'model' knob is not set")
    return model


def _tp(call: Call) -> int:
    """Tensor-parallel size: the GPUs the call holds, else knob `tp` (default 1)."""
    return len(call.gpu_ids) or int(call.knobs.get("tp") or 1)


def _sampling_options(call: Call) -> dict[str, Any]:
    options: dict[str, Any] = {
        "temperature": 0.0,
        "max_tokens": int(call.knobs.get("max_tokens") or DEFAULT_MAX_TOKENS),
    }
    if call.knobs.get("seed") is not None:
        options["seed"] = int(call.knobs["seed"])
    return options


def _text(instance: VllmInstance, output: Any) -> str:
    completions = getattr(output, "outputs", None) or []
    text = completions[0].text if completions else None
    if not isinstance(text, str) or not text.strip():
        reason = completions[0].finish_reason if completions else "no outputs"
        raise ExecutorError(
            f"vllm ({instance.path}) returned an empty reply (finish reason: {reason})"
        )
    return text


def _finish(call: Call, prompt: Prompt, reply: str) -> str:
    """The reply as the capability's result, as openai-compatible returns it."""
    if not prompt.code:
        return reply.strip()
    if call.capability == "code.rank":
        picked = _picked_candidate(reply, call.args[1])
        if picked is not None:
            return picked
    return strip_fences(reply)


_INSTANCES: dict[tuple[str, int], VllmInstance] = {}
_LOCK = threading.Lock()


def _cached(call: Call) -> VllmInstance:
    key = (str(model_path(_model(call))), _tp(call))
    with _LOCK:  # two threads asking first build the engine once
        if key not in _INSTANCES:
            _INSTANCES[key] = _load(*key)
        return _INSTANCES[key]


def _import_vllm() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local paths only: never reach the hub
    try:
        import vllm
    except ImportError as error:
        raise ExecutorError(f"the vllm executor needs {error.name}: {INSTALL}") from error
    return vllm


def _load(path: str, tp: int) -> VllmInstance:
    vllm = _import_vllm()
    try:
        llm = vllm.LLM(model=path, tokenizer=path, tensor_parallel_size=tp, seed=0)
    except Exception as error:  # not a model folder, too few GPUs, out of memory
        raise ExecutorError(
            f"vllm cannot load {path} with tensor_parallel_size={tp}: {error}"
        ) from error
    return VllmInstance(llm, path, tp)
