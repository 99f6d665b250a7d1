# Retrieval tools: fetching, embedding and ranking text.

capability fetch(url: text) -> text {
    "Fetch a web page over HTTP and return its text."
    kind tool
    on cpu
    knob timeout_s in {1, 5, 10, 30} = 10
    knob max_bytes: number = 2000000
}

capability rank(query: text, documents: list<text>) -> list<text> {
    "Rank documents by semantic relevance to a query and keep the best ones."
    kind tool
    on cpu, gpu
    knob top_k in {1, 3, 5, 10} = 5
}
