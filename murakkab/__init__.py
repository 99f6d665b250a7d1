"""murakkab: a compiler and runtime for compound AI workflows."""

__version__ = "0.1.0"
