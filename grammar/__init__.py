"""The grammars of murakkab, shipped as data: `mk.lark` (jobs) and `mkir.lark` (IR)."""

from pathlib import Path

GRAMMAR_DIR = Path(__file__).resolve().parent


def grammar_text(name: str) -> str:
    """The text of `name`.lark, read from the installed package."""
    return (GRAMMAR_DIR / f"{name}.lark").read_text(encoding="utf-8")
