import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.critique(question)
    return answer
}
