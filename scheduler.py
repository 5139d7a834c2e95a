"""The service entry point: ``python scheduler.py [--config FILE] [-v] [run options]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cityfeeds.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service; the same as ``cityfeeds [--config FILE] run [options]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    # The global options (--config, -v) go before the subcommand name.
    head: list[str] = []
    while args and (args[0] in ("-v", "-vv", "--verbose") or args[0].startswith("--config")):
        head.append(args.pop(0))
        if head[-1] == "--config" and args:
            head.append(args.pop(0))
    return cli_main([*head, "run", *args])


if __name__ == "__main__":
    sys.exit(main())
