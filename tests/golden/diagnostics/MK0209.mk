import stdlib.videos

workflow noop(question: text) -> text {
    return question
}
