"""The storage package stays a low layer: it imports only pure crawler modules, never Scrapy."""

from __future__ import annotations

import ast
from pathlib import Path

from fresh_interpreter import modules_loaded

import crawler.storage

STORAGE = Path(crawler.storage.__file__).parent
# What storage may build on: the pure data classes, URL normalization, the pure story
# clustering library (whose fingerprints and index the story area persists), the rule that
# judges a finished run (applied to runs queued for workers as their figures come in), the
# rule that tells whether a page's canonical claim on another URL stands, and itself.
ALLOWED = (
    "crawler.models",
    "crawler.canonical",
    "crawler.normalize",
    "crawler.stories",
    "crawler.run_states",
    "crawler.storage",
)
PROJECT = ("crawler", "feeds", "cityfeeds", "scheduler")
FORBIDDEN_LIBRARIES = ("scrapy", "twisted", "feedgen")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def test_storage_imports_only_pure_modules() -> None:
    modules = sorted(STORAGE.glob("*.py"))
    assert len(modules) > 5  # the package was found, split by area
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN_LIBRARIES, f"{path.name} imports {name}"
            if top in PROJECT:
                assert name.startswith(ALLOWED), f"{path.name} imports {name}"


def test_opening_the_store_does_not_load_the_story_index_libraries() -> None:
    # numpy (~12 MiB) and the MinHash sketches: only a process that assigns stories pays for
    # them, not `cityfeeds status` or the parent of every crawl (which waits for minutes).
    code = "import cityfeeds.commands.crawl, cityfeeds.commands.status, crawler.storage"
    heavy = ("datasketch", "scipy", "numpy", "crawler.stories.sketch")
    assert modules_loaded(code, heavy) == []
