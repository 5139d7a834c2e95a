"""Build every feed (topics, sources, all) from the store into the output directory."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from crawler.clock import Clock, utcnow
from crawler.config import Config
from crawler.models import Article, FeedBuild
from feeds.content import clean_title
from feeds.model import FeedInfo, FeedSpec, ItemPreview
from feeds.publish import (
    StagedFile,
    commit_file,
    discard_file,
    output_problem,
    remove_stale_feeds,
    remove_stale_temp_files,
    stage_file,
    sync_dirs,
    write_index,
    write_opml,
)
from feeds.render import FORMATS, EntryCache, input_signature, prepare_feed
from feeds.render.entries import EMPTY_FEED_UPDATED
from feeds.specs import feed_specs, store_selection, story_feeds

log = logging.getLogger(__name__)

#: Latest items shown per feed on the index page (topics and ``all``; sources list links only).
PREVIEW_ITEMS = 5
#: Feeds whose files may wait for the writer thread at once (3 temporary files each).
_MAX_IN_FLIGHT = 8
#: Paths under which the index page and the OPML file are recorded in the store.
INDEX_PATH = "index.html"
OPML_PATH = "feeds.opml"


class FeedStore(Protocol):
    """What the builder needs from the store (``crawler.storage.Store``)."""

    def feed_articles(
        self,
        selections: Sequence[tuple[str | None, str | None]],
        *,
        limit: int = 50,
        stories: Sequence[bool] | None = None,
        sources: Collection[str] | None = None,
    ) -> list[list[Article]]: ...

    def record_feed_builds(self, outcomes: Sequence[FeedBuild]) -> None: ...

    def feed_signatures(self) -> dict[str, tuple[str, str]]: ...

    def feed_build_paths(self) -> set[str]: ...

    def forget_feed_builds(self, paths: Collection[str]) -> None: ...


@dataclass
class FeedResult:
    """The outcome of one feed (every format) in one build."""

    path: str
    items: int = 0
    changed: bool = False
    error: str | None = None
    #: Of a feed built successfully: the hash of its inputs and the stamp of its files.
    signature: str | None = None
    stamp: str | None = None
    #: True when the files were kept without rendering (same inputs as when they were written).
    reused: bool = False


@dataclass
class BuildReport:
    """Per-feed outcomes of :func:`build_feeds`, plus the index page and the OPML file."""

    results: dict[str, FeedResult] = field(default_factory=dict)
    #: Feed files deleted because no configured topic or source produces them any more.
    removed: list[str] = field(default_factory=list)

    @property
    def items(self) -> dict[str, int]:
        """Item count of each feed built successfully."""
        return {p: r.items for p, r in self.results.items() if r.error is None}

    @property
    def changed(self) -> list[str]:
        """Paths whose files were rewritten."""
        return [p for p, r in self.results.items() if r.error is None and r.changed]

    @property
    def unchanged(self) -> list[str]:
        """Paths whose files already had these exact bytes (left untouched)."""
        return [p for p, r in self.results.items() if r.error is None and not r.changed]

    @property
    def reused(self) -> list[str]:
        """Feeds kept without rendering: same inputs as when their intact files were written."""
        return [p for p, r in self.results.items() if r.error is None and r.reused]

    @property
    def failures(self) -> dict[str, str]:
        """Error message of each path that failed (its last good files are still in place)."""
        return {p: r.error for p, r in self.results.items() if r.error is not None}

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def _read(
    store: FeedStore,
    specs: Sequence[FeedSpec],
    limit: int,
    stories: Sequence[bool],
    sources: Collection[str],
) -> list[list[Article] | str]:
    """The articles of every feed in one store read, or per feed the error reading it.

    ``stories`` says, per feed, whether it shows one entry per story; ``sources`` are the
    configured ones, the only ones whose articles any feed shows (a source removed from the
    config leaves ``all`` and the topics; the store keeps its articles). When the joint read
    fails, each feed is read alone, so one bad query fails only its feed.
    """
    try:
        selections = [store_selection(s) for s in specs]
        return list(store.feed_articles(selections, limit=limit, stories=stories, sources=sources))
    except Exception:
        log.exception("reading the store for all feeds at once failed; reading feed by feed")
    found: list[list[Article] | str] = []
    for spec, collapse in zip(specs, stories, strict=True):
        try:
            selection = [store_selection(spec)]
            found.append(
                store.feed_articles(selection, limit=limit, stories=[collapse], sources=sources)[0]
            )
        except Exception as exc:
            log.exception("feed %s: reading the store failed", spec.path)
            found.append(f"{type(exc).__name__}: {exc}")
    return found


def _shown_updated(article: Article) -> datetime:
    """When the feed shows ``article`` last changed, as its entry's ``updated`` is: its own
    update, or the time the last report joined its story (feeds.render.entries), so the index
    page's time is the feed's own."""
    updated = max(article.updated, article.published) if article.updated else article.published
    if article.related and article.story_updated is not None:
        updated = max(updated, article.story_updated)
    return updated


def _info(spec: FeedSpec, site_url: str, articles: list[Article] | None) -> FeedInfo:
    if articles is None:
        return FeedInfo(spec, site_url)
    updated = max(map(_shown_updated, articles), default=None)
    shown = PREVIEW_ITEMS if spec.kind in ("topic", "all") else 0
    latest = tuple(
        ItemPreview(clean_title(a.title, fallback=a.url), a.url, a.published)
        for a in articles[:shown]
    )
    return FeedInfo(spec, site_url, items=len(articles), updated=updated, latest=latest)


def files_stamp(output_dir: Path, spec: FeedSpec) -> str | None:
    """Hash of the size, modification time and inode of each file of ``spec``; ``None`` if one
    is missing.

    Recorded when a feed's files are written and compared before they are kept unrendered:
    replacing or rewriting a file changes its stamp, and checking costs one ``stat`` call per
    format instead of reading the files (at a thousand feeds, a rebuild would otherwise read
    hundreds of megabytes).
    """
    digest = hashlib.sha256()
    for fmt in FORMATS.values():
        try:
            st = (output_dir / spec.filename(fmt.extension)).stat()
        except OSError:
            return None
        digest.update(f"{fmt.extension}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino};".encode())
    return digest.hexdigest()


def _record(store: FeedStore, results: Iterable[FeedResult]) -> None:
    outcomes = [
        FeedBuild(r.path, r.error is None, r.error, r.items, r.signature, r.stamp) for r in results
    ]
    try:
        store.record_feed_builds(outcomes)
    except Exception:
        # Losing the status rows must not turn published feeds into failures.
        log.exception("could not record the outcome of this build")


@dataclass
class _Build:
    """What every feed of one build shares: where and how to write, and the prepared entries.

    Rendering and writing the bytes run in the calling thread; a writer thread fsyncs and
    renames each feed's files meanwhile, so the disk's latency overlaps the rendering of the
    next feeds. A feed whose inputs have the signature recorded when its files were written,
    and whose files still have the stamp recorded then (:func:`files_stamp`), is not rendered
    again.
    """

    output_dir: Path
    base_url: str
    max_html_chars: int
    writer: Executor
    #: WebSub hubs every feed declares (``[websub] hubs``).
    hubs: tuple[str, ...] = ()
    #: When this build started (UTC, whole seconds): the date of the feeds it renders empty.
    started: datetime = EMPTY_FEED_UPDATED
    #: ``(signature, files stamp)`` of the last successful build of each feed path.
    previous: dict[str, tuple[str, str]] = field(default_factory=dict)
    entries: EntryCache = field(default_factory=EntryCache)
    #: Feeds staged but not yet committed by the writer thread.
    in_flight: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(_MAX_IN_FLIGHT)
    )
    # Directories with renamed or removed files, fsynced once each at the end of the build.
    dirs_to_sync: set[Path] = field(default_factory=set)

    def render(self, spec: FeedSpec, site_url: str, articles: list[Article]) -> dict[str, bytes]:
        """The bytes of every file of ``spec`` by file name, all rendered before any is written:
        a rendering error leaves every file as it was.

        A feed without entries is dated by this build (RSS ``lastBuildDate``, Atom ``updated``;
        JSON Feed has no feed date). A fixed date would be a lie, and one that goes back in
        time when a feed loses its last entries, so a reader that compares dates would keep
        showing the entries it had; the build's time is when its content last changed, which
        is what RSS and Atom ask. It is stable: the date is not among the inputs
        (:func:`~feeds.render.input_signature`), so while the feed stays empty its files are
        kept unrendered with the date they were written with, and their bytes, mtime and so
        ``cityfeeds serve``'s ETag and Last-Modified stay too: conditional GETs keep getting
        304 until the feed changes.
        """
        feed = prepare_feed(spec, articles, **self._inputs(site_url), empty_since=self.started)
        return {spec.filename(fmt.extension): fmt.render(feed) for fmt in FORMATS.values()}

    def _inputs(self, site_url: str) -> dict[str, Any]:
        """What ``prepare_feed`` takes besides the articles, and so what the signature covers."""
        return {
            "base_url": self.base_url,
            "site_url": site_url,
            "max_html_chars": self.max_html_chars,
            "cache": self.entries,
            "hubs": self.hubs,
        }

    def stage(self, rendered: dict[str, bytes]) -> list[StagedFile]:
        """The files of one feed whose bytes changed, in unsynced temporary files.

        Writing the bytes costs little; fsync, which waits for the disk, is left to the writer
        thread (:meth:`commit`). On failure nothing is left behind and no file is touched.
        """
        staged: list[StagedFile] = []
        try:
            for name, data in rendered.items():
                file = stage_file(self.output_dir / name, data)
                if file is not None:
                    staged.append(file)
        except BaseException:
            for file in staged:
                discard_file(file)
            raise
        return staged

    def commit(self, spec: FeedSpec, staged: list[StagedFile]) -> tuple[bool, str | None]:
        """Make the staged files of ``spec`` durable and public (in the writer thread); whether
        any file changed, and the stamp of the feed's files."""
        try:
            for i, file in enumerate(staged):
                try:
                    commit_file(file, dirs_to_sync=self.dirs_to_sync)
                except BaseException:
                    for rest in staged[i + 1 :]:
                        discard_file(rest)
                    raise
        finally:
            self.in_flight.release()
        return bool(staged), files_stamp(self.output_dir, spec)

    def publish(
        self, spec: FeedSpec, site_url: str, found: list[Article] | str
    ) -> Callable[[], FeedResult]:
        """Render ``spec`` and queue its files for writing; call the result for the outcome.

        Any failure becomes the feed's result (its last good files stay published).
        """
        if isinstance(found, str):
            return partial(FeedResult, spec.path, error=found)
        try:
            signature = input_signature(spec, found, **self._inputs(site_url))
            previous = self.previous.get(spec.path)
            if (
                previous is not None
                and previous[0] == signature
                and previous[1] == files_stamp(self.output_dir, spec)
            ):
                log.debug("feed %s: %d items, kept (same inputs)", spec.path, len(found))
                kept = FeedResult(
                    spec.path, len(found), signature=signature, stamp=previous[1], reused=True
                )
                return lambda: kept
            rendered = self.render(spec, site_url, found)
        except Exception as exc:
            _log_failure(f"feed {spec.path}", exc)
            return partial(FeedResult, spec.path, error=f"{type(exc).__name__}: {exc}")
        # Bounded, so temporary files (and their descriptors) never pile up behind a slow disk.
        self.in_flight.acquire()
        staged: list[StagedFile] = []
        try:
            staged = self.stage(rendered)
            written = self.writer.submit(self.commit, spec, staged)
        except BaseException as exc:
            for file in staged:
                discard_file(file)
            self.in_flight.release()
            if not isinstance(exc, Exception):
                raise
            _log_failure(f"feed {spec.path}", exc)
            return partial(FeedResult, spec.path, error=f"{type(exc).__name__}: {exc}")

        def outcome() -> FeedResult:
            try:
                changed, stamp = written.result()
            except Exception as exc:
                _log_failure(f"feed {spec.path}", exc)
                return FeedResult(spec.path, error=f"{type(exc).__name__}: {exc}")
            state = "changed" if changed else "unchanged"
            log.info("feed %s: %d items, %s", spec.path, len(found), state)
            return FeedResult(spec.path, len(found), changed, None, signature, stamp)

        return outcome


