"""Write published files atomically, keep the last good one, and write the index page and OPML."""

from __future__ import annotations

import contextlib
import html
import logging
import os
import tempfile
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from lxml import etree

from crawler.normalize.text import strip_control_chars
from feeds.content import rfc3339
from feeds.model import FeedInfo
from feeds.render import FORMATS

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).with_name("templates")
_SECTIONS = (
    ("all", "Все новости", "All news"),
    ("topic", "Темы", "Topics"),
    ("source", "Источники", "Sources"),
)


@dataclass
class StagedFile:
    """New bytes for ``path`` written to an open, not yet fsynced temporary file beside it."""

    path: Path
    tmp: str
    fd: int


def stage_file(path: Path, data: bytes) -> StagedFile | None:
    """The first half of :func:`write_atomic`: ``None`` (and nothing touched) if ``path`` already
    holds ``data``, else the bytes in a temporary file awaiting :func:`commit_file`.

    A failure removes the temporary file; ``path`` itself is never touched here.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_bytes() == data:
            # Not rewriting keeps the mtime, so Last-Modified and caches stay valid
            # (docs/reliability.md C5).
            return None
    except FileNotFoundError:
        pass
    # Dot-prefixed: the server never serves dotfiles, so a stray temp file is never public.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        discard_file(StagedFile(path, tmp, fd))
        raise
    return StagedFile(path, tmp, fd)


def commit_file(staged: StagedFile, *, dirs_to_sync: set[Path] | None = None) -> None:
    """The second half of :func:`write_atomic`: fsync the staged bytes and rename them over the
    target. On failure the temporary file is removed and the last good file stays."""
    try:
        try:
            os.fsync(staged.fd)
            # mkstemp creates 0600; published files must be readable by a separate web server.
            os.fchmod(staged.fd, 0o644)
        finally:
            os.close(staged.fd)
        os.replace(staged.tmp, staged.path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.tmp)
        raise
    if dirs_to_sync is None:
        _fsync_dir(staged.path.parent)
    else:
        dirs_to_sync.add(staged.path.parent)


def discard_file(staged: StagedFile) -> None:
    """Drop a staged file that will not be committed."""
    with contextlib.suppress(OSError):
        os.close(staged.fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staged.tmp)


def write_atomic(path: Path, data: bytes, *, dirs_to_sync: set[Path] | None = None) -> bool:
    """Write ``data`` to ``path`` atomically; return ``False`` (and touch nothing) if unchanged.

    The bytes go to a temporary file in the same directory, are fsynced, then ``os.replace``d
    over ``path``: readers and the server see the old file or the new one, never a partial one,
    and a failure at any point leaves the last good file in place (docs/reliability.md E4).
    The directory is fsynced
    too, so the rename survives a power loss; a caller writing many files passes
    ``dirs_to_sync`` to collect the directories and fsyncs each once with :func:`sync_dirs`.
    The two halves, :func:`stage_file` and :func:`commit_file`, may run in different threads.
    """
    staged = stage_file(path, data)
    if staged is None:
        return False
    commit_file(staged, dirs_to_sync=dirs_to_sync)
    return True


def output_problem(output_dir: Path) -> str | None:
    """Why feeds cannot be written to ``output_dir`` (created if missing), or None."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the output folder: {type(exc).__name__}: {exc}"
    if not os.access(output_dir, os.W_OK | os.X_OK):
        return f"the output folder {output_dir} is not writable"
    return None


def sync_dirs(directories: Iterable[Path]) -> None:
    """fsync each directory once (the renames and removals in it become durable)."""
    for directory in sorted(set(directories)):
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable across a power loss; not supported everywhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: The folders holding per-topic and per-source feeds; the only places stale feeds are removed.
FEED_FOLDERS = ("topics", "sources")


