# Vision executors over extracted frames.

capability detect_objects(frames: list<image>, query: text) -> list<image> {
    "Find and mark the objects, faces and text in frames that are relevant to a question."
    kind tool
    on cpu, gpu
    knob top_k in {1, 3, 5, 10} = 5
}

capability read_text(frames: list<image>) -> text {
    "Read the text written or shown on screen in frames (OCR)."
    kind tool
    on cpu
}
