"""The deployment files and docs/deploy.md agree with the CLI they run."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

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
        # The global options repeated after the command are hidden: documented once, globally.
        if opt.startswith("--") and opt != "--help" and a.help != argparse.SUPPRESS
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


def test_crontab_line_runs_in_a_fresh_checkout_without_data(tmp_path: Path) -> None:
    """The shell opens data/crawl.log before cityfeeds runs: the line must create data/ itself."""
    if shutil.which("flock") is None:
        pytest.skip("flock (util-linux) is not installed")
    [line] = [
        line
        for line in (ROOT / "deploy" / "crontab").read_text().splitlines()
        if "cityfeeds crawl" in line and not line.startswith("#")
    ]
    command = line.split(None, 5)[5].replace("/srv/cityfeeds", shlex.quote(str(tmp_path)))
    stub = tmp_path / ".venv" / "bin" / "cityfeeds"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/bin/sh\necho "ran: $*"\n')
    stub.chmod(0o755)
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "crawl.log").read_text() == "ran: crawl --quiet\n"


def _nginx_block() -> str:
    doc = (ROOT / "docs" / "nginx.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```nginx\n(.*?)```", doc, re.S)
    return block


def test_nginx_types_block_stays_inside_the_feeds_server() -> None:
    """A types block at http level would replace the MIME map of every site on that nginx."""
    depth = 0
    for line in _nginx_block().splitlines():
        code = line.split("#", 1)[0]
        if re.match(r"\s*types\s*\{", code):
            assert depth >= 1, "types {} must sit inside server {} or location {}"
        depth += code.count("{") - code.count("}")
    assert "types {" in _nginx_block()


def test_nginx_config_passes_nginx_t_without_warnings(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("CI"):  # .ci/run installs it: never pass CI by skipping
            pytest.fail("nginx is not installed (.ci/run installs Debian's nginx)")
        pytest.skip("nginx is not installed")
    # Another site on the same nginx, with the stock MIME map: the doc's block must not warn.
    server = _nginx_block().replace("listen 443 ssl;", "listen 127.0.0.1:18443;")
    server = server.replace("/srv/cityfeeds/output", str(tmp_path / "output"))
    mime = next((p for p in ("/etc/nginx/mime.types",) if Path(p).exists()), None)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        + (f"    include {mime};\n" if mime else "")
        + "    server { listen 127.0.0.1:18444; root "
        + str(tmp_path)
        + "; }\n"
        + server
        + "}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "[warn]" not in done.stderr, done.stderr
