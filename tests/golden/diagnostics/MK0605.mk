# mkc: cluster show {file}
# A negative GPU count in an inline table.
[[nodes]]
name = "a"
cpu_cores = 96
memory_gb = 1900
gpus = { a100 = -8 }
