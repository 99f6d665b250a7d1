# mkc: profiles import --check {file}
# A profile file whose TOML does not parse: the string is never closed.
[[model]]
model = "phi-4
device = "h100"
