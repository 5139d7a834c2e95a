"""The deployment files and docs/deploy.md agree with the CLI they run."""

from __future__ import annotations

import json
import re
import shlex

from cityfeeds.cli import build_parser
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def _run_options() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    run = sub.choices["run"]  # type: ignore[attr-defined]
    return [
        opt
        for a in run._actions
        for opt in a.option_strings
        if opt.startswith("--") and opt != "--help"
    ]


def test_docs_name_every_run_option() -> None:
    for option in _run_options():
        assert option in DOC, f"docs/deploy.md does not mention {option}"


def test_crontab_lines_are_documented_verbatim() -> None:
    lines = [
        line
        for line in (ROOT / "deploy" / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert any("cityfeeds crawl" in line for line in lines)
    for line in lines:
        assert line in DOC


def test_systemd_unit_runs_a_valid_command_and_outlasts_the_grace() -> None:
    unit = (ROOT / "deploy" / "cityfeeds.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert exec_start is not None
    argv = shlex.split(exec_start.group(1))
    assert argv[0].endswith("/cityfeeds")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))  # type: ignore[union-attr]
    assert stop > args.grace
    assert re.search(r"^KillMode=mixed$", unit, re.M)
    assert "RestartPreventExitStatus=2 3" in unit


def test_docker_files_run_a_valid_command_and_outlast_the_grace() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.+\])$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    args = build_parser().parse_args(cmd[1:])
    assert cmd[0] == "cityfeeds" and args.command == "run" and args.host == "0.0.0.0"
    compose = (ROOT / "docker-compose.yml").read_text()
    grace = int(re.search(r"stop_grace_period: (\d+)s", compose).group(1))  # type: ignore[union-attr]
    assert grace > args.grace
    assert "init: true" in compose and "CITYFEEDS_DATABASE_URL: postgresql+psycopg://" in compose
