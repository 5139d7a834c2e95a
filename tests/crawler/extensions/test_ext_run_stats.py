"""failure_cause: each discovery failure is said with its own document and host."""

from __future__ import annotations

from crawler.extensions.run_stats import failure_cause
from crawler.failures import describe_cause

HERE, ELSEWHERE = "http://127.0.0.1:8001/", "http://news.example/"


def test_a_robots_failure_on_another_host_does_not_rename_this_hosts_cause() -> None:
    # The tester's run: the XXE refusal was kept first, and a robots.txt of another host failed;
    # the message named this host's robots.txt (which answered 200) and hid the XXE refusal.
    stats = {
        "cityfeeds/cause": {"url": HERE + "xxe.xml", "error": "unsafe_xml"},
        "cityfeeds/robots_unavailable": "robots.txt unreachable (HTTP 503)",
        "cityfeeds/causes": [
            {"url": HERE + "xxe.xml", "error": "unsafe_xml"},
            {"url": ELSEWHERE + "robots.txt", "error": "robots_unavailable", "status": 503},
        ],
    }
    assert failure_cause(stats, 30) == (
        f"unsafe XML (entity expansion or external entities): {HERE}xxe.xml, "
        f"robots.txt unreachable (HTTP 503): {ELSEWHERE}robots.txt"
    )


def test_only_the_first_cause_kept_is_still_said_without_other_hosts_robots() -> None:
    stats = {
        "cityfeeds/cause": {"url": HERE + "rss.xml", "status": 500},
        "cityfeeds/robots_unavailable": "robots.txt unreachable (HTTP 503)",
    }
    assert failure_cause(stats, 30) == f"HTTP 500: {HERE}rss.xml"


def test_a_document_refused_for_its_robots_txt_names_its_own_robots_txt() -> None:
    cause = {"url": ELSEWHERE + "feeds/rss.xml", "error": "robots_unavailable"}
    assert describe_cause(cause) == f"robots.txt unreachable: {ELSEWHERE}robots.txt"
    timeout = {"url": ELSEWHERE + "robots.txt", "error": "DownloadTimeoutError"}
    assert describe_cause(timeout, 30) == f"did not answer in 30 s: {ELSEWHERE}robots.txt"


def test_many_causes_are_said_up_to_three_and_the_rest_counted() -> None:
    causes = [{"url": f"{HERE}{i}.xml", "status": 500} for i in range(5)]
    said = failure_cause({"cityfeeds/causes": causes}, 30)
    assert said == (
        f"HTTP 500: {HERE}0.xml, HTTP 500: {HERE}1.xml, HTTP 500: {HERE}2.xml and 2 more"
    )


def test_without_a_kept_cause_the_crawls_figures_say_it() -> None:
    stats = {"downloader/response_status_count/502": 3}
    assert failure_cause(stats, 30) == "HTTP 502"
