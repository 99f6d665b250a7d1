# mkc: cluster show {file}
# A misspelt key in the second node.
name = "typo"

[[nodes]]
name = "a"
cpu_cores = 8
memory_gb = 32

[[nodes]]
name = "b"
cpu_cores = 8
memory_gb = 32
gpu = { a100 = 8 }
