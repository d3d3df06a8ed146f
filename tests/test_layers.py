"""The layout's arrows, checked: the web side calls the public API only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "rssmania"
# What the web reader may use: the public read API, its types and errors, discovery.
PUBLIC = {"rssmania", "rssmania.types", "rssmania.exceptions", "rssmania.library",
          "rssmania.discovery"}  # fmt: skip


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] == "rssmania"}


def test_the_web_reader_uses_the_public_api_only() -> None:
    modules = sorted((PACKAGE / "web").rglob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        outside = {n for n in imported(module) if not n.startswith("rssmania.web")} - PUBLIC
        assert not outside, f"{module.name} imports {sorted(outside)}"


def test_the_read_side_does_not_import_the_poll_side() -> None:
    # A web process imports the Library: not the coordinator, the executors or the workers.
    for name in ("library.py", "accounts.py"):
        found = imported(PACKAGE / name)
        assert not {n for n in found if n.startswith(("rssmania.core", "rssmania._coordinator",
                    "rssmania._executors", "rssmania._round", "rssmania._dask"))}, name  # fmt: skip
