# mkc: cluster show {file}
# Cores given as a string.
[[nodes]]
name = "a"
cpu_cores = "eight"
memory_gb = 32
