# mkc: profiles list --db tests/golden/diagnostics
# A directory cannot be opened as the profile store (a locked store gives the same code).
