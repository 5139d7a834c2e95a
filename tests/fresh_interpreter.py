"""Which modules a piece of code loads, seen from a fresh interpreter (tests of import costs)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable


def modules_loaded(code: str, names: Iterable[str]) -> list[str]:
    """Those of ``names`` in ``sys.modules`` after running ``code`` in a new Python process."""
    wanted = list(names)
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {wanted!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1]))
