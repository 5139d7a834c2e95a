"""Fault catalogue E8: `cityfeeds status` beside a service whose database disk is full.

The service's runs leave no row, so the store shows each source's last good run: the rows
must say what the service's own /status rows say (its /healthz passes them on).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cityfeeds.cli import main
from cityfeeds.service import Service, ServiceLock
from cityfeeds.service.web import WebServer, status_routes
from tests.cityfeeds import test_health_feeds_and_store as disk_full
from tests.cityfeeds.test_health_feeds_and_store import _full

pytestmark = [pytest.mark.fault]

# The fixtures of the service tests with their database disk full.
service = disk_full.service
announced = disk_full.announced


def test_e8_status_rows_show_the_sources_the_running_service_could_not_record(
    service: Service,
    announced: ServiceLock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """With the database disk full, `status` said health failing but every source `ok` (the
    store's last good run): the rows now say what the service's own /status rows say."""
    for name in ("alpha", "beta"):
        assert service.run_source(name) == "ok"
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    monkeypatch.setattr(service.store, "_write", _full)
    assert service.run_source("alpha") == "not recorded"
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert service.run_source("alpha") == "not recorded"
    web = WebServer(service.config.output_dir, "127.0.0.1", 0, status_routes(service.status_report))
    web.start()
    try:
        announced.announce(web.local_url)
        cfg = str(tmp_path / "cityfeeds.toml")
        assert main(["--config", cfg, "status", "--json"]) == 0
        rows = {s["name"]: s for s in json.loads(capsys.readouterr().out)["sources"]}
        assert (rows["alpha"]["state"], rows["alpha"]["consecutive_failures"]) == ("failing", 2)
        assert "not run or not recorded" in rows["alpha"]["message"]
        assert "database or disk is full" in rows["alpha"]["message"]
        assert rows["beta"]["state"] == "ok"  # only the sources the service could not record
        assert main(["--config", cfg, "status"]) == 0
        table = capsys.readouterr().out.splitlines()
        alpha = next(line for line in table if line.startswith("alpha "))
        assert "failing" in alpha and "database or disk is full" in alpha
        assert " ok " in next(line for line in table if line.startswith("beta "))
    finally:
        web.stop()
