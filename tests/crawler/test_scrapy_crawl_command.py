"""``scrapy crawl news`` (scrapy.cfg): a bad source ends in one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def scrapy_crawl(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITYFEEDS_CONFIG": str(ROOT / "cityfeeds.toml")}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "--nolog", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["-a", "source=nosuch"], "unknown source 'nosuch' (known: mymsk, m24"),
        (["-a", "source="], "scrapy crawl news -a source=NAME (configured: mymsk, m24"),
        ([], "scrapy crawl news -a source=NAME (configured: mymsk, m24"),
    ],
    ids=["unknown", "empty", "missing"],
)
def test_a_source_not_configured_is_one_error_line(arguments: list[str], said: str) -> None:
    proc = scrapy_crawl(*arguments)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "never retrieved" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("scrapy crawl news: configuration error: ")
    assert said in lines[0]
