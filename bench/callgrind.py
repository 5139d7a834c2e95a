"""Running a benchmark script under callgrind, one dump per ``os.getppid()`` marker.

The instruction-counting benchmarks (``feeds_callgrind.py``, ``worker_callgrind.py``) run
themselves again with ``--inner`` under ``valgrind --tool=callgrind --dump-before=getppid``:
each ``os.getppid()`` call in the inner run starts a new dump, so each marked stretch of work
is counted apart from start-up. This module runs that and reads the dumps' totals.
"""

from __future__ import annotations

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
