from __future__ import annotations

import fcntl
import functools
import os
import shutil
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from playwright.sync_api import Browser
from streamlit.components.v2 import manifest_scanner

from data import audio, demo
from tests import synthetic
from tests.served_app import chromium

DEMO_CALLS = 3_000
RECORDED_DAYS = 7  # a week: every call the review draws by default has a recording


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files that drive Chromium or start a Spark JVM run first. `make test` hands each file whole to
    one of three pytest-xdist workers in this order (`--no-loadscope-reorder`): a long file started
    last would leave the others idle at the end."""
    slow = {item.path for item in items if item.get_closest_marker("browser") or "spark" in item.fixturenames}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(autouse=True, scope="session")
def components_scanned_once() -> Iterator[None]:
    """Every AppTest, on its first run, reads the metadata of every installed package to find
    Streamlit components: 0.1 s of CPU each, and the suite makes about 120 AppTests. No package is
    installed during a run, so each worker scans once and every AppTest registers what that scan found."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests",
                      functools.cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture(autouse=True)
def no_api_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach a real provider: keys from the environment or a secrets file are hidden;
    tests that exercise a provider set a fake key and a mocked HTTP transport themselves."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr("judges.providers.SECRETS_PATH", tmp_path / "no-secrets.toml")


@pytest.fixture(autouse=True)
def main_module_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's AppTest leaves its temporary page script in `sys.modules["__main__"]`; a process
    started later with multiprocessing's spawn (the receiver's loader) would then run that script
    and die. Each test gets the real `__main__` back afterwards."""
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])


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


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder `build` filled, built once per run: under pytest-xdist (`make test` runs three workers)
    the first worker to ask builds it in the run's shared folder while the others wait on a file lock,
    then all of them read it. A warehouse in it is opened by no test: each worker takes its own copy,
    since DuckDB lets only one process open a file that any process writes."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / name  # the controller's folder for this run
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.with_suffix(".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            folder.with_suffix(".built").touch()
    return folder


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic warehouse, built once per run; tests read or change copies of it."""
    return built_once(tmp_path_factory, "synthetic", lambda folder: synthetic.build(folder / "callboard.duckdb")) \
        / "callboard.duckdb"


@pytest.fixture
def synthetic_warehouse(synthetic_template: Path, warehouse_file: Path) -> Path:
    """A small random warehouse written straight into the tables: this test's own copy."""
    shutil.copyfile(synthetic_template, warehouse_file)
    return warehouse_file


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo warehouse built once per test run by the real pipeline (generator, ingest,
    rules judge), and the folder of generated files it was built from."""
    def build(folder: Path) -> None:
        demo.build(folder / "callboard.duckdb", calls=DEMO_CALLS, files_dir=folder / "files")

    built = built_once(tmp_path_factory, "demo", build)
    db = tmp_path_factory.mktemp("demo") / "callboard.duckdb"  # this worker's own: tests open it
    shutil.copyfile(built / "callboard.duckdb", db)
    return db, built / "files"


@pytest.fixture(scope="session")
def recorded_demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 400-call demo whose last `RECORDED_DAYS` days' calls have their recordings made (Debian's
    espeak-ng and ffmpeg), built once per run: the folder holding its `callboard.duckdb` and, beside
    it, `recordings/`. Tests copy the folder (the recordings are named relative to it)."""
    def build(folder: Path) -> None:
        db = folder / "var" / "callboard.duckdb"
        demo.build(db, calls=400, recorded_days=RECORDED_DAYS)
        assert audio.synthesize(db, days=RECORDED_DAYS, workers=2).failed == 0

    return built_once(tmp_path_factory, "recorded-demo", build) / "var"


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
