"""The repository carries everything it needs: no file refers to a path outside the checkout (a sibling
`shared/` folder, parent folders, a developer's home), so a plain clone runs `make run` and `make test`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {
    ".git",
    ".venv",
    "var",
    "build",
    "dist",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "test-artifacts",
    ".notes",
}
SIBLING = ".." + "/shared"  # spelled in two pieces so that this file does not flag itself
RELATIVE = re.compile(r"(?<![\w.%])((?:\.\./)+[\w\-./]*)")
FILE_ANCHOR = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?(?:\.parents\[(\d+)\]|((?:\.parent)+))")
HOME_PATH = re.compile(r"""["'`(\s](/(?:home|Users|root|mnt)/[^\s"'`)]+)""")


def repository_files(root: Path) -> Iterator[Path]:
    """Every file of the checkout, without virtualenvs, caches and run-time output."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            yield Path(folder) / name


def outside_references(root: Path) -> list[str]:
    """`path:line: reference` for every reference that leaves `root`."""
    root = root.resolve()
    found: list[str] = []
    for path in repository_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files refer to nothing
        rel = path.relative_to(root)
        depth = len(rel.parts) - 1  # folders between the file and the root
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{rel}:{number}"
            if SIBLING in line:
                found.append(f"{where}: {SIBLING}")
            for match in RELATIVE.finditer(line):
                target = os.path.normpath(os.path.join(root, rel.parent, match.group(1)))
                if not (target == str(root) or target.startswith(str(root) + os.sep)):
                    found.append(f"{where}: {match.group(1)}")
            for match in FILE_ANCHOR.finditer(line):
                up = int(match.group(1)) + 1 if match.group(1) else match.group(2).count(".parent")
                if up > depth + 1:  # up == depth + 1 is the root itself
                    found.append(f"{where}: {match.group(0)} leaves the repository")
            found.extend(f"{where}: {m.group(1)}" for m in HOME_PATH.finditer(line))
    return found


def test_no_file_refers_to_a_path_outside_the_repository():
    assert outside_references(ROOT) == []


HOME_EXAMPLE = "/" + "home/someone/data.csv"  # in pieces, like SIBLING


def test_the_check_catches_each_kind_of_outside_reference(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "app" / "ok.py").write_text(
        'REPO = Path(__file__).resolve().parent.parent\nDATA = REPO / "data"\nLINK = "../docs/x.md"\n',
        encoding="utf-8",
    )
    (tmp_path / "docs" / "ok.md").write_text("see [the readme](../README.md)\n", encoding="utf-8")
    (tmp_path / "app" / "bad.py").write_text(
        f'DATA = "{SIBLING}/data"\n'
        "UP = Path(__file__).resolve().parents[2]\n"
        'OTHER = "../../elsewhere/file.csv"\n'
        f'HOME = open("{HOME_EXAMPLE}")\n',
        encoding="utf-8",
    )
    (tmp_path / "Makefile").write_text(f"demo:\n\tcp -r {SIBLING}/data .\n", encoding="utf-8")
    found = outside_references(tmp_path)
    assert [":".join(f.split(":")[:2]) for f in found] == [
        "Makefile:2",
        "Makefile:2",
        "app/bad.py:1",
        "app/bad.py:2",
        "app/bad.py:3",
        "app/bad.py:4",
    ], found
