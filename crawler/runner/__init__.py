"""The crawl child: ``python -m crawler.runner [options] SOURCE ...`` crawls in its own process.

The work is in :mod:`crawler.runner.child`. This package module imports nothing, so that
``__main__`` can take over Ctrl-C before the child's imports (Scrapy, Twisted, the store: about
a second) begin.
"""
