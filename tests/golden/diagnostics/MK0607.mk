# mkc: cluster show {file}
# Two nodes with one name: "gpu-1" is also the second of the "gpu" group.
[[nodes]]
name = "gpu"
count = 2
cpu_cores = 96
memory_gb = 1900
gpus = { h100 = 8 }

[[nodes]]
name = "gpu-1"
cpu_cores = 8
memory_gb = 32
