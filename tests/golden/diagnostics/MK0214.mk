import stdlib.llm
import stdlib.code

workflow write(problem: text) -> text {
    task solution = generate(problem)
    return solution
}
