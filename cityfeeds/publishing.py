"""Rebuild every feed from the store: the one function ``cityfeeds feeds`` and the service share."""

from __future__ import annotations

from collections.abc import Callable

from crawler.config import Config
from crawler.storage import Store, retag_all
from crawler.topics.engine import TopicEngine
from feeds.build import INDEX_PATH, OPML_PATH, BuildReport, build_feeds


def rebuild_feeds(
    config: Config,
    *,
    retag: bool = False,
    on_retag: Callable[[int, int], None] | None = None,
    recluster: bool = False,
    on_recluster: Callable[[int, int], None] | None = None,
    store: Store | None = None,
) -> BuildReport:
    """Build all feeds from one consistent snapshot of the store; returns the build report.

    With ``retag``, every stored article is re-scored first; ``on_retag(seen, changed)`` hears
    how many articles were read and how many changed topics. With ``recluster``, stories are
    rebuilt from the store; ``on_recluster(seen, stories)`` hears how many. ``store``: an
    open store to use (the service's own, kept for its lifetime), else one is opened and
    closed here.
    """
    own = store is None
    store = Store.open(config.database_url) if store is None else store
    try:
        if retag:
            seen, changed = retag_store(config, store)
            if on_retag is not None:
                on_retag(seen, changed)
        if recluster:
            seen, count = store.recluster_stories(settings=config.stories.settings())
            if on_recluster is not None:
                on_recluster(seen, count)
        with store.snapshot():
            return build_feeds(config, store)
    finally:
        if own:
            store.close()


def retag_store(config: Config, store: Store) -> tuple[int, int]:
    """Re-score every stored article with the configured topics."""
    engine = TopicEngine(config.topics)
    cities = {s.name: s.city for s in config.sources}
    return retag_all(store, lambda a: engine.classify_article(a, city=cities.get(a.source)))


def rebuild_line(report: BuildReport) -> str:
    """What a service's rebuild changed, feeds apart from the index page and the OPML file
    (``4 of 8 feeds changed, 4 kept without rendering; index page rewritten``)."""
    pages = {INDEX_PATH: "index page", OPML_PATH: "OPML file"}
    feeds = [p for p in report.results if p not in pages]
    changed = [p for p in report.changed if p not in pages]
    line = (
        f"{len(changed)} of {len(feeds)} feeds changed, {len(report.reused)} kept without rendering"
    )
    rewritten = [name for path, name in pages.items() if path in report.changed]
    return line + (f"; {' and '.join(rewritten)} rewritten" if rewritten else "")


def build_summary(report: BuildReport) -> str:
    """One line about a feed build, plus one line per failed feed."""
    kept = len(report.reused)
    failed = report.failures
    line = (
        f"Feeds: {len(report.results) - len(failed)} built (feeds, index page, OPML), "
        f"{len(report.changed)} changed, {len(report.unchanged)} unchanged"
        + (f" ({kept} kept without rendering: same inputs)" if kept else "")
        + f", {len(failed)} failed"
    )
    if len(failed) > 1 and len(set(failed.values())) == 1:
        # One cause for all (an output folder that cannot be written): said once.
        error = next(iter(failed.values()))
        which = "all of them" if len(failed) == len(report.results) else "each failed one"
        return f"{line}\n  {which}: {error} (files already published stay as they were)"
    fails = [
        f"  {path}: {error} (files already published stay as they were)"
        for path, error in sorted(failed.items())
    ]
    return "\n".join([line, *fails])
