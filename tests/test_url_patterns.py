"""URL patterns (article_pattern, link_pattern): re's dialect, RE2's linear time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config
from crawler.normalize.url_patterns import compile_url_pattern
from tests.conftest import write_site_config


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        (r"/news/\d+-[\w-]+$", "https://m24.ru/news/123-elektrobus-vyshel", True),
        # \w is Unicode-aware, as in re: feeds link Cyrillic slugs as they are.
        (r"/news/\d+-[\w-]+$", "https://vm.ru/news/123-москва-электробус", True),
        (r"/новости/\w+", "https://vm.ru/новости/москва", True),
        (r"/news/\W", "https://vm.ru/news/-x", True),
        (r"/news/\W", "https://vm.ru/news/ж", False),
        (r"[]a]", "https://a.ru/x]", True),  # "]" first in a set is a member
        (r"[^]/]+\.html$", "https://a.ru/a/b.html", True),
        (r"/news/\d+$", "https://a.ru/news/12/", False),
    ],
)
def test_patterns_match_as_re_does(pattern: str, url: str, matches: bool) -> None:
    assert compile_url_pattern(pattern).search(url) is matches
    assert (re.search(pattern, url) is not None) is matches


def test_a_backtracking_pattern_is_run_by_re2() -> None:
    # With re, this pattern takes seconds on a 24-character slug and doubles with each more
    # character. The compiled object is RE2's (never re's), and it answers on a 5,000-character
    # slug (re would not return within the suite's lifetime).
    evil = compile_url_pattern(r"/news/([\w-]+-?)+/\d+$")
    assert not isinstance(evil._regex, re.Pattern)
    assert not evil.search("https://a.ru/news/" + "a" * 5000 + "!")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"/news/(\d+)/\1", "backreferences"),
        (r"/news/(?!tag)\w+", "lookaround"),
        (r"\bnews\b", "word boundary"),
        (r"[\W]", r"\\W inside"),
        ("(", "invalid regex"),
    ],
)
def test_what_re2_cannot_run_is_a_config_error(tmp_path: Path, pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        compile_url_pattern(pattern)
    cfg = write_site_config(
        tmp_path,
        "http://127.0.0.1:9/",
        sources=[
            {
                "name": "s",
                "title": "S",
                "url": "http://127.0.0.1:9/",
                "feeds": ["http://127.0.0.1:9/rss.xml"],
                "article_pattern": pattern,
            }
        ],
    )
    with pytest.raises(ConfigError, match="article_pattern"):
        load_config(cfg)
