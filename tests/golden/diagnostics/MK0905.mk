# mkc: fleet plan examples/code_gen_debate.mk --gpus a100=lots --scale 0.01
# --gpus takes TYPE=COUNT items.
