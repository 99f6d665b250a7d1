# Math Q/A by self-reflection (reference workflow): one agent answers, then
# critiques and revises its answer for up to R rounds.
import stdlib.llm

workflow math_reflect(question: text) -> text {
    "Answer a math question, reflecting on and revising the answer."
    task draft = llm.solve(question)
    task answer = repeat rounds in {1, 2, 3} from draft as current {
        task critique = llm.critique(question, current)
        task revised = llm.revise(question, current, critique)
        yield revised
    }
    return answer
}

run math_reflect("A train leaves at 3 pm at 60 km/h; a second leaves the same station at 4 pm at 90 km/h. When does the second catch up?")
    slo quality >= fair, latency < 30 s
    minimize energy
