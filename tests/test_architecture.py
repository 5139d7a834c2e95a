"""The architecture holds: import-linter's contracts (pyproject ``[tool.importlinter]``) are kept,
and no project import hides inside a function body except the few listed here with a reason.

An allowed entry that no longer occurs fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

#: Project imports allowed inside a function body: (file, imported module) -> why.
FUNCTION_IMPORTS: dict[tuple[str, str], str] = {
    ("cityfeeds/cli.py", "crawler.config"): (
        "imported inside main's Ctrl-C guard: an interrupt while it loads is one line, not a"
        " traceback"
    ),
    ("cityfeeds/cli.py", "crawler.storage"): (
        "imported inside main's Ctrl-C guard (SQLAlchemy takes a good part of the start-up)"
    ),
    ("cityfeeds/commands/enqueue.py", "cityfeeds.distributed"): "needs the optional redis extra",
    ("cityfeeds/commands/run.py", "cityfeeds.distributed"): "needs the optional redis extra",
    ("cityfeeds/commands/worker.py", "cityfeeds.distributed"): "needs the optional redis extra",
    ("crawler/extraction/__init__.py", "crawler.extraction.core"): (
        "lxml and trafilatura load on the first extraction, not on importing the package"
    ),
    ("crawler/stories/index.py", "crawler.stories"): (
        "the MinHash sketches and numpy load where stories are assigned, not in every process"
        " that opens the store"
    ),
    ("crawler/workpool.py", "crawler.extraction.core"): (
        "warms a pool worker up: the import is the point (side effect)"
    ),
}
PROJECT = ("crawler", "feeds", "cityfeeds", "scheduler")
SOURCES = ("crawler", "feeds", "cityfeeds", "scheduler.py")


def test_import_contracts_are_kept() -> None:
    # In a fresh interpreter: after an in-process crawl, zope.interface (via Twisted) leaves
    # attributes on classes that import-linter's option check trips over.
    code = (
        "from importlinter.cli import lint_imports\n"
        f"raise SystemExit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r},"
        " no_cache=True, no_logo=True))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def function_body_imports() -> set[tuple[str, str]]:
    """(file, module) of every project import inside a function body."""
    found = set()
    for base in SOURCES:
        root = ROOT / base
        for path in [root] if root.suffix == ".py" else sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for func in ast.walk(tree):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(func):
                    names = []
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        names = [node.module]
                    for name in names:
                        if name.split(".")[0] in PROJECT:
                            found.add((path.relative_to(ROOT).as_posix(), name))
    return found


def test_no_project_import_inside_a_function_body() -> None:
    found = function_body_imports()
    allowed = set(FUNCTION_IMPORTS)
    assert sorted(found - allowed) == [], "move these imports to the top of the module"


def test_allowed_function_imports_still_exist() -> None:
    found = function_body_imports()
    stale = sorted(set(FUNCTION_IMPORTS) - found)
    assert stale == [], "no longer imported in a function: delete from the allowlist"
