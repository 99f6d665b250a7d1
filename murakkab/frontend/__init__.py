"""The `.mk` frontend: parse -> AST -> check -> logical IR."""
