"""The command registry of ``cityfeeds.cli``: complete, and the only lazy import of the CLI."""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path

import pytest
from fresh_interpreter import modules_loaded

import cityfeeds.commands
from cityfeeds.cli import COMMANDS, command_module, command_named, main


def test_registry_lists_every_command_module() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(cityfeeds.commands.__path__)
        if not info.name.startswith("_")
    }
    assert set(COMMANDS) == modules
    for name in COMMANDS:
        module = command_module(name)
        assert module.NAME == name
        assert callable(module.run) and callable(module.add_arguments)


def test_help_imports_no_command_module() -> None:
    code = (
        "from cityfeeds.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    names = [f"cityfeeds.commands.{name}" for name in COMMANDS] + ["crawler.runner"]
    assert modules_loaded(code, names) == []


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["crawl", "a"], "crawl"),
        (["--config", "crawl", "status"], "status"),
        (["--config=x.toml", "-vv", "feeds", "--retag"], "feeds"),
        (["-v"], ""),
        (["--help"], ""),
    ],
)
def test_command_named_skips_global_options(argv: list[str], name: str) -> None:
    assert command_named(argv) == name


def test_a_missing_optional_extra_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `pip install -e .` without [redis]: the distributed commands once ended in a traceback.
    monkeypatch.setitem(sys.modules, "scrapy_redis", None)  # "import scrapy_redis" now fails
    monkeypatch.delitem(sys.modules, "scrapy_redis.connection", raising=False)
    monkeypatch.delitem(sys.modules, "scrapy_redis.queue", raising=False)
    monkeypatch.delitem(sys.modules, "cityfeeds.distributed", raising=False)
    config = tmp_path / "cityfeeds.toml"
    config.write_text(
        f'[cityfeeds]\ndatabase_url = "sqlite:///{tmp_path}/c.db"\n[[sources]]\nname = "a"\n'
        'title = "A"\nurl = "https://a.example/"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "enqueue", "--redis-url", "redis://127.0.0.1:1/0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "optional package 'scrapy_redis'" in err and "pip install -e '.[redis]'" in err