def remove_stale_feeds(
    output_dir: Path,
    keep: Collection[str],
    *,
    ours: Collection[str],
    dirs_to_sync: set[Path] | None = None,
) -> list[str]:
    """Delete feed files under ``topics/`` and ``sources/`` that no feed in ``keep`` produces.

    ``keep`` holds feed paths without extension (``"topics/metro"``); ``ours`` the paths an
    earlier build published (the store's record), so a file cityfeeds never wrote (a user's
    ``topics/mine.rss``) is never deleted. Only regular, non-hidden files with a format's
    extension (``*.rss``, ``*.atom``, ``*.json``) directly in those two folders are candidates;
    anything else there (other files, folders, temp dotfiles) and everything elsewhere is left
    alone. Returns the removed paths relative to ``output_dir``; each removal is logged.
    """
    removed: list[str] = []
    extensions = {fmt.extension for fmt in FORMATS.values()}
    for folder in FEED_FOLDERS:
        directory = output_dir / folder
        try:
            candidates = sorted(directory.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for path in candidates:
            extension = path.suffix.removeprefix(".")
            if extension not in extensions or path.name.startswith("."):
                continue
            feed = f"{folder}/{path.stem}"
            if feed in keep or feed not in ours or path.is_symlink() or not path.is_file():
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError:
                # A file we cannot remove must not fail the build; it is retried next time.
                log.exception("could not remove stale feed file %s", path)
                continue
            name = f"{folder}/{path.name}"
            log.info("removed stale feed file %s (no configured feed produces it)", name)
            removed.append(name)
            if dirs_to_sync is None:
                _fsync_dir(directory)
            else:
                dirs_to_sync.add(directory)
    return removed


#: Age after which a temporary file of ours is left over from a killed build, not in use.
STALE_TEMP_SECONDS = 600.0


def remove_stale_temp_files(output_dir: Path, *, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files of writes that never finished (a build killed mid-write).

    Only our own names (``.<file>.<random>.tmp``, never served) in ``output_dir`` and the feed
    folders, and only those older than ``older_than`` seconds: a build running right now (this
    process's or another's) never has one that old. Returns how many were removed.
    """
    now = time.time()
    removed = 0
    for directory in (output_dir, *(output_dir / f for f in FEED_FOLDERS)):
        try:
            candidates = list(directory.glob(".*.tmp"))
        except OSError:
            continue
        for path in candidates:
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                if now - path.stat().st_mtime < older_than:
                    continue
                path.unlink()
            except OSError:
                continue
            log.warning("removed %s, left over from an interrupted write", path)
            removed += 1
    return removed


def _ru_items(n: int) -> str:
    # Russian plural forms: 1 материал, 2 материала, 5 материалов (11-14 take the last form).
    if n % 10 == 1 and n % 100 != 11:
        return "материал"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "материала"
    return "материалов"


def _fmt_time(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def _feed_card(info: FeedInfo, base_url: str, tz: ZoneInfo) -> str:
    spec = info.spec
    e = _escape
    anchor = "feed-" + spec.path.replace("/", "-")
    links = " ".join(
        f'<a class="fmt" href="{e(spec.filename(fmt.extension))}" type="{fmt.media_type}">'
        f"{fmt.label}</a>"
        for fmt in FORMATS.values()
    )
    if info.items is None:
        meta = '<span class="warn">нет данных в этой сборке · not refreshed in this build</span>'
    else:
        meta = f'<span class="count">{info.items}</span> {_ru_items(info.items)} · items'
        if info.updated is not None:
            meta += (
                f' · обновлено · updated <time datetime="{e(rfc3339(info.updated))}">'
                f"{e(_fmt_time(info.updated, tz))}</time>"
            )
    preview = ""
    if info.latest:
        rows = "\n".join(
            f'<li><a href="{e(item.url)}">{e(item.title)}</a> '
            f'<time datetime="{e(rfc3339(item.published))}">'
            f"{e(_fmt_time(item.published, tz))}</time></li>"
            for item in info.latest
        )
        preview = f'<ol class="latest">\n{rows}\n</ol>'
    rss_url = spec.url(base_url, "rss")
    return f"""<article class="feed" id="{e(anchor)}" data-feed="{e(spec.path)}">
<h3>{e(spec.title)}</h3>
<p class="desc">{e(spec.description)}</p>
<p class="meta">{meta}</p>
<p class="links">{links}</p>
<label class="copy">Адрес для подписки · Feed URL
<input type="url" readonly value="{e(rss_url)}" aria-label="{e(spec.title)}: RSS URL"></label>
{preview}
</article>"""


def render_index(
    feeds: Sequence[FeedInfo],
    *,
    base_url: str,
    site_title: str = "cityfeeds",
    timezone: str = "Europe/Moscow",
) -> bytes:
    """The bytes of ``index.html``: every feed with links, counts, previews and autodiscovery.

    Links are relative so the page works wherever ``output/`` is served; the copy-able URLs are
    absolute (from ``base_url``). No scripts and no external assets.
    """
    tz = ZoneInfo(timezone)
    e = _escape
    alternates = "\n".join(
        f'<link rel="alternate" type="{fmt.media_type}" '
        f'title="{e(info.spec.title)} ({fmt.label})" href="{e(info.spec.filename(fmt.extension))}">'
        for info in feeds
        for fmt in FORMATS.values()
    )
    sections = []
    for kind, ru, en in _SECTIONS:
        cards = [_feed_card(info, base_url, tz) for info in feeds if info.spec.kind == kind]
        if cards:
            sections.append(
                f'<section id="{kind}"><h2>{ru} <span class="en" lang="en">· {en}</span></h2>\n'
                + "\n".join(cards)
                + "\n</section>"
            )
    page = Template((_TEMPLATES / "index.html").read_text(encoding="utf-8")).substitute(
        title=e(site_title),
        alternates=alternates,
        sections="\n".join(sections),
        feed_count=len(feeds),
        opml_url=e(base_url + "feeds.opml"),
    )
    return page.encode("utf-8")


def _escape(value: str) -> str:
    """``value`` for HTML, without the control characters the feeds leave out too."""
    return html.escape(strip_control_chars(value))


def render_opml(feeds: Sequence[FeedInfo], *, base_url: str, title: str = "cityfeeds") -> bytes:
    """OPML 2.0 listing every feed's RSS URL, grouped like the index page."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    x = strip_control_chars  # XML cannot hold some (a title's U+0001 failed every build)
    etree.SubElement(head, "title").text = x(title)
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(opml, "body")
    for kind, ru, en in _SECTIONS:
        group = [info for info in feeds if info.spec.kind == kind]
        if not group:
            continue
        folder = etree.SubElement(body, "outline", text=f"{ru} / {en}")
        for info in group:
            etree.SubElement(
                folder,
                "outline",
                type="rss",
                text=x(info.spec.title),
                title=x(info.spec.title),
                description=x(info.spec.description),
                language=x(info.spec.language),
                xmlUrl=x(info.spec.url(base_url, "rss")),
                htmlUrl=x(info.site_url),
            )
    return etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def write_index(
    output_dir: Path,
    feeds: Sequence[FeedInfo],
    *,
    base_url: str,
    site_title: str = "cityfeeds",
    timezone: str = "Europe/Moscow",
    dirs_to_sync: set[Path] | None = None,
) -> bool:
    """Write ``output_dir/index.html`` atomically; ``True`` if it changed."""
    page = render_index(feeds, base_url=base_url, site_title=site_title, timezone=timezone)
    return write_atomic(output_dir / "index.html", page, dirs_to_sync=dirs_to_sync)


def write_opml(
    output_dir: Path,
    feeds: Sequence[FeedInfo],
    *,
    base_url: str,
    dirs_to_sync: set[Path] | None = None,
) -> bool:
    """Write ``output_dir/feeds.opml`` atomically; ``True`` if it changed."""
    data = render_opml(feeds, base_url=base_url)
    return write_atomic(output_dir / "feeds.opml", data, dirs_to_sync=dirs_to_sync)
