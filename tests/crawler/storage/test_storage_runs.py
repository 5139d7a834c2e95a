"""Crawl runs (crawler/storage/runs.py): start, finish, stale runs, additions by workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from storage_samples import NOW

from crawler.run_states import finished_state, queued_note
from crawler.storage import RunStats, Store


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run("vm", now=NOW)
    stats = RunStats(pages=5, new=3, updated=1, unchanged=1, dropped={"missing_title": 2}, errors=1)
    store.finish_run(run_id, status="ok", stats=stats, now=NOW + timedelta(minutes=1))
    run = store.recent_runs("vm")[0]
    assert (run["status"], run["pages"], run["new"], run["dropped"]) == (
        "ok",
        5,
        3,
        {"missing_title": 2},
    )
    stale = store.start_run("m24", now=NOW)
    assert store.close_stale_runs(now=NOW) == 1
    assert store.recent_runs("m24")[0]["status"] == "killed"
    assert stale


def test_a_running_crawl_writes_its_figures_and_stays_running(store: Store) -> None:
    run_id = store.start_run("vm", now=NOW)
    so_far = RunStats(pages=4, new=2, dropped={"no_title": 1}, extra={"requests": 9})
    assert store.record_figures(run_id, so_far)
    run = store.recent_runs("vm")[0]
    assert (run["status"], run["pages"], run["new"], run["dropped"]) == (
        "running",
        4,
        2,
        {"no_title": 1},
    )
    assert run["stats"] == {"requests": 9} and run["finished_at"] is None
    # Once the run is over (its own end, or its parent closed it), a late write changes nothing.
    store.finish_run(run_id, status="ok", stats=RunStats(pages=6, new=3), now=NOW)
    assert not store.record_figures(run_id, so_far)
    assert store.recent_runs("vm")[0]["pages"] == 6


def test_workers_add_to_a_run_without_losing_counts(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        run_id = store.start_run("vm", now=NOW)
        store.finish_run(
            run_id, status="ok", stats=RunStats(dropped={"no_title": 1}), now=NOW, message="q"
        )

        def add() -> None:
            # Each thread is a worker with its own connections, as on separate machines.
            for _ in range(10):
                assert store.add_to_run(run_id, {"pages": 2, "new": 1}, {"no_title": 1, "x": 1})

        threads = [threading.Thread(target=add) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        [run] = store.recent_runs("vm")
        assert (run["pages"], run["new"], run["updated"]) == (80, 40, 0)
        assert run["dropped"] == {"no_title": 41, "x": 40}
        assert run["status"] == "ok" and run["message"] == "q"  # the rest is left alone
        assert store.add_to_run(run_id + 1000, {"new": 1}) is False
        with pytest.raises(ValueError, match="status"):
            store.add_to_run(run_id, {"status": 1})
    finally:
        store.close()


def test_a_queued_runs_state_follows_what_its_workers_add_as_a_crawl_runs_does(
    db_url: str,
) -> None:
    """A run queued for workers stayed ``ok`` whatever they lost; a local crawl losing pages
    is ``partial``. The workers' additions now decide it by the same rule, even concurrently."""
    store = Store.open(db_url)
    try:
        queued = RunStats(extra={"queued": 3, "mode": "distributed"})
        run_id = store.start_run("vm", now=NOW)
        store.finish_run(run_id, status="ok", stats=queued, now=NOW, message=queued_note(3))
        failed = store.start_run("m24", now=NOW)
        store.finish_run(failed, status="failed", stats=queued, now=NOW, message="cannot queue")
        assert store.add_to_run(run_id, {"pages": 1}, {"too_large": 1}, judge=True)
        assert store.get_run(run_id)["status"] == "ok"  # type: ignore[index]

        def add() -> None:
            for _ in range(10):
                assert store.add_to_run(run_id, {"errors": 1}, {"fetch_error": 1}, judge=True)

        threads = [threading.Thread(target=add) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run = store.get_run(run_id)
        assert run is not None and run["dropped"] == {"fetch_error": 40, "too_large": 1}
        assert (run["status"], run["message"]) == finished_state(
            {"fetch_error": 40}, [queued_note(3)]
        )
        assert run["message"] == (
            "40 article page(s) could not be fetched; queued 3 discovery request(s) for workers"
        )
        assert store.add_to_run(failed, {}, {"fetch_error": 1}, judge=True)
        assert store.get_run(failed)["status"] == "failed"  # type: ignore[index]
    finally:
        store.close()


def test_a_queued_run_whose_every_discovery_request_failed_is_failed_with_its_causes(
    db_url: str,
) -> None:
    """A queued run whose only feed answered 404, or whose host refused connections, stayed
    ``ok`` with no cause while a local crawl was ``failed`` naming the URL. The workers' failures
    and successes are counted per run, concurrently, and decide it as a crawl run's do."""
    store = Store.open(db_url)
    try:
        queued = RunStats(extra={"queued": 4, "mode": "distributed"})
        run_id = store.start_run("vm", now=NOW)
        store.finish_run(run_id, status="ok", stats=queued, now=NOW, message=queued_note(4))
        refused = {"url": "http://vm.example/robots.txt", "error": "ConnectionRefusedError"}
        gone = [{"url": f"http://vm.example/feed{n}.xml", "status": 404} for n in range(3)]

        def fail(cause: dict[str, object]) -> None:
            # Each thread is a worker that took one queued request, as on separate machines.
            assert store.add_to_run(
                run_id, {"errors": 1}, judge=True, discovery={"failed": 1}, causes=[cause]
            )

        threads = [threading.Thread(target=fail, args=(c,)) for c in gone]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run = store.get_run(run_id) or {}
        assert run["status"] == "ok"  # one queued request is still to come
        fail(refused)
        run = store.get_run(run_id) or {}
        assert (run["status"], run["errors"]) == ("failed", 4)
        assert run["stats"]["discovery_failed"] == 4 and not run["stats"].get("discovery_ok")
        assert run["stats"]["cause"] in gone and len(run["stats"]["causes"]) == 4
        assert run["message"].startswith("HTTP 404: http://vm.example/feed")
        assert run["message"].endswith(" and 1 more")

        # Some read, some not: ok, the documents not read named, as a local crawl says them.
        mixed = store.start_run("m24", now=NOW)
        store.finish_run(mixed, status="ok", stats=queued, now=NOW, message=queued_note(4))
        assert store.add_to_run(mixed, {}, judge=True, discovery={"ok": 3})
        assert store.add_to_run(mixed, {}, judge=True, discovery={"failed": 1}, causes=gone[:1])
        run = store.get_run(mixed) or {}
        assert (run["status"], run["message"]) == (
            "ok",
            "queued 4 discovery request(s) for workers; "
            "1 discovery document(s) not read: HTTP 404: http://vm.example/feed0.xml",
        )
        assert run["stats"]["cause"] == gone[0]
    finally:
        store.close()


def test_run_owner_and_closing_a_run_keeps_its_figures(store: Store) -> None:
    run_id = store.start_run("vm", now=NOW, pid=4321, host="crawl-1")
    other = store.start_run("m24", now=NOW)
    assert [(r["id"], r["pid"], r["host"]) for r in store.running_runs()] == [
        (run_id, 4321, "crawl-1"),
        (other, None, None),
    ]
    store.finish_run(run_id, status="interrupted", stats=RunStats(pages=4, new=2), now=NOW)
    # Only a running row is closed, unless told otherwise; the figures stay either way.
    assert not store.close_run(run_id, status="failed", now=NOW, message="late")
    assert store.close_run(run_id, status="killed", now=NOW, message="timeout", only_running=False)
    run = store.get_run(run_id) or {}
    assert (run["status"], run["message"], run["pages"], run["new"]) == ("killed", "timeout", 4, 2)
    assert store.close_run(other, status="interrupted", now=NOW, message="owner gone")
    assert store.running_runs() == [] and store.get_run(10**6) is None


def test_a_queued_run_says_it_found_no_link_only_when_its_workers_counted_them(
    store: Store,
) -> None:
    """Workers add the article links their documents gave (``links``) and that they counted
    them (``links_counted``): a run whose documents gave none says so, as a crawl run does.
    Documents read by older workers, which count no links, or answering 304, decide nothing."""
    from cityfeeds.status.health import degraded_reasons
    from crawler.run_states import NO_ARTICLE_LINK

    def queued_run(links: dict[str, int]) -> dict[str, object]:
        run_id = store.start_run("vm", now=NOW)
        stats = RunStats(extra={"queued": 1, "mode": "distributed"})
        store.finish_run(run_id, status="ok", stats=stats, now=NOW, message=queued_note(1))
        store.add_to_run(run_id, {}, judge=True, discovery={"ok": 1}, links=links)
        return store.get_run(run_id) or {}

    empty = queued_run({"links_counted": 1})
    assert empty["message"] == f"{NO_ARTICLE_LINK}; {queued_note(1)}"
    assert degraded_reasons([empty]) == [NO_ARTICLE_LINK]
    for links in (
        {"links_counted": 1, "article_links": 3},
        {},
        {"links_counted": 1, "not_modified": 1},
    ):
        run = queued_run(links)
        assert run["message"] == queued_note(1) and degraded_reasons([run]) == [], links
