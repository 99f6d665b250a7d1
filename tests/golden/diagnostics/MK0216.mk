import stdlib.code

workflow solve(problem: text) -> list<code> {
    task first = parallel agents in {2, 4} {
        task draft = code.generate(problem)
        yield draft
    }
    task second = parallel agents in {3} {
        task draft2 = code.generate(problem)
        yield draft2
    }
    return second
}

run solve("fib")
