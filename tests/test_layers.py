"""The layers hold (docs/architecture.md): the import-linter contracts in `.importlinter` are kept,
they cover every package, and every module in ui/ is a Streamlit module (what is neutral lives in
present/, so the deck and the pages share it without Streamlit)."""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
NOT_PRODUCT = {"tests", "bench"}  # checked code, but no layer of the product
STREAMLIT = {"streamlit"}


def imported_roots(path: Path) -> set[str]:
    """The top-level names a module imports."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report


def test_the_contracts_cover_every_package() -> None:
    config = configparser.ConfigParser()
    config.read(CONFIG)
    checked = set(config["importlinter"]["root_packages"].split())
    packages = {p.parent.name for p in ROOT.glob("*/*.py") if not p.parent.name.startswith(".")} - NOT_PRODUCT
    assert packages == checked


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "ui").glob("*.py") if p.name != "__init__.py"))
def test_every_ui_module_is_a_streamlit_module(module: str) -> None:
    assert imported_roots(ROOT / "ui" / module) & STREAMLIT, f"ui/{module} has no Streamlit: move it to present/"


def test_every_file_docs_architecture_names_exists() -> None:
    """The "where is it" table stays true: a moved or renamed file fails here."""
    named = set(re.findall(r"`([\w/.*]+\.(?:py|toml))(?:::\w+)?`", (ROOT / "docs" / "architecture.md").read_text()))
    assert len(named) > 30
    missing = sorted(path for path in named if not list(ROOT.glob(path)))
    assert not missing
