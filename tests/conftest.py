from __future__ import annotations

import shutil
import time
import types
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from playwright.sync_api import Browser

from data import demo
from tests import synthetic
from tests.served_app import chromium

DEMO_CALLS = 3_000


@pytest.fixture(autouse=True)
def no_api_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach a real provider: keys from the environment or a secrets file are hidden;
    tests that exercise a provider set a fake key and a mocked HTTP transport themselves."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr("judges.providers.SECRETS_PATH", tmp_path / "no-secrets.toml")


@pytest.fixture(autouse=True)
def sdk_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the anthropic and openai SDKs choose between retries, recorded instead of slept, so
    no test waits for real. The SDKs have no setting for their backoff, so the `time` module their
    retry loops see is a copy whose `sleep` only records."""
    sleeps: list[float] = []
    clock = types.ModuleType("time")
    clock.__dict__.update(vars(time))
    clock.sleep = sleeps.append  # type: ignore[attr-defined]
    monkeypatch.setattr(anthropic._base_client, "time", clock)
    monkeypatch.setattr(openai._base_client, "time", clock)
    return sleeps


@pytest.fixture
def warehouse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty warehouse file that every module under test uses (via CALLBOARD_DB)."""
    path = tmp_path / "callboard.duckdb"
    monkeypatch.setenv("CALLBOARD_DB", str(path))
    return path


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic warehouse, built once per session; tests read or change copies of it."""
    path = tmp_path_factory.mktemp("synthetic") / "callboard.duckdb"
    synthetic.build(path)
    return path


@pytest.fixture
def synthetic_warehouse(synthetic_template: Path, warehouse_file: Path) -> Path:
    """A small random warehouse written straight into the tables: this test's own copy."""
    shutil.copyfile(synthetic_template, warehouse_file)
    return warehouse_file


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo warehouse built once per test session by the real pipeline (generator, ingest,
    rules judge), and the folder of generated files it was built from."""
    folder = tmp_path_factory.mktemp("demo")
    db, files = folder / "callboard.duckdb", folder / "files"
    demo.build(db, calls=DEMO_CALLS, files_dir=files)
    return db, files


@pytest.fixture
def demo_warehouse(demo_build: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's demo warehouse, selected through CALLBOARD_DB."""
    monkeypatch.setenv("CALLBOARD_DB", str(demo_build[0]))
    return demo_build[0]


@pytest.fixture
def demo_warehouse_copy(demo_build: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's demo warehouse, selected through CALLBOARD_DB, for a test that writes."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_build[0], path)
    monkeypatch.setenv("CALLBOARD_DB", str(path))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright, for one module's browser tests."""
    with chromium() as launched:
        yield launched
