# mkc: profiles tiers video_summary --db tests/golden/diagnostics/no-such-store.sqlite3
# Tiers need a population of profiled configurations of the workflow.