def _log_failure(what: str, exc: Exception) -> None:
    """One line for a failed write (a full disk, a read-only folder: the environment's fault);
    a traceback for anything else, which is a bug."""
    if isinstance(exc, OSError):
        log.error("%s failed (the files already published stay): %s", what, exc)
    else:
        log.error("%s failed (the files already published stay)", what, exc_info=exc)


def _remove_unconfigured(
    store: FeedStore, output_dir: Path, specs: Sequence[tuple[FeedSpec, str]], build: _Build
) -> list[str]:
    """Delete the files of feeds no configured topic or source produces any more, and forget
    their build records once none of their files is left (the status then no longer lists
    them, and a file of that name written later by someone else is not taken for ours).

    Ours are the paths the store has a build of, failed ones included: a source whose last
    build failed still has the files of the build before.
    """
    try:
        ours = store.feed_build_paths()
    except Exception:
        log.exception("could not read which feeds were published; removing none")
        return []
    keep = {spec.path for spec, _ in specs} | {INDEX_PATH, OPML_PATH}
    removed = remove_stale_feeds(output_dir, keep, ours=ours, dirs_to_sync=build.dirs_to_sync)
    extensions = [fmt.extension for fmt in FORMATS.values()]
    gone = [
        path
        for path in ours - keep
        if not any((output_dir / f"{path}.{ext}").exists() for ext in extensions)
    ]
    try:
        store.forget_feed_builds(gone)
    except Exception:
        log.exception("could not forget the build records of removed feeds")
    return removed


