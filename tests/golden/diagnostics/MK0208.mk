import stdlib.llm

workflow ask(question: text) -> text {
    task critique = llm.critique(question, revised)
    task revised = llm.revise(question, critique, critique)
    return revised
}
