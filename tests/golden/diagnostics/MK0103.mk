import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.answer("what is \q?", [question])
    return answer
}
