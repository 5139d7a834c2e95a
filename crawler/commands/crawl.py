"""``scrapy crawl``: Scrapy's command, but a spider's bad arguments end in one error line.

Scrapy creates the spider inside a task whose exception it re-raises, so a source that is
not configured ended in asyncio's "Task exception was never retrieved" traceback. A spider
with a ``check_arguments(settings, arguments)`` class method is checked before the crawl
starts instead: its ConfigError is printed as ``cityfeeds crawl`` prints one, exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from crawler.config import ConfigError

#: Exit status of a configuration error, as ``cityfeeds crawl``'s.
CONFIG_ERROR_EXIT = 2


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``, refusing arguments the spider's ``check_arguments`` refuses."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and self.crawler_process is not None:
            try:
                spidercls = self.crawler_process.spider_loader.load(args[0])
            except KeyError:
                spidercls = None  # Scrapy's own command says the spider is not found
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                try:
                    check(self.settings, dict(opts.spargs))
                except ConfigError as exc:
                    print(f"scrapy crawl {args[0]}: configuration error: {exc}", file=sys.stderr)
                    self.exitcode = CONFIG_ERROR_EXIT
                    return
        super().run(args, opts)
