import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.generate(question)
    task answer = llm.critique(question, answer)
    return answer
}
