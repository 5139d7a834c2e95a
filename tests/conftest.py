"""Shared fixtures: stores on SQLite and PostgreSQL, a served demo site, a loaded test config.

PostgreSQL and Redis tests skip when the server is unreachable, unless
``CITYFEEDS_REQUIRE_SERVICES=1`` (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import fcntl
import gc
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crawler.config import ENV_MIN_INTERVAL

if TYPE_CHECKING:
    from cityfeeds.service import Service

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "CITYFEEDS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CITYFEEDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("CITYFEEDS_REQUIRE_SERVICES") == "1"


def service_unavailable(what: str, why: object) -> None:
    """Skip the test, or fail it when services are required (CI)."""
    message = f"{what} is not reachable ({why}); set CITYFEEDS_TEST_*_URL or start it"
    if REQUIRE_SERVICES:
        pytest.fail(f"CITYFEEDS_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    """Undo ``crawler.lifecycle.tune_gc`` after a test that ran a crawl child's ``main`` in this
    process: its frozen objects and thresholds would stay for every later test."""
    threshold = gc.get_threshold()
    yield
    if gc.get_threshold() != threshold:
        gc.set_threshold(*threshold)
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        service_unavailable("PostgreSQL driver", exc)
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        service_unavailable("PostgreSQL", exc)
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _opened_store(url: str) -> Iterator[object]:
    from crawler.storage import Store

    s = Store.open(url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def store(db_url: str) -> Iterator[object]:
    """An empty Store on each backend."""
    yield from _opened_store(db_url)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[object]:
    """An empty SQLite Store (for tests whose many orders need no second backend)."""
    yield from _opened_store(sqlite_url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL (database 15), flushed before the test and used by it alone.

    pytest-xdist's workers share the database: without the lock one test's flush emptied the
    queue another test's workers were reading, and two tests' workers took each other's work.
    """
    try:
        import redis
    except ImportError as exc:  # pragma: no cover
        service_unavailable("Redis client", exc)
    lock_name = f"cityfeeds-test-redis-{uuid.uuid5(uuid.NAMESPACE_URL, REDIS_URL).hex}.lock"
    with (Path(tempfile.gettempdir()) / lock_name).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, after the test
        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
            client.ping()
            client.flushdb()
        except redis.RedisError as exc:
            service_unavailable("Redis", exc)
        yield REDIS_URL


@pytest.fixture
def running() -> Iterator[list[Service]]:
    """Services a test starts (append them); each is stopped, 1 s grace, after the test."""
    services: list[Service] = []
    yield services
    for svc in services:
        svc.stop(grace=1)


@pytest.fixture(scope="session")
def project_config_text() -> str:
    """The shipped cityfeeds.toml."""
    return (ROOT / "cityfeeds.toml").read_text(encoding="utf-8")


def python_module_with_ctrl_c(module: str) -> list[str]:
    """``python -m MODULE`` as a terminal starts it, with Ctrl-C (SIGINT) on.

    A test run started in the background by a script (``.ci/run &``) ignores SIGINT, as a
    shell's background job does, and its children inherit that: a command that rightly keeps
    an ignored SIGINT would then never see the one a test sends it.
    """
    code = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", code]


def write_site_config(
    tmp_path: Path, base_url: str, *, sources: list[dict] | None = None, extra: dict | None = None
) -> Path:
    """A config for crawling a loopback site into tmp_path, with the shipped topics."""
    import tomllib

    import tomli_w

    from cityfeeds.devtools.demo_site import demo_source

    raw = tomllib.loads((ROOT / "cityfeeds.toml").read_text(encoding="utf-8"))
    raw["cityfeeds"] = {
        "output_dir": str(tmp_path / "output"),
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "base_url": "https://feeds.example.org/",
    }
    raw["crawl"] = {
        "download_delay": 0.0,
        "autothrottle": False,
        "timeout": 10,
        "retry_times": 1,
        "run_timeout": 120,
    }
    raw["sources"] = sources if sources is not None else [demo_source(base_url)]
    for topic in raw.get("topics", []):
        topic.pop("sources", None)
    for key, value in (extra or {}).items():
        raw.setdefault(key, {}).update(value)
    path = tmp_path / "cityfeeds.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


@pytest.fixture
def short_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accept schedules of a second or more (the documented minimum is a minute), also in crawl
    children, which inherit the environment: service tests cannot wait a minute per cycle."""
    monkeypatch.setenv(ENV_MIN_INTERVAL, "1")
