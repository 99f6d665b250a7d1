# Text retrieval tools: sentence embeddings and semantic ranking.

capability embed(texts: list<text>) -> list<list<number>> {
    "Turn texts into sentence embeddings (vectors) for semantic search."
    kind tool
    on cpu
}

capability rank(query: text, documents: list<text>) -> list<text> {
    "Rank documents by semantic relevance to a query and keep the best ones."
    kind tool
    on cpu
    knob top_k in {1, 3, 5, 10} = 5
}
