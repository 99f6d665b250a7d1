# mkc: compile {file} --cluster examples/clusters/cloud_a100_h100.toml
import stdlib.llm

workflow math(question: text) -> text {
    task draft = llm.solve(question)
    task answer = repeat rounds in {1, 2, 3} from draft as current {
        task critique = llm.critique(question, current)
        task revised = llm.revise(question, current, critique)
        yield revised
    }
    return answer
}

run math("What is 17 * 23?")
    slo quality >= best, latency < 5 s
    minimize cost
