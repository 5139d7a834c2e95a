"""The crawl processes collect garbage less often than Python's default (crawler.lifecycle)."""

from __future__ import annotations

import json
import subprocess
import sys

from crawler.lifecycle import GC_YOUNG_THRESHOLD

# Run in a new interpreter: freezing would keep this test session's objects forever.
_CRAWL_CHILD = """
import gc, json
import crawler.runner.child as runner

seen = []
def crawl(*args, **kwargs):
    seen.append([gc.get_threshold()[0], gc.get_freeze_count()])
    return False

runner.load_config = lambda path: None
runner.run_in_this_process = crawl
code = runner.main(["--config", "cityfeeds.toml", "some-source"])
print(json.dumps([code, seen]))
"""


def test_the_crawl_child_tunes_the_collector_before_it_crawls() -> None:
    default = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(default.stdout) < GC_YOUNG_THRESHOLD  # Python's own: 700
    out = subprocess.run(
        [sys.executable, "-c", _CRAWL_CHILD], capture_output=True, text=True, check=True
    ).stdout
    code, seen = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    [(threshold, frozen)] = seen
    assert threshold == GC_YOUNG_THRESHOLD
    assert frozen > 10_000  # Scrapy, Twisted, SQLAlchemy and the rest, imported
