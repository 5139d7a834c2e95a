"""Run the reliability fault catalogue (``pytest -m fault``) and report it per case id.

Usage: ``python bench/faults.py [-k EXPR] [-v]``. Case ids (A1 … I9) are read from the table in
docs/reliability.md; a test covers every id in its function name (``test_a7_…``,
``test_d1_d2_…``). A case passes when all its tests pass; an expected failure (xfail) counts as
failed, with its reason. Prints ``N passed, N failed`` and the cases no test covers.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "reliability.md"
_ROW_RE = re.compile(r"^\|\s*([A-Z]\d{1,2})\s*\|\s*([^|]+?)\s*\|", re.M)
_ID_IN_NAME_RE = re.compile(r"(?<=_)([a-z]\d{1,2})(?=_|$)")


def catalogue_cases(path: Path = CATALOGUE) -> dict[str, str]:
    """``{case id: short title}`` from the catalogue table, in document order."""
    return {m.group(1): m.group(2) for m in _ROW_RE.finditer(path.read_text(encoding="utf-8"))}


def case_ids(nodeid: str) -> list[str]:
    """Case ids named by a test: ``…::test_d1_d2_source[x]`` -> ``['D1', 'D2']``."""
    name = nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
    return [m.upper() for m in _ID_IN_NAME_RE.findall(name)]


class _Collector:
    """A pytest plugin recording each test's outcome."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.reasons: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or report.outcome != "passed":
            outcome = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
                self.reasons[report.nodeid] = str(report.wasxfail)
            if self.outcomes.get(report.nodeid) in (None, "passed"):
                self.outcomes[report.nodeid] = outcome


def main(argv: list[str] | None = None) -> int:
    """Run the catalogue; exit 0 when every case is covered and passing."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-k", help="only tests matching this pytest -k expression")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every case")
    args = parser.parse_args(argv)

    import pytest

    sys.path.insert(0, str(ROOT))
    cases = catalogue_cases()
    collector = _Collector()
    pytest_args = [
        str(ROOT / "tests" / "faults"),
        "-m",
        "fault",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
    ]
    if args.k:
        pytest_args += ["-k", args.k]
    t0 = time.monotonic()
    pytest.main(pytest_args, plugins=[collector])
    elapsed = time.monotonic() - t0

    by_case: dict[str, list[str]] = defaultdict(list)
    for nodeid in collector.outcomes:
        for case in case_ids(nodeid):
            by_case[case].append(nodeid)
    passed, failed, uncovered = [], [], []
    for case in cases:
        nodes = by_case.get(case)
        if not nodes:
            uncovered.append(case)
        elif all(collector.outcomes[n] == "passed" for n in nodes):
            passed.append(case)
        else:
            failed.append(case)

    print()
    print(
        f"Fault catalogue ({CATALOGUE.name}): {len(cases)} cases, "
        f"{sum(len(v) for v in by_case.values())} tests, {elapsed:.0f}s"
    )
    for case in failed:
        bad = [n for n in by_case[case] if collector.outcomes[n] != "passed"]
        for n in bad:
            reason = collector.reasons.get(n)
            print(
                f"  FAILED {case} ({cases[case]}): {n} [{collector.outcomes[n]}]"
                + (f" - {reason}" if reason else "")
            )
    if args.verbose:
        for case in passed:
            print(f"  passed {case} ({cases[case]}): {len(by_case[case])} test(s)")
    # A0/B0 are the control sources of the crawl-based modules, not catalogue cases.
    unknown = sorted(c for c in set(by_case) - set(cases) if not c.endswith("0"))
    if unknown:
        print(f"  tests name unknown case ids: {', '.join(unknown)}")
    print(f"{len(passed)} passed, {len(failed)} failed")
    print(f"not covered: {', '.join(uncovered) if uncovered else 'none'}")
    return 0 if not failed and not uncovered else 1


if __name__ == "__main__":
    sys.exit(main())
