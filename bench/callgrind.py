"""Running a benchmark script under callgrind, one dump per ``os.getppid()`` marker.

The instruction-counting benchmarks (``feeds_callgrind.py``, ``worker_callgrind.py``, ...) run
themselves again with ``--inner`` under ``valgrind --tool=callgrind --dump-before=getppid``:
each ``os.getppid()`` call in the inner run starts a new dump, so each marked stretch of work
is counted apart from start-up. This module runs that and reads the dumps' totals.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def instructions(dump: Path) -> int:
    """The instruction total of one callgrind dump."""
    text = dump.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if found is None:
        raise SystemExit(f"no instruction total in {dump}")
    return int(found.group(1))


def run_dumps(
    script: str,
    args: Sequence[str],
    *,
    keep: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> list[int]:
    """Instructions of each dump, in order, of ``python script --inner ARGS`` under callgrind
    (dump 1: start-up up to the first marker). ``keep``: a folder to copy the dumps to, for
    ``callgrind_annotate``."""
    out = Path(tempfile.mkdtemp(prefix="cityfeeds-callgrind-"))
    try:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            script,
            "--inner",
            *args,
        ]
        environment = None if env is None else {**os.environ, **env}
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL, env=environment)
        dumps = sorted(out.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for dump in out.iterdir():
                shutil.copy2(dump, keep / dump.name)
        return [instructions(d) for d in dumps]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def add_page_options(parser: argparse.ArgumentParser, unit: str) -> None:
    """The options of a benchmark that runs bench-site ``unit`` ("pages", "articles") under
    callgrind or cProfile: how many, how many first to warm up, where to keep the dumps."""
    parser.add_argument("--pages", type=int, default=50, help=f"{unit} measured (default 50)")
    parser.add_argument("--warm", type=int, default=10, help=f"{unit} run first, not measured")
    parser.add_argument("--keep", type=Path, help="keep callgrind's dumps in this folder")
    parser.add_argument("--profile", action="store_true", help="cProfile instead of callgrind")
    parser.add_argument("--top", type=int, default=40, help="--profile: functions listed")
