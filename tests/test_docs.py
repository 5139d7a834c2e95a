"""The README's lists (commands, sources, settings) match the code, so the docs cannot drift."""

from __future__ import annotations

import re

from cityfeeds.cli import COMMANDS, build_parser, command_modules
from crawler.config import (
    CrawlSpec,
    GeneralSpec,
    ListingSpec,
    ScheduleSpec,
    SourceSpec,
    StoriesSpec,
    WebSubSpec,
    load_config,
)
from crawler.topics.spec import TopicSpec
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(name: str) -> str:
    match = re.search(rf"<!-- {name}:.*?-->(.*?)<!-- /{name} -->", README, re.S)
    assert match, f"README has no <!-- {name} --> section"
    return match.group(1)


def test_every_command_is_documented_and_every_documented_command_exists() -> None:
    documented = set(re.findall(r"^\| `cityfeeds (\w+)", _section("commands"), re.M))
    actual = {m.NAME for m in command_modules()}
    assert documented == actual


def test_every_command_has_help() -> None:
    parser = build_parser()
    for module in command_modules():
        assert COMMANDS[module.NAME] and len(COMMANDS[module.NAME]) < 100, module.NAME
        assert parser.parse_args([module.NAME, *_required_args(module.NAME)]).command == module.NAME


def _required_args(name: str) -> list[str]:
    return {
        "extract": ["page.html"],
        "classify": ["--title", "x"],
        "record": ["https://example.org/", "--source", "x"],
    }.get(name, [])


def test_every_shipped_source_is_documented() -> None:
    documented = re.findall(r"^\| `([\w-]+)` \|", _section("sources"), re.M)
    assert documented == [s.name for s in load_config(ROOT / "cityfeeds.toml").sources]


def test_every_setting_is_documented() -> None:
    section = _section("settings")
    models = (
        GeneralSpec,
        CrawlSpec,
        ScheduleSpec,
        StoriesSpec,
        WebSubSpec,
        SourceSpec,
        ListingSpec,
        TopicSpec,
    )
    for model in models:
        for field in model.model_fields:
            assert f"`{field}`" in section, f"{model.__name__}.{field} is not in the README"


def test_pip_install_commands_install_the_clone_with_existing_extras() -> None:
    """cityfeeds is not on PyPI: `pip install 'cityfeeds[postgres]'` fails; install the clone."""
    import shlex
    import tomllib

    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "optional-dependencies"
        ]
    )
    docs = [ROOT / "README.md", ROOT / "Dockerfile", *sorted((ROOT / "docs").glob("*.md"))]
    commands = [
        (path.name, line)
        for path in docs
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\bpip install\b", line)
    ]
    assert len(commands) >= 5
    for name, line in commands:
        words = shlex.split(line.split("pip install", 1)[1].split("&&")[0], comments=True)
        targets = [w for w in words if not w.startswith("-")]
        assert targets, (name, line)
        for target in targets:
            path, _, extra = target.partition("[")
            assert path == "." or path.startswith(("/", "./")), (name, line)
            assert set(filter(None, extra.rstrip("]").split(","))) <= extras, (name, line)
