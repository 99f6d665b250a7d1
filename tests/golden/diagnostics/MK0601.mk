# mkc: cluster show {file}
# A cluster spec (TOML) with a syntax error: a key without a value.
name = "broken"

[[nodes]]
name = "a"
cpu_cores =
memory_gb = 16
