# mkc: cluster show {file}
# An "a100-80gb" with 40 GiB is another kind: declare it, do not override.
[kinds.a100-80gb]
memory_gb = 40
price_per_hour = 3.40

[[nodes]]
name = "a"
cpu_cores = 96
memory_gb = 1900
gpus = { a100 = 8 }
