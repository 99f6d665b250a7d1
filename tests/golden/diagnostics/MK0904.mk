# mkc: fleet plan examples/code_gen_debate.mk --trace tests/golden/diagnostics/MK0904.csv
# No stream of the trace drives this workflow.
