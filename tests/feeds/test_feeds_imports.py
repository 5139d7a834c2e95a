"""The publishing side stands below the application and beside the crawl: feeds never import
Scrapy code or the ``cityfeeds`` application."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_feeds_import_neither_scrapy_code_nor_the_application() -> None:
    code = (
        "import sys\n"
        "import feeds.build, feeds.content, feeds.publish, feeds.render, feeds.server\n"
        "crawling = ('crawler.spiders', 'crawler.middlewares', 'crawler.pipelines',\n"
        "            'crawler.runner', 'crawler.settings', 'crawler.extensions')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'cityfeeds')\n"
        "             or m.startswith(crawling))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
