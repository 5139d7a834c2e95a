"""``python -m crawler.runner``: the crawl child's entry point (see :mod:`crawler.runner`).

A package's ``__main__`` rather than the module itself: multiprocessing re-imports a ``-m``
main module in every extraction worker, unless it is a ``__main__`` (then Scrapy, the store and
the story index stayed out of the workers: ~60 MB each, and their start-up time).
"""

from __future__ import annotations

import sys

from crawler.runner import main

sys.exit(main())
