"""The service finds its demo data: HUIYING_DEMO_DATA first, then the checkout's data/, then the copy a
non-editable install puts under <prefix>/share/huiying/data (every data file is declared for it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from app import demo

ROOT = Path(__file__).resolve().parents[2]


def test_every_data_file_is_installed_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["tool"]["setuptools"]["data-files"]
    for path in (ROOT / "data").rglob("*"):
        if path.is_file():
            rel = path.relative_to(ROOT)
            target = "share/huiying/" + rel.parent.as_posix()
            assert any(rel.match(p) for p in declared.get(target, [])), f"{rel} is not installed"


def test_data_folder_order(tmp_path, monkeypatch):
    installed = tmp_path / "prefix" / "share" / "huiying" / "data"
    installed.mkdir(parents=True)
    checkout = tmp_path / "checkout"
    monkeypatch.delenv("HUIYING_DEMO_DATA", raising=False)
    monkeypatch.setattr(demo, "INSTALLED_DATA", installed)
    monkeypatch.setattr(demo, "REPO", checkout)
    assert demo.default_data_dir() == installed  # no checkout: the installed copy
    (checkout / "data").mkdir(parents=True)
    assert demo.default_data_dir() == checkout / "data"  # a checkout wins
    monkeypatch.setenv("HUIYING_DEMO_DATA", str(tmp_path / "elsewhere"))
    assert demo.default_data_dir() == tmp_path / "elsewhere"  # and the setting wins over both


def test_the_checkout_data_is_found_here(monkeypatch):
    monkeypatch.delenv("HUIYING_DEMO_DATA", raising=False)
    assert (demo.default_data_dir() / "dev_eval.json").is_file()
