# mkc: fleet plan examples/code_gen_debate.mk --trace tests/golden/diagnostics/MK0903.csv
# The trace file has a bad number (MK0903.csv, line 3).
