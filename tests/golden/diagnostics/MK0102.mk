import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.generate(question) ; 
    return answer
}
