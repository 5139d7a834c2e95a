"""Subcommands of the ``cityfeeds`` command line, one module each (discovered automatically).

Each module defines ``NAME`` (the subcommand), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args, config) -> int`` (the exit status). ``config`` is the loaded
:class:`crawler.config.Config` (``None`` for commands that set ``NEEDS_CONFIG = False``).
"""
