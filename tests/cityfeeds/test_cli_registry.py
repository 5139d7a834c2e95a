"""The command registry of ``cityfeeds.cli``: complete, and the only lazy import of the CLI."""

from __future__ import annotations

import pkgutil

import pytest
from fresh_interpreter import modules_loaded

import cityfeeds.commands
from cityfeeds.cli import COMMANDS, command_module, command_named


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