def _previous(store: FeedStore) -> dict[str, tuple[str, str]]:
    try:
        return store.feed_signatures()
    except Exception:
        log.exception("could not read the last build's signatures; rendering every feed")
        return {}


def build_feeds(
    config: Config, store: FeedStore, *, only: set[str] | None = None, clock: Clock = utcnow
) -> BuildReport:
    """Build the feeds, the index page and the OPML file; one failing feed never stops the rest.

    ``only`` limits rebuilding to these feed paths (``"all"``, ``"topics/<id>"``,
    ``"sources/<name>"``); the index page and OPML are always refreshed from the store. Files whose
    bytes did not change are not rewritten, so they keep their mtime (and their HTTP validators).
    A full build (no ``only``) also deletes the feed files of topics and sources no longer in the
    config (:func:`feeds.publish.remove_stale_feeds`). The articles of every feed are read in one
    store query batch (one snapshot), and the outcomes are recorded in one transaction.
    ``clock`` dates the feeds rendered without entries (:meth:`_Build.render`).
    """
    output_dir = Path(config.output_dir)
    base_url = config.base_url
    limit = config.feed_size
    max_html_chars = config.feed_max_html_chars
    timezone = config.timezone
    # WebSub hubs every feed declares ([websub] hubs); a config without the table has none.
    hubs = tuple(getattr(getattr(config, "websub", None), "hubs", None) or ())

    report = BuildReport()
    specs = feed_specs(config)
    if problem := output_problem(output_dir):
        # One cause, said once: not one traceback per feed file.
        log.error("no feed can be published in %s: %s", output_dir, problem)
        for path in [spec.path for spec, _ in specs] + [INDEX_PATH, OPML_PATH]:
            report.results[path] = FeedResult(path, error=problem)
        # Recorded like any failed build, so status and /healthz show the feeds failing.
        _record(store, report.results.values())
        return report
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-writer") as writer:
        build = _Build(
            output_dir,
            base_url,
            max_html_chars,
            writer,
            hubs=hubs,
            started=clock().astimezone(UTC).replace(microsecond=0),
            previous=_previous(store),
            # A story's other reports show their source's title, not its config name.
            entries=EntryCache({s.name: s.title for s in config.sources}),
        )
        try:
            feeds = [spec for spec, _ in specs]
            collapse = story_feeds(config, feeds)
            configured = sorted({s.name for s in config.sources})
            reads = _read(store, feeds, limit, collapse, configured)
            # Feeds of one entry per article first: a story's other reports are mostly their
            # entries, whose cleaned links and headlines the story entries then reuse.
            order = sorted(range(len(specs)), key=collapse.__getitem__)
            outcomes = {
                specs[i][0].path: build.publish(*specs[i], reads[i])
                for i in order
                if only is None or specs[i][0].path in only
            }
            infos: list[FeedInfo] = []
            for (spec, site_url), found in zip(specs, reads, strict=True):
                if spec.path in outcomes:
                    result = report.results[spec.path] = outcomes[spec.path]()
                    if result.error is not None:
                        found = result.error
                infos.append(_info(spec, site_url, None if isinstance(found, str) else found))

            # After every feed file is in place, so no published page links a missing file:
            # and only feeds whose files are there (a first build that failed, e.g. on a full
            # disk, has none, where a later failure keeps serving the last good files).
            infos = [i for i in infos if files_stamp(output_dir, i.spec) is not None]
            index = partial(write_index, output_dir, infos, base_url=base_url, timezone=timezone)
            opml = partial(write_opml, output_dir, infos, base_url=base_url)
            for path, write in ((INDEX_PATH, index), (OPML_PATH, opml)):
                try:
                    changed = write(dirs_to_sync=build.dirs_to_sync)
                    result = FeedResult(path, items=len(infos), changed=changed)
                except Exception as exc:
                    _log_failure(path, exc)
                    result = FeedResult(path, error=f"{type(exc).__name__}: {exc}")
                report.results[path] = result
            _record(store, report.results.values())
            if only is None:
                # After the index and OPML, so no published page links a removed file.
                report.removed = _remove_unconfigured(store, output_dir, specs, build)
                remove_stale_temp_files(output_dir)
        finally:
            # Pending writes finish first (leaving the block would wait for them anyway).
            writer.shutdown(wait=True)
            sync_dirs(build.dirs_to_sync)
    log.debug("feed entries: %d prepared, %d reused", len(build.entries), build.entries.hits)
    return report
