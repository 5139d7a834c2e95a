"""``python -m crawler.runner``: the crawl child's entry point (see :mod:`crawler.runner.child`).

A package's ``__main__`` rather than the module itself: multiprocessing re-imports a ``-m``
main module in every extraction worker, unless it is a ``__main__`` (then Scrapy, the store and
the story index stayed out of the workers: ~60 MB each, and their start-up time).
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(_signum: int, _frame: object) -> None:
    # Nothing is crawled or recorded yet: leave at once, as the Interrupter's exit status says
    # (the parent closes the runs as interrupted). Python's own handler raised
    # KeyboardInterrupt wherever the imports or Twisted's set-up happened to be: a screenful of
    # "Unhandled error in Deferred". The Interrupter replaces this handler once the crawl runs.
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)

from crawler.runner.child import main  # noqa: E402  (after the handler: imports take a second)

sys.exit(main())
