import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.generate(question)
    return answer
}

run ask("Why is the sky blue?") slo cost < 1 maximize cost
