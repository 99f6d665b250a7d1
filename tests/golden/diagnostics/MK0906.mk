# mkc: simulate examples/code_gen_debate.mk --sweep h100=abc --scale 0.01 --hours 0:1
# --sweep takes GPU=START:STOP:STEP.
