# mkc: compile {file} -p placement -q -o /dev/null
# Placement alone: no model-substitution before it has chosen each task's device
# and implementation, so there is nothing to place yet.
import stdlib.code

workflow check(program: code) -> list<text> {
    "Run a program three times."
    task outputs = parallel copies in {3} {
        task output = code.execute(program)
        yield output
    }
    return outputs
}

run check("print(1)")
