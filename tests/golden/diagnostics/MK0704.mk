# mkc: profiles show model/gemma-3-27b/a100/tp2 --db tests/golden/diagnostics/no-such-store.sqlite3
# No profile has this key (Gemma-3-27B is profiled at TP 4 and 8); the store does not exist
# and reading it creates nothing.
