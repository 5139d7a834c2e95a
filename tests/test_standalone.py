"""The repository stands alone: no tracked file reads or cites files outside it, and the fault
catalogue that tests, benchmarks and docs refer to is the one in docs/reliability.md."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Built from pieces so this file does not match itself.
_PARENT_FOLDER = re.escape(".." + "/shared")
# An absolute machine path starts a word: after a space, quote, backtick, bracket or `=`, never
# inside a URL (`https://site/home/...` is a page address, not a folder on this machine).
_MACHINE_DIRS = "|".join(["work", "root", "home", "tmp", "Users", "var/folders"])
_FORBIDDEN = re.compile(
    rf"{_PARENT_FOLDER}|(?:^|(?<=[\s\"'`(=\[<]))/(?:{_MACHINE_DIRS})/|[A-Z]:\\Users", re.M
)


def _tracked_text_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name]


def test_forbidden_pattern_catches_machine_paths_but_not_urls() -> None:
    assert _FORBIDDEN.search("see " + ".." + "/shared/SEED.md")
    assert _FORBIDDEN.search('Path("/' + 'tmp/x")')
    assert _FORBIDDEN.search("cd /" + "work/main")
    assert _FORBIDDEN.search("`/" + "root/.cache`")
    assert not _FORBIDDEN.search("https://www.telegraph.co.uk/recommended/home/best/")
    assert not _FORBIDDEN.search("tests/corpus/fundus/cases.jsonl")


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_text_files():
        if not path.is_file():
            continue  # deleted in the worktree, not yet committed
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (gzip pages, images)
        text = data.decode("utf-8", errors="replace")
        for m in _FORBIDDEN.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r}")
    assert not offenders, "tracked files point outside the repository:\n" + "\n".join(offenders)


def _faults_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_faults", ROOT / "bench" / "faults.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fault_catalogue_is_in_the_repository() -> None:
    faults = _faults_module()
    assert faults.CATALOGUE == ROOT / "docs" / "reliability.md"
    cases = faults.catalogue_cases()
    sections = {case[0] for case in cases}
    assert sections == set("ABCDEFGHI")
    assert [c for c in cases if c.startswith("I")] == [f"I{n}" for n in range(1, 15)]
    assert len(cases) == 15 + 31 + 9 + 9 + 8 + 12 + 7 + 12 + 14


def test_every_case_named_by_a_fault_test_is_in_the_catalogue() -> None:
    """A test named ``test_a7_...`` must cite an id that docs/reliability.md defines."""
    faults = _faults_module()
    cases = set(faults.catalogue_cases())
    named = set()
    for module in (ROOT / "tests" / "faults").glob("test_*.py"):
        for name in re.findall(r"^(?:async )?def (test_\w+)", module.read_text(), re.M):
            named.update(faults.case_ids(f"x::{name}"))
    # A0/B0 are the control sources of the crawl-based modules, not catalogue cases.
    unknown = {c for c in named - cases if not c.endswith("0")}
    assert named and not unknown, unknown
    assert faults.case_ids("x::test_i4_second_crawl_refused[x]") == ["I4"]
