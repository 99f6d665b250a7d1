# mkc: check tests/golden/diagnostics/no-such-file.mk
