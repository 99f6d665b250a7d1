# mkc: cluster show {file}
# A new device kind without its numbers.
[kinds.l4-24gb]
kind = "gpu"
price_per_hour = 0.80

[[nodes]]
name = "a"
cpu_cores = 8
memory_gb = 32
