"""Config loading: the shipped file is valid; every bad entry gives one clear error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config, parse_config

SRC = '[[sources]]\nname = "x"\ntitle = "X"\nurl = "https://a.ru/"\n'
MINIMAL = """
[[sources]]
name = "m24"
title = "Москва 24"
url = "https://www.m24.ru/"
feeds = ["https://www.m24.ru/rss.xml"]
"""


def test_shipped_config_is_valid(project_config_text: str) -> None:
    config = parse_config(project_config_text, path=Path("cityfeeds.toml").resolve())
    names = {s.name for s in config.sources}
    assert {"mymsk", "m24", "vm", "mosru", "mskagency", "mosregtoday"} <= names
    assert "electric-transport" in {t.id for t in config.topics}
    assert all(s.timezone == "Europe/Moscow" for s in config.sources)
    assert config.database_url.startswith("sqlite:////")  # resolved to an absolute path
    assert not str(config.database_url).startswith(f"sqlite:///{config.output_dir}")


def test_defaults_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load_config(path)
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'cityfeeds.db'}"
    assert config.output_dir == tmp_path / "output"
    assert config.feed_size == 50
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", "postgresql+psycopg://db/x")
    assert load_config(path).database_url == "postgresql+psycopg://db/x"
    monkeypatch.setenv("CITYFEEDS_CONFIG", str(path))
    assert load_config().path == path.resolve()


def test_an_ip_address_is_an_allowed_domain_and_a_soft_hyphen_is_no_control_character() -> None:
    config = parse_config(
        '[[sources]]\nname = "x"\ntitle = "Элек\u00adтро\ufeff"\nurl = "http://[::1]:8080/"\n'
        'allow_private = true\nallowed_domains = ["::1", "[::1]", "127.0.0.1"]\n'
    )
    assert config.sources[0].allowed_domains == ["::1", "::1", "127.0.0.1"]
    topic = parse_config(
        '[[topics]]\nid = "t"\ntitle = "Транс\u00adпорт"\n[topics.include]\n"трамва*" = 1.0\n'
    ).topics[0]
    assert topic.title == "Транс\u00adпорт"
    with pytest.raises(ConfigError, match=r"write the host alone \('2001:db8::1'\)"):
        parse_config(SRC + 'allowed_domains = ["[2001:db8::1]:8080"]\n')


def test_a_config_saved_with_a_byte_order_mark_loads(
    tmp_path: Path, project_config_text: str
) -> None:
    # Windows editors save UTF-8 with a BOM; TOML has none, so it was "invalid TOML" at 1:1.
    path = tmp_path / "cityfeeds.toml"
    path.write_bytes(b"\xef\xbb\xbf" + project_config_text.encode("utf-8"))
    assert load_config(path).sources == parse_config(project_config_text).sources


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "[cityfeeds]\nfeed_sise = 10\n",
            r"\[cityfeeds\]: feed_sise: unknown key \(did you mean 'feed_size'\?\)",
        ),
        ('[crawl]\nuser_agnt = "x"\n', r"user_agnt: unknown key \(did you mean 'user_agent'\?\)"),
        ("[sourcs]\n", r"unknown top-level key 'sourcs' \(did you mean 'sources'\?\)"),
        (
            SRC + 'listings = [{url = "https://a.ru/n", link_patern = "x"}]\n',
            r"listings\.0\.link_patern: unknown key \(did you mean 'link_pattern'\?\)",
        ),
        (
            '[[sources]]\nname = "x"\ntitle = "X"\nurl = "http://exa mple.com/"\n',
            r"url: 'exa mple.com' is not a valid host name or IP address",
        ),
        (
            SRC + 'feeds = ["https://a..ru/rss"]\n',
            "is not a valid host name",
        ),
        (
            SRC + 'feeds = ["https://a.ru/rss .xml"]\n',
            r"feeds.*a URL holds no space or control character \(write a space as %20\)",
        ),
        (
            '[[sources]]\nname = "x"\ntitle = "X"\nurl = "https://user:secret@a.ru/"\n',
            r"url: a URL with a login \(user:password@\) is not supported, and it would be "
            r"published in the feeds",
        ),
        (
            SRC + 'allowed_domains = ["http://a.ru/"]\n',
            r"allowed_domains: 'http://a.ru/' is not a domain name; write the host alone "
            r"\('a.ru'\)",
        ),
        (SRC + 'allowed_domains = ["a.ru:8080"]\n', r"write the host alone \('a.ru'\)"),
        (
            '[[sources]]\nname = "x"\ntitle = "X \\u0001"\nurl = "https://a.ru/"\n',
            r"sources\[0\] \('x'\): title: holds the control character U\+0001",
        ),
        ('[cityfeeds]\ntitle = "Лента \\u202e"\n', "holds the control character U\\+202E"),
        (
            '[[topics]]\nid = "t"\ntitle = "T"\ndescription = "\\u0007"\n'
            '[topics.include]\n"трамва*" = 1.0\n',
            r"topic 't': description holds a control character",
        ),
        (
            '[websub]\nhubs = ["https://u:secret@hub.example/"]\n',
            r"\[websub\]: hubs: a hub URL with a login \(user:password@\) would be published",
        ),
        ('[crawl]\ndownload_delay = "slow"\n', r"\[crawl\]: download_delay"),
        ("[nonsense]\na = 1\n", "unknown top-level key 'nonsense'"),
        (
            "[retention]\nrun_days = 30\n",
            r"\[retention\]: run_days: unknown key \(did you mean 'runs_days'\?\)",
        ),
        (
            "[retention]\nruns_days = -1\n",
            r"\[retention\]: runs_days: .*greater than or equal to 0",
        ),
        ('[retention]\ntext_days = "90"\n', r"text_days: expected a whole number, got \"90\""),
        ("[retention]\ntext_days = 1.5\n", r"text_days: expected a whole number, got 1\.5"),
        ("retention = 30\n", r"\[retention\]: expected a table, got int"),
        (
            '[[sources]]\nname = "x"\ntitle = "X"\nurl = "file:///etc/passwd"\n',
            r"sources\[0\] \('x'\): url: not an http\(s\) URL",
        ),
        (
            '[[sources]]\nname = "x"\ntitle = "X"\nurl = "http://169.254.169.254/"\n',
            "private, loopback or link-local",
        ),
        ('[[sources]]\nname = "x"\ntitle = "X"\nurl = "ftp://example.org/"\n', "not an http"),
        (
            SRC + 'article_pattern = "(["\n',
            r"sources\[0\] \('x'\): article_pattern: invalid regex",
        ),
        (
            SRC + 'schedule = "61 * * * *"\n',
            "schedule '61 \\* \\* \\* \\*'",
        ),
        (
            SRC + 'schedule = "0 0 * *"\n',
            "expected 5 cron fields",
        ),
        (
            SRC + 'schedule = "0 0 * * 0"\n',
            "weekday names",
        ),
        (
            SRC + 'selectors = {title = "css:h1[[["}\n',
            "invalid css selector for 'title'",
        ),
        (
            SRC + 'selectors = {headline = "h1"}\n',
            "unknown selector field 'headline'",
        ),
        (
            '[[sources]]\nname = "Bad Name"\ntitle = "X"\nurl = "https://a.ru/"\n',
            "use 1-64 lowercase letters",
        ),
        (
            # Distributed workers record their own runs under it (status, metrics).
            '[[sources]]\nname = "worker"\ntitle = "X"\nurl = "https://a.ru/"\n',
            r"source name 'worker' is reserved: distributed workers record their own runs",
        ),
        (
            SRC + 'timezone = "Mars/Base"\n',
            "unknown time zone",
        ),
        (MINIMAL + MINIMAL, "duplicate source name 'm24'"),
        ("this is = = not toml", "invalid TOML"),
    ],
)
def test_bad_entries_name_the_offender(snippet: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(snippet)


def test_topic_with_unknown_source_lists_known_ones(project_config_text: str) -> None:
    import tomllib

    import tomli_w

    raw = tomllib.loads(project_config_text)
    raw["topics"][0]["sources"] = ["mos_news_x"]
    with pytest.raises(ConfigError, match=r"unknown source\(s\) 'mos_news_x' \(known: .*m24"):
        parse_config(tomli_w.dumps(raw))


@pytest.mark.parametrize(
    ("cities", "error"),
    [
        (["moscow"], None),  # case is ignored, as topics ignore it
        (["MOSCOW OBLAST"], None),
        (["Казань"], r"no source has the city 'Казань' \(the sources' cities: .*'Moscow'"),
        (["Moscow", "Kazan"], r"no source has the city 'Kazan'"),
    ],
)
def test_topic_cities_name_a_source_s_city(
    project_config_text: str, cities: list[str], error: str | None
) -> None:
    import tomllib

    import tomli_w

    raw = tomllib.loads(project_config_text)
    raw["topics"][0]["cities"] = cities
    if error is None:
        assert parse_config(tomli_w.dumps(raw)).topics[0].cities == cities
    else:
        with pytest.raises(ConfigError, match=error):
            parse_config(tomli_w.dumps(raw))


@pytest.mark.parametrize("key", ["feeds", "sitemaps", "listings"])
def test_discovery_off_the_source_s_domains_is_refused(key: str) -> None:
    # The crawl never requests such a host: every run failed with a robots.txt message.
    url = "http://127.0.0.1:18401/rss.xml"
    value = f'[{{ url = "{url}" }}]' if key == "listings" else f'["{url}"]'
    snippet = (
        '[[sources]]\nname = "x"\ntitle = "X"\nurl = "http://localhost:18401/"\n'
        f"allow_private = true\n{key} = {value}\n"
    )
    with pytest.raises(
        ConfigError, match=r"is on 127\.0\.0\.1, not on the source's domains \(localhost\)"
    ):
        parse_config(snippet)
    # A subdomain of the site, or a host named in allowed_domains, is the site's.
    ok = snippet.replace("127.0.0.1", "feeds.localhost")
    assert parse_config(ok).sources[0]
    named = snippet + 'allowed_domains = ["localhost", "127.0.0.1"]\n'
    assert parse_config(named).sources[0]


def test_the_same_site_twice_is_warned_of(caplog: pytest.LogCaptureFixture) -> None:
    # Each article is stored once, under whichever source found it first: both feeds miss some.
    entry = '[[sources]]\nname = "{}"\ntitle = "X"\nurl = "{}"\n'
    twice = entry.format("a", "https://kazan.example/") + entry.format("b", "https://kazan.example")
    with caplog.at_level("WARNING"):
        assert len(parse_config(twice).sources) == 2
    assert "sources[1] ('b'): the same site and discovery as source 'a'" in caplog.text
    caplog.clear()
    # Two sections of one site, each with its own feed, are two sources.
    feed = 'url = "https://kazan.example"\nfeeds = ["https://kazan.example/transport.rss"]\n'
    with caplog.at_level("WARNING"):
        parse_config(twice.replace('url = "https://kazan.example"\n', feed))
    assert "same site" not in caplog.text


def test_idn_allowed_domain_is_punycoded() -> None:
    config = parse_config(
        '[[sources]]\nname = "x"\ntitle = "X"\nurl = "http://новости.рф/"\n'
        'allowed_domains = ["новости.рф"]\n'
    )
    assert config.sources[0].allowed_domains == ["xn--b1amnebsh.xn--p1ai"]


def test_private_address_allowed_only_when_asked() -> None:
    config = parse_config(
        '[[sources]]\nname = "x"\ntitle = "X"\nurl = "http://127.0.0.1:8000/"\n'
        "allow_private = true\n"
    )
    assert config.sources[0].url.startswith("http://127.0.0.1:8000")


@pytest.mark.parametrize(
    ("general", "message"),
    [
        ('output_dir = ""', "holds the configuration's own folder"),
        ('output_dir = "."', "holds the configuration's own folder"),
        ('output_dir = "/"', "holds the configuration's own folder"),
        (
            'output_dir = "public"\ndatabase_url = "sqlite:///public/db.sqlite"',
            "the database .* would be served",
        ),
    ],
)
def test_an_output_folder_that_would_publish_the_config_or_database_is_refused(
    general: str, message: str, tmp_path: Path
) -> None:
    # Served as it is: "" once published cityfeeds.toml and data/cityfeeds.db to anyone.
    with pytest.raises(ConfigError, match=message):
        parse_config(f"[cityfeeds]\n{general}\n" + MINIMAL, path=tmp_path / "cityfeeds.toml")
    parse_config('[cityfeeds]\noutput_dir = "public"\n' + MINIMAL, path=tmp_path / "c.toml")


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        # A bool is not a number: `feed_size = true` gave every feed exactly one entry.
        ("[cityfeeds]\nfeed_size = true\n", r"\[cityfeeds\]: feed_size: expected a whole number"),
        ('[crawl]\ntimeout = "30"\n', r'\[crawl\]: timeout: expected a whole number, got "30"'),
        ("[crawl]\nretry_times = 1.5\n", r"retry_times: expected a whole number, got 1.5"),
        ("[stories]\nwindow_hours = true\n", r"\[stories\]: window_hours: expected a number"),
        # Strings are not switches: "no" was read as false, "yes" as true, "off" too.
        (SRC + 'enabled = "yes"\n', r"sources\[0\] \('x'\): enabled: expected true or false"),
        (SRC + 'enabled = "no"\n', r'enabled: expected true or false, got "no"'),
        ("[crawl]\nobey_robots = 0\n", r"\[crawl\]: obey_robots: expected true or false, got 0"),
        ('[schedule]\nserve = "false"\n', r"\[schedule\]: serve: expected true or false"),
        (SRC + 'feeds = "https://a.ru/rss"\n', r"feeds: expected a list"),
        (SRC + "city = 77\n", r"city: expected a quoted string, got 77"),
        # A name or title must say something.
        (SRC.replace('"X"', '""'), r"sources\[0\] \('x'\): title: must not be empty"),
        (SRC.replace('"X"', '"  "'), r"title: must not be empty"),
        ('[cityfeeds]\ntitle = ""\n', r"\[cityfeeds\]: title: must not be empty"),
        ('[crawl]\nuser_agent = ""\n', r"\[crawl\]: user_agent: must not be empty"),
        (SRC + 'site_names = [""]\n', r"site_names: a name must not be empty"),
        (SRC + 'allowed_domains = [""]\n', r"allowed_domains: a domain is empty"),
        # A language is an ISO 639-1 code.
        (SRC + 'language = "klingon"\n', r"language: 'klingon' is not an ISO 639-1"),
        (SRC + 'language = "xx"\n', r"language: 'xx' is not an ISO 639-1"),
        (SRC + 'language = ""\n', r"language: '' is not an ISO 639-1"),
        # next_page's only placeholder is {page}; without one it is a selector.
        (
            SRC + 'listings = [{url = "https://a.ru/n", next_page = "https://a.ru/?p={pages}"}]\n',
            r"listings\.0\.next_page: 'https://a\.ru/\?p=\{pages\}': unknown placeholder \{pages\}",
        ),
        (
            SRC + 'listings = [{url = "https://a.ru/n", next_page = "https://a.ru/?p={page"}]\n',
            r"next_page: .*unknown placeholder a stray brace",
        ),
        (
            SRC + 'listings = [{url = "https://a.ru/n", next_page = "ftp://a.ru/{page}"}]\n',
            r"listings\.0\.next_page: not an http\(s\) URL",
        ),
        (
            SRC + 'listings = [{url = "https://a.ru/n", next_page = "https://a.ru/?page=2"}]\n',
            r"invalid css selector for 'next_page'",
        ),
        ('[[topics]]\nid = "t"\ntitle = "T"\ninclude = {a = 1}\nstories = "no"\n', "stories"),
    ],
)
def test_wrong_types_and_empty_values_are_refused(snippet: str, message: str) -> None:
    # README: a bad value stops the program with one message naming the entry (exit 2, see
    # tests/cityfeeds/test_cli.py); pydantic's lax mode had turned these into other values.
    with pytest.raises(ConfigError, match=message) as exc:
        parse_config(snippet)
    assert "\n" not in str(exc.value)  # one line


@pytest.mark.parametrize(
    ("written", "kept"), [("ru", "ru"), ("EN", "en"), ("en-us", "en-US"), ("pt_BR", "pt-BR")]
)
def test_a_language_code_may_carry_a_region(written: str, kept: str) -> None:
    assert parse_config(SRC + f'language = "{written}"\n').sources[0].language == kept


@pytest.mark.parametrize(
    "next_page", ["https://a.ru/?page={page}&x=1", "css:a.next", "a[rel=next]", "xpath://a/@href"]
)
def test_next_page_templates_and_selectors_load(next_page: str) -> None:
    config = parse_config(
        SRC + f"listings = [{{url = \"https://a.ru/n\", next_page = '{next_page}'}}]\n"
    )
    assert config.sources[0].listings[0].next_page == next_page


def test_a_float_for_a_number_of_seconds_and_an_int_for_a_float_are_fine() -> None:
    config = parse_config("[crawl]\ndownload_delay = 2\nrefresh_hours = 1.5\n")
    assert config.crawl.download_delay == 2.0


def test_retention_defaults_and_values() -> None:
    """Runs are kept 180 days and texts forever unless the file says otherwise; 0 is allowed."""
    assert (parse_config("").retention.runs_days, parse_config("").retention.text_days) == (180, 0)
    spec = parse_config("[retention]\nruns_days = 0\ntext_days = 90\n").retention
    assert (spec.runs_days, spec.text_days) == (0, 90)


def test_a_topic_that_cannot_work_as_meant_is_warned_of(
    caplog: pytest.LogCaptureFixture, project_config_text: str
) -> None:
    # Valid, so loaded, but a tester's 1e9 threshold and a term in both lists went unsaid.
    topic = '[[topics]]\nid = "t"\ntitle = "T"\ninclude = {{ "трамвай" = 1.0 }}\n{}\n'
    with caplog.at_level("WARNING"):
        parse_config(topic.format("threshold = 1e9"))
    assert "topics[0] ('t'): threshold 1e+09 is above the highest score" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        parse_config(topic.format('exclude = { "ТРАМВАЙ" = 0.5 }'))
    assert "topics[0] ('t'): 'трамвай' both included and excluded" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        parse_config(topic.format("threshold = 2.0"))  # reachable: title and body
        parse_config(project_config_text, path=Path("cityfeeds.toml").resolve())
    assert "topics[" not in caplog.text
