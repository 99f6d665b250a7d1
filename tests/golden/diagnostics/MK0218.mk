import stdlib.code

workflow solve(problem: text) -> list<code> {
    task drafts = parallel agents in {2, 4} {
        task draft = code.generate(problem)
        yield draft
    } using model "phi-4"
    return drafts
}
