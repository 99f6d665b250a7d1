# Grade two students' submissions: each runs against the instructor's tests in
# the sandboxed interpreter (two independent branches, run concurrently), then
# the reports are ranked against the rubric with MiniLM sentence embeddings.
# Every executor here is real on a CPU-only machine: `mkc run` runs it as is.
import stdlib.code
import stdlib.text

workflow grade_submissions(first: code, second: code, tests: code, rubric: text) -> list<text> {
    "Run two submissions against the same tests and rank their reports by the rubric."
    task first_report = code.run_tests([first], tests) with timeout_s = 10
    task second_report = code.run_tests([second], tests) with timeout_s = 10
    task ranked = text.rank(rubric, [first_report, second_report]) with top_k = 1
    return ranked
}

run grade_submissions(
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2) + 1\n",
    "from solution import fib\n\ndef test_small():\n    assert [fib(i) for i in range(6)] == [0, 1, 1, 2, 3, 5]\n\ndef test_large():\n    assert fib(30) == 832040\n",
    "every test passed"
)
    slo latency < 10 s
    minimize cost
