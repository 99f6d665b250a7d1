# mkc: compile {file} --slo "cost < 1" --emit ir -o /dev/null
import stdlib.llm

workflow ask(question: text) -> text {
    task answer = llm.generate(question)
    return answer
}
