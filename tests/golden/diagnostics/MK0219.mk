capability summarize(content: list<text>) -> text {
    "Summarize content."
    kind oracle
    knob length in {1, 2} = 3
}

workflow brief(notes: list<text>) -> text {
    task summary = summarize(notes)
    return summary
}
