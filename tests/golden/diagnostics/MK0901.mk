# mkc: fleet plan examples/code_gen_debate.mk --mix "80% quality>=good" --scale 0.01
# The shares of a mix must add up to 100%.
