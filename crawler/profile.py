"""SourceProfile: what processing one source's pages needs, taken once from the validated config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crawler.config import Config, SourceSpec
from crawler.normalize.urls import host_of

#: Article text kept per article (docs/reliability.md B11); ``CITYFEEDS_MAX_TEXT_CHARS``.
MAX_TEXT_CHARS = 64 * 1024
#: Article HTML kept per article; ``CITYFEEDS_MAX_HTML_CHARS``.
MAX_HTML_CHARS = 128 * 1024
#: The time zone of a page that belongs to no configured source and no config.
DEFAULT_TIMEZONE = "Europe/Moscow"


@dataclass(frozen=True)
class SourceProfile:
    """A source's page-processing settings: one plain, picklable value.

    Built once per source (:meth:`from_config`) and handed to
    :func:`crawler.pages.process_page` by every caller: the spider (and its extraction worker
    processes), the distributed worker, ``cityfeeds extract`` and the fixture tools.
    ``timezone`` places dates a page gives without an offset; ``selectors`` and ``site_names``
    steer extraction; ``allowed_domains`` bound which ``rel=canonical`` is believed;
    ``language`` is the default when a page declares none; ``city`` steers topic tagging;
    ``max_text``/``max_html`` cap what an article keeps.
    """

    name: str = ""
    timezone: str = DEFAULT_TIMEZONE
    selectors: Mapping[str, str] = field(default_factory=dict)
    site_names: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    language: str | None = None
    city: str | None = None
    max_text: int = MAX_TEXT_CHARS
    max_html: int = MAX_HTML_CHARS

    @classmethod
    def from_config(
        cls,
        config: Config,
        source: SourceSpec,
        *,
        max_text: int = MAX_TEXT_CHARS,
        max_html: int = MAX_HTML_CHARS,
    ) -> SourceProfile:
        """The profile of ``source``, a source of the validated ``config``."""
        return cls(
            name=source.name,
            timezone=source.timezone or config.timezone,
            selectors=dict(source.selectors),
            site_names=tuple(dict.fromkeys(n for n in (source.title, *source.site_names) if n)),
            allowed_domains=tuple(source.allowed_domains),
            language=source.language or None,
            city=source.city or None,
            max_text=max_text,
            max_html=max_html,
        )

    @classmethod
    def for_url(cls, config: Config | None, url: str) -> SourceProfile:
        """The profile of a page no configured source covers: its own host, the config's zone."""
        return cls(
            timezone=config.timezone if config is not None else DEFAULT_TIMEZONE,
            allowed_domains=(host_of(url),),
        )


def profiles_of(config: Config) -> dict[str, SourceProfile]:
    """The profile of every configured source, by name."""
    return {source.name: SourceProfile.from_config(config, source) for source in config.sources}
