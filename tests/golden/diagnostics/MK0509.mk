# mkc: compile {file} -q -o /dev/null --dump-smt tests/golden/diagnostics/no-such-folder/placement.smt2
# The placement problem cannot be written where --dump-smt says: its folder does
# not exist. Checked before the search, so the solver's budget is not spent first.
import stdlib.code

workflow check(program: code) -> text {
    "Run a program."
    task output = code.execute(program)
    return output
}

run check("print(1)")
