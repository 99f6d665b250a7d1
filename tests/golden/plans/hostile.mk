# A job whose strings try to break out of the code emitted for it: quotes of every
# kind, backslashes, line breaks (\n, \r, U+2028, U+0085), NUL, a bidi override,
# jinja delimiters, comment marks and code; names that are Python keywords, builtins
# and names the emitted plans use themselves. tests/test_backends.py runs its plans.
# Knobs are pinned where the optimizer would face a tie.
import stdlib.code
import stdlib.llm

workflow main(problem: text, sys: text) -> text {
    "Docstring \"\"\" ''' \\ \n \r \0 \u2028 \u0085 \u202e {{ x }} {% if %} # \"); import os; os.system(\"touch PWNED\") #"
    task import = code.write_tests(problem)
    task r = parallel run in {2} {
        task label = code.generate(problem)
        yield label
    }
    task PLAN = llm.answer(sys, [import, r]) with tp = 4, gpu = "a100"
    task json: text = "Compare several items, such as two answers or two solutions, and say how they differ: \"\"\" ''' \\ \n \r \0 \u2028 \u0085 \u202e {{ x }} {% if %} # \"); import os; os.system(\"touch PWNED\") #"(problem, [PLAN, sys]) with tp = 8, gpu = "a100"
    return json
}

run main("\"\"\" ''' \\ \n \r \0 \u2028 \u0085 \u202e {{ x }} {% if %} # \"); import os; os.system(\"touch PWNED\") #", "x\"); __import__('os').system('touch PWNED'); (\"")
    slo latency < 60 s
