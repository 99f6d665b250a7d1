# mkc: profiles import --check {file}
# Two entries with the same key (executor, impl, device): which one is meant?
[[tool]]
executor = "web.fetch"
impl = "urllib"
device = "cpu"
unit = "call"
seconds_per_unit = 0.8
fixed_s = 0.0
cores = 1
source = "measured from the office network"

[[tool]]
executor = "web.fetch"
impl = "urllib"
device = "cpu"
unit = "call"
seconds_per_unit = 1.4
fixed_s = 0.0
cores = 1
source = "measured from home"
