# mkc: fleet plan {file} --trace tests/golden/diagnostics/MK0904.csv
# No stream of the trace drives this workflow.
import stdlib.code

workflow code_gen_debate(problem: text) -> code {
    "Write a Python solution to a programming problem by debate between coding agents."
    task tests = code.write_tests(problem)
    task proposals = parallel debaters in {2, 4} {
        task draft = code.generate(problem)
        yield draft
    }
    task debated = repeat rounds in {2, 4} from proposals as previous {
        task report = code.run_tests(previous, tests) with timeout_s = 10
        task revisions = parallel debaters in {2, 4} {
            task revision = code.revise(problem, previous, report)
            yield revision
        }
        yield revisions
    }
    task best = code.rank(problem, debated, tests)
    return best
}

run code_gen_debate("Write a function fib(n) that returns the n-th Fibonacci number.")
    slo quality >= good, latency < 60 s
    minimize cost
