"""`mkc` subcommands that live beside their subsystem, each with `register(commands, command)`.

`command` is `murakkab.cli._command`: it adds a subparser with help, examples
and `--debug`, and binds its handler `(args, sources) -> exit status`.
"""
