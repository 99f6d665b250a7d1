import stdlib.llm

workflow ask(question: txt) -> text {
    task answer = llm.generate(question)
    return answer
}
