"""The README's lists (commands, sources, settings) match the code, so the docs cannot drift."""

from __future__ import annotations

import argparse
import re

import pytest

from cityfeeds.cli import COMMANDS, build_parser, command_modules
from crawler.config import (
    CrawlSpec,
    GeneralSpec,
    ListingSpec,
    RetentionSpec,
    ScheduleSpec,
    SourceSpec,
    StoriesSpec,
    WebSubSpec,
    load_config,
)
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import LANGUAGES, LANGUAGES_HELP, TopicSpec
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


def test_every_option_of_every_command_is_in_the_commands_table() -> None:
    """Each option (but the global ones) is in its command's rows of the README's table."""
    table = _section("commands")
    for name, options in _options(build_parser()).items():
        rows = "\n".join(r for r in table.splitlines() if r.startswith(f"| `cityfeeds {name} "))
        assert rows, name
        missing = [o for o in options if not re.search(rf"{re.escape(o)}\b", rows)]
        assert not missing, f"cityfeeds {name}: {missing} not in the README's commands table"


def _options(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, list[str]]:
    """Each (sub)command's own long options, by command (``sources draft`` included)."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{prefix}{name}"] = [
                    option
                    for sub_action in sub._actions
                    if not isinstance(sub_action, argparse._SubParsersAction)
                    for option in sub_action.option_strings
                    if option.startswith("--") and option not in GLOBAL_OPTIONS
                ]
                found.update(_options(sub, f"{prefix}{name} "))
    return found


GLOBAL_OPTIONS = {"--help", "--config", "--verbose"}


def test_status_help_and_deploy_docs_name_every_health_state() -> None:
    from cityfeeds.commands.status import DESCRIPTION, HEALTH_STATES

    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for state in HEALTH_STATES:
        assert re.search(rf"\b{state}\b", DESCRIPTION), state
        assert f"* **{state}**" in deploy, state
        assert f"**{state}**" in README, state


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
        RetentionSpec,
        SourceSpec,
        ListingSpec,
        TopicSpec,
    )
    for model in models:
        for field in model.model_fields:
            assert f"`{field}`" in section, f"{model.__name__}.{field} is not in the README"


#: Each config table's heading in the README's settings list.
TABLE_HEADINGS = {
    GeneralSpec: "[cityfeeds]",
    CrawlSpec: "[crawl]",
    ScheduleSpec: "[schedule]",
    StoriesSpec: "[stories]",
    WebSubSpec: "[websub]",
    RetentionSpec: "[retention]",
    SourceSpec: "[[sources]]",
    ListingSpec: "[[sources]]",
    TopicSpec: "[[topics]]",
}
#: Bounds a reader expects without being told: not negative, at least one, a valid port.
OBVIOUS_BOUNDS = {("ge", 0), ("ge", 1), ("gt", 0), ("le", 65535)}


def test_every_setting_bound_is_documented() -> None:
    """A limit the config enforces (``run_timeout`` at least 10) is written beside the key."""
    import annotated_types

    section = _section("settings")
    for model, heading in TABLE_HEADINGS.items():
        table = section.split(f"**`{heading}`**", 1)[1].split("\n**`", 1)[0]
        for name, field in model.model_fields.items():
            for bound in field.metadata:
                if not isinstance(bound, annotated_types.BaseMetadata):
                    continue
                for kind in ("ge", "gt", "le", "lt"):
                    value = getattr(bound, kind, None)
                    if value is None or (kind, value) in OBVIOUS_BOUNDS:
                        continue
                    lines = [ln for ln in table.splitlines() if f"`{name}`" in ln]
                    number = f"{value:,}" if value >= 10_000 else f"{value:g}"
                    assert any(
                        re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d,])", ln) for ln in lines
                    ), f"{heading} {name}: its bound {kind} {value} is not in the README"


def test_lxml_html_clean_is_a_direct_dependency_and_imports() -> None:
    """jusText (trafilatura) imports lxml.html.clean, split out of lxml into lxml_html_clean;
    pip does not install it through jusText's ``lxml[html_clean]`` when lxml names the extra
    ``html-clean`` and pip is older than 23.3, so cityfeeds depends on it itself."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
    assert any(re.match(r"lxml[_-]html[_-]clean\b", d) for d in deps)
    assert not any("[html_clean]" in d or "[html-clean]" in d for d in deps)
    import justext  # noqa: F401  (it imports lxml.html.clean)
    import lxml.html.clean  # noqa: F401


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
        targets = [w for w in words if not w.startswith("-") and w != "pip"]  # -U pip
        assert targets or "-U pip" in line, (name, line)
        for target in targets:
            path, _, extra = target.partition("[")
            assert path == "." or path.startswith(("/", "./")), (name, line)
            assert set(filter(None, extra.rstrip("]").split(","))) <= extras, (name, line)


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    # CI must test what a user runs: the README's second command, character for character.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(
        line
        for line in readme.splitlines()
        if line.startswith("python3 -m venv .venv") and line.endswith("-m pytest")
    )
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_topic_languages_are_listed_and_the_error_points_to_them() -> None:
    section = _section("settings").split("**`[[topics]]`**", 1)[1]
    entry = next(line for line in section.splitlines() if "`languages`" in line)
    for language in sorted(LANGUAGES):
        assert f'`"{language}"`' in entry, language
    with pytest.raises(ValueError) as err:
        TopicSpec.model_validate(
            {"id": "t", "title": "T", "languages": ["de"], "include": {"a": 1}}
        )
    message = str(err.value)
    assert "language 'de' not one of ['en', 'ru']" in message and LANGUAGES_HELP in message
    assert "[[topics]]" in message and "**`[[topics]]`**" in README
    assert "`Straßenbahn*`" in entry + section


@pytest.mark.parametrize(
    ("term", "title", "matches"),
    [
        ("велобайк", "Велобайки появятся в каждом парке", True),  # Russian: all its forms
        ("closure", "Road closures announced", True),  # English: regular forms (Snowball)
        ("close", "Closing the bridge", True),
        ("child", "Children play in the new park", False),  # ... not irregular ones
        ("Straßenbahn", "Neue Straßenbahnen fahren", False),  # other languages: as written
        ("Straßenbahn*", "Neue Straßenbahnen fahren", True),
        ("Straßenbahn*", "Die Straßenbahnlinie 7 fährt", True),
        ("Stadt*", "Städte wachsen", False),
    ],
)
def test_what_the_readme_says_about_matching_per_language(
    term: str, title: str, matches: bool
) -> None:
    assert f"`{term}`" in _section("settings")
    engine = TopicEngine(
        [TopicSpec.model_validate({"id": "t", "title": "T", "include": {term: 3}})]
    )
    assert bool(engine.classify(title=title)) is matches
