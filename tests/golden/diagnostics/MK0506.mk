# mkc: compile {file} --cluster examples/clusters/this_machine.toml
# A GPU-only model asked of a machine with two CPU cores and no GPU.
import stdlib.llm

workflow math(question: text) -> text {
    task draft = llm.solve(question) with model in {"gemma-3-27b", "phi-4"}
    return draft
}

run math("What is 2 + 2?")
