# mkc: cluster show {file}
# A GPU kind the catalogue does not know (and the spec does not declare).
[[nodes]]
name = "a"
cpu_cores = 96
memory_gb = 1900

[nodes.gpus]
v100 = 8
