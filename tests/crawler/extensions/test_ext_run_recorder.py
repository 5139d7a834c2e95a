"""RunRecorder outside a running crawl: an interrupt before the engine exists is only noted."""

from __future__ import annotations

import scrapy
from scrapy.utils.test import get_crawler

from crawler.extensions.run_recorder import RunRecorder


class SampleSpider(scrapy.Spider):
    name = "sample"
    source_name = "vm"


def test_an_interrupt_before_the_crawl_starts_is_noted_not_raised() -> None:
    # Scrapy 2.19's Crawler.engine raises until the crawl starts; a SIGTERM can land then.
    crawler = get_crawler(SampleSpider)
    recorder = RunRecorder.from_crawler(crawler)
    assert crawler.cityfeeds_recorder is recorder  # type: ignore[attr-defined]
    recorder.interrupt("SIGTERM")
    assert recorder.interrupted == "SIGTERM"
    recorder.force_close()  # no spider open yet: the parent closes the run row
    assert not recorder.finished
