from __future__ import annotations

from pathlib import Path

import pytest

from tests import synthetic


@pytest.fixture
def warehouse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty warehouse file that every module under test uses (via CALLBOARD_DB)."""
    path = tmp_path / "callboard.duckdb"
    monkeypatch.setenv("CALLBOARD_DB", str(path))
    return path


@pytest.fixture
def synthetic_warehouse(warehouse_file: Path) -> Path:
    """A small random warehouse written straight into the tables."""
    synthetic.build(warehouse_file)
    return warehouse_file
