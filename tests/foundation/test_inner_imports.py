"""Imports belong at the top of a module, where the import graph (and `lint-imports`) sees them. An import
inside a function is allowed only for a stated reason (a heavy engine loaded on first use …): fewer than
ten in `app/`, each with a comment on its line or the line above."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
LIMIT = 10


@dataclass(frozen=True)
class InnerImport:
    path: str
    line: int
    function: str
    explained: bool


def inner_imports(source: str, path: str) -> list[InnerImport]:
    """Every `import` / `from … import` inside a function (at any depth) of one module's source."""
    lines = source.splitlines()
    found: dict[int, InnerImport] = {}
    # Breadth first: an import is seen under each enclosing function, the innermost last (and kept).
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                here = lines[node.lineno - 1]
                above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                explained = "#" in here or above.startswith("#")
                found[node.lineno] = InnerImport(path, node.lineno, function.name, explained)
    return sorted(found.values(), key=lambda i: i.line)


def app_inner_imports() -> list[InnerImport]:
    out: list[InnerImport] = []
    for file in sorted(APP.rglob("*.py")):
        path = file.relative_to(APP).as_posix()
        out.extend(inner_imports(file.read_text(encoding="utf-8"), path))
    return out


def test_fewer_than_ten_imports_inside_functions_in_app():
    found = app_inner_imports()
    listing = "\n".join(f"app/{i.path}:{i.line} in {i.function}()" for i in found)
    assert len(found) < LIMIT, f"{len(found)} imports inside functions (limit {LIMIT - 1}):\n{listing}"


def test_every_import_inside_a_function_says_why():
    unexplained = [f"app/{i.path}:{i.line} in {i.function}()" for i in app_inner_imports() if not i.explained]
    assert not unexplained, "imports inside functions without a comment saying why:\n" + "\n".join(
        unexplained
    )


def test_the_walk_finds_nested_and_unexplained_imports():
    source = (
        "import os\n"
        "def f():\n"
        "    import json\n"
        "    def g():\n"
        "        # the engine loads on first use\n"
        "        from kb import index\n"
        "    async def h():\n"
        "        import re  # why\n"
        "class C:\n"
        "    def m(self):\n"
        "        import csv\n"
    )
    found = inner_imports(source, "x.py")
    assert [(i.line, i.function, i.explained) for i in found] == [
        (3, "f", False),
        (6, "g", True),
        (8, "h", True),
        (11, "m", False),
    ]
