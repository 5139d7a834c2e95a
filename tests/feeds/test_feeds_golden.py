"""A fixed store always builds the exact bytes in tests/fixtures/golden (determinism, C5).

Regenerate after an intended change with ``CITYFEEDS_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from feeds_samples import FakeStore, sample_articles, sample_config

from feeds.build import build_feeds

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden"


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_fixed_store_builds_the_golden_files(tmp_path: Path) -> None:
    report = build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    assert report.ok, report.failures
    if os.environ.get("CITYFEEDS_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(tmp_path, GOLDEN)
    built, golden = tree(tmp_path), tree(GOLDEN)
    assert sorted(built) == sorted(golden)
    for name, data in built.items():
        assert data == golden[name], f"{name} differs from tests/fixtures/golden/{name}"
