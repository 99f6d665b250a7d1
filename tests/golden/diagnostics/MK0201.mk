import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.generate(questoin)
    return answer
}
