"""Subcommands of the ``cityfeeds`` command line, one module each (listed in ``cityfeeds.cli``).

Each module defines ``NAME`` (the subcommand), ``add_arguments(parser)`` and
``run(args, config) -> int`` (the exit status); its one-line help is in
``cityfeeds.cli.COMMANDS``, so ``cityfeeds --help`` needs no command module. ``config`` is
the loaded :class:`crawler.config.Config` (``None`` for commands that set
``NEEDS_CONFIG = False``).
"""

#: The name of the log handler ``cityfeeds.cli`` installs; ``cityfeeds worker`` hands logging
#: over to Scrapy's own, as a crawl child does.
LOG_HANDLER = "cityfeeds-cli"
