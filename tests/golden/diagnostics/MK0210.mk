import stdlib.llm

workflow ask(question: text, context: text) -> text {
    task draft = llm.generate(question)
    task answer = llm.generate(question)
    return answer
}

run ask("What is 2 + 2?", "arithmetic")
