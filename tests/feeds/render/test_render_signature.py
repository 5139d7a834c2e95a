"""Input signatures change with everything that changes a feed's bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from feeds_samples import BASE_URL, edited, sample_articles

from crawler.models import RelatedReport
from feeds.render import EntryCache, input_signature, renderer_fingerprint
from tests.feeds.render.render_support import SPEC


def test_the_signature_covers_the_articles_the_feed_settings_and_the_hubs() -> None:
    articles = sample_articles()
    base = input_signature(SPEC, articles, base_url=BASE_URL)
    assert input_signature(SPEC, [replace(a) for a in articles], base_url=BASE_URL) == base
    changed = [
        input_signature(SPEC, [edited(articles[0]), *articles[1:]], base_url=BASE_URL),
        input_signature(SPEC, articles, base_url="https://feeds.example.net/"),
        input_signature(SPEC, articles, base_url=BASE_URL, site_url="https://site.example/"),
        input_signature(SPEC, articles, base_url=BASE_URL, max_html_chars=100),
        input_signature(replace(SPEC, title="Другое"), articles, base_url=BASE_URL),
        input_signature(SPEC, articles, base_url=BASE_URL, hubs=["https://hub.example/"]),
    ]
    assert len({base, *changed}) == len(changed) + 1


def test_the_renderer_fingerprint_is_stable_within_a_process() -> None:
    assert renderer_fingerprint() == renderer_fingerprint()
    assert len(renderer_fingerprint()) == 64


def test_a_story_entry_signature_covers_the_article_and_the_story() -> None:
    """A story entry's digest is built on its article's: both parts must still count."""
    first, *rest = sample_articles()
    report = RelatedReport("https://m24.ru/news/9", "m24", "Другие слова")
    story = replace(first, related=[report], story_updated=first.published)
    base = input_signature(SPEC, [story, *rest], base_url=BASE_URL)
    changed = [
        input_signature(SPEC, [first, *rest], base_url=BASE_URL),
        input_signature(SPEC, [replace(story, related=[report, report]), *rest], base_url=BASE_URL),
        input_signature(SPEC, [edited(story), *rest], base_url=BASE_URL),
        input_signature(
            SPEC,
            [replace(story, story_updated=first.published + timedelta(hours=1)), *rest],
            base_url=BASE_URL,
        ),
    ]
    assert len({base, *changed}) == len(changed) + 1


def test_a_story_entry_signature_covers_the_source_titles_its_reports_show() -> None:
    """The cache names a report's source by its configured title: a new title is a new entry."""
    first, *rest = sample_articles()
    report = RelatedReport("https://m24.ru/news/9", "m24", "Другие слова")
    story = replace(first, related=[report], story_updated=first.published)
    signatures = {
        input_signature(SPEC, [story, *rest], base_url=BASE_URL, cache=EntryCache(titles))
        for titles in ({}, {"m24": "Москва 24"}, {"m24": "M24"}, {"vm": "Вечерняя Москва"})
    }
    assert len(signatures) == 3  # a title for another source changes nothing
