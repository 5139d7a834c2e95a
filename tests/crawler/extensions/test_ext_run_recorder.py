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


def test_a_forced_close_records_the_signal_the_interrupt_did_not_see() -> None:
    # A second signal can run its handler inside the first one's, before the first queued
    # interrupt(): force_close then comes first, and must still say why the run stopped.
    recorder = RunRecorder.from_crawler(get_crawler(SampleSpider))
    recorder.force_close("SIGTERM: the crawl's parent process died")
    assert recorder.interrupted == "SIGTERM: the crawl's parent process died"
    recorder.force_close("SIGINT")  # the first cause stays
    assert recorder.interrupted == "SIGTERM: the crawl's parent process died"
