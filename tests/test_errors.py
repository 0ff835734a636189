"""One error root (warehouse/errors.py): every CLI, run in-process, prints a user's mistake as one
line and exits 2, and lets a bug raise with its traceback; every page shows a busy or unreadable
warehouse as one readable sentence, from app.py's frame."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import data.demo
import export.__main__
import ingest.cli
import judges.__main__
import warehouse.__main__
from data.generate import generate
from ingest.errors import IngestError
from judges import dataset, providers, runner, spec, verdict
from present.markdown import escape_markdown
from tests import busy
from warehouse import db, lake, prompt_history, reviews
from warehouse.errors import CallboardError, run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))
PLANTED_BUGS = (KeyError, ValueError, RuntimeError)  # two CLIs used to catch every ValueError


def one_error_line(stderr: str) -> str:
    """The error a CLI printed, checked to be one line at the end of stderr with no traceback."""
    assert "Traceback" not in stderr
    last = stderr.splitlines()[-1]
    assert last.startswith("error: ") and stderr.endswith(last + "\n") and stderr.count("error:") == 1, stderr
    return last


@pytest.fixture
def held_warehouse(warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real, migrated warehouse that another process holds."""
    with db.connect():
        pass
    with busy.held(warehouse_file, monkeypatch):
        yield warehouse_file


@pytest.fixture
def unreadable_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CALLBOARD_DB naming a file that is not a DuckDB database."""
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n")
    monkeypatch.setenv("CALLBOARD_DB", str(path))
    return path


def test_the_title_is_one_line_and_is_the_message() -> None:
    error = CallboardError("The warehouse is busy:\n  try again.")
    assert error.title == "The warehouse is busy: try again." == str(error)


def test_run_cli_turns_a_callboard_error_into_exit_2_and_lets_a_bug_through() -> None:
    def refuse() -> int:
        raise CallboardError("Give at least one price.")

    err = io.StringIO()
    assert run_cli(refuse, err) == 2
    assert err.getvalue() == "error: Give at least one price.\n"
    with pytest.raises(KeyError):
        run_cli(lambda: {}["missing"], err)


@pytest.mark.parametrize("error_class", [
    reviews.ReviewRefused, lake.LakeError, db.WarehouseBusy, db.WarehouseUnavailable, prompt_history.CommentRefused,
    dataset.DatasetError, providers.MissingKey, spec.JudgeSpecError, runner.RunError,
    export.__main__.DeckRefused, IngestError,
])  # fmt: skip
def test_every_user_error_has_the_one_root_and_is_no_value_or_runtime_error(error_class: type) -> None:
    assert issubclass(error_class, CallboardError)
    assert not issubclass(error_class, ValueError | RuntimeError)


def test_internal_signals_are_not_user_errors() -> None:
    """A judge's unreadable reply is recorded as a failed judgement; a refused OTLP request becomes
    the HTTP reply. Neither may reach a person as advice."""
    from ingest.receiver import Refused

    assert not issubclass(verdict.InvalidReply, CallboardError | ValueError)
    assert not issubclass(Refused, CallboardError)


# Each CLI: a mistake a user can make, and a function to plant a bug in.
def _ingest(argv: list[str]) -> int:
    return ingest.cli.main(argv)


def _judges(argv: list[str]) -> int:
    return judges.__main__.main(argv, io.StringIO(), sys.stderr)


CLIS: dict[str, tuple[Callable[[list[str]], int], list[str], str, str, list[str]]] = {
    # name: (main, a user's mistake, what the line says, where to plant a bug, argv reaching it)
    "ingest": (_ingest, ["traces", "/nowhere/calls.jsonl"], "No such file or folder: /nowhere/calls.jsonl",
               "ingest.cli.ingest_traces", ["traces", "/nowhere/calls.jsonl"]),
    "judges": (_judges, ["eval", "--dataset", "/nowhere.jsonl", "--judge", "rules"],
               "Could not read the dataset /nowhere.jsonl", "judges.__main__.all_judges", ["list"]),
    "warehouse": (warehouse.__main__.main, ["metrics", "--start", "2026-09-30", "--end", "2026-09-01"],
                  "The period ends (2026-09-01) before it starts (2026-09-30).", "warehouse.queries.period_metrics",
                  ["metrics", "--start", "2026-09-01", "--end", "2026-09-30"]),
    "export": (export.__main__.main, ["deck", "--quarter", "2026Q9", "--out", "d.pptx"],
               "'2026Q9' is not a quarter", "export.__main__.build",
               ["deck", "--quarter", "2026Q3", "--out", "d.pptx"]),
    "data.demo": (data.demo.main, ["--db", "/dev/null/demo.duckdb", "--calls", "5"],
                  "Cannot make the folder for /dev/null/demo.duckdb", "data.demo.build",
                  ["--db", "demo.duckdb", "--calls", "5"]),
}  # fmt: skip


@pytest.mark.parametrize("cli", CLIS)
def test_a_users_mistake_is_one_line_and_exit_2(
    cli: str, warehouse_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main, argv, says, _, _ = CLIS[cli]
    assert main(argv) == 2
    assert says in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("bug", PLANTED_BUGS)
@pytest.mark.parametrize("cli", CLIS)
def test_a_bug_is_not_swallowed(
    cli: str, bug: type[Exception], warehouse_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main, _, _, target, argv = CLIS[cli]

    def planted(*args: object, **kwargs: object) -> None:
        raise bug("planted")

    monkeypatch.setattr(target, planted)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(bug, match="planted"):
        main(argv)


@pytest.mark.parametrize("main, argv", [
    (_ingest, ["runs"]),
    (_judges, ["run", "--judge", "rules", "--start", "2026-09-01", "--end", "2026-09-30"]),
    (warehouse.__main__.main, ["migrate"]),
])  # fmt: skip
def test_a_busy_warehouse_is_one_line_and_exit_2_from_every_cli(
    main: Callable[[list[str]], int], argv: list[str], held_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "The warehouse is busy" in line and str(held_warehouse.parent) not in line and "PID" not in line


def test_a_file_that_is_no_warehouse_is_one_line_and_exit_2(
    unreadable_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert warehouse.__main__.main(["migrate"]) == 2
    assert "cannot open the warehouse notes.duckdb" in one_error_line(capsys.readouterr().err)


def _every_page(*, expect: str) -> None:
    """Open every page with a fresh cache: each one ends with `expect` in an error box, no traceback,
    no path and no PID."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    for page in PAGE_FILES:
        st.cache_data.clear()
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        shown = [e.value for e in at.error]
        assert any(escape_markdown(expect) in text for text in shown), (page, shown)  # titles are shown as text
        assert not any("/" in text or "PID" in text for text in shown), (page, shown)


def test_every_page_says_the_warehouse_is_busy(held_warehouse: Path) -> None:
    _every_page(expect="The warehouse is busy")


def test_every_page_says_when_the_warehouse_cannot_be_opened(unreadable_warehouse: Path) -> None:
    _every_page(expect="Callboard cannot open the warehouse notes.duckdb")


# No tracebacks for users (issue 19): bad limits, a damaged gzip file, a full disk.
@pytest.mark.parametrize("argv, says", [
    (["runs", "--limit", "-1"], "--limit is how many rows to list"),
    (["runs", "--limit", "0"], "--limit is how many rows to list"),
    (["quarantine", "--limit", str(10**20)], "--limit is how many rows to list"),
    (["serve", "--port", "70000"], "--port is a TCP port from 1 to 65535"),
    (["serve", "--port", "-1"], "--port is a TCP port"),
    (["serve", "--spool-max-mb", "nan"], "--spool-max-mb is a number of megabytes above 0"),
    (["serve", "--spool-max-mb", "-5"], "--spool-max-mb is a number of megabytes above 0"),
])  # fmt: skip
def test_a_bad_number_is_one_line_and_exit_2(
    argv: list[str], says: str, warehouse_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest.cli.main(argv) == 2
    assert says in one_error_line(capsys.readouterr().err)


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real OTLP/JSON lines file from the demo generator."""
    folder = tmp_path_factory.mktemp("traces")
    generate(folder, calls=500, seed=3)
    (path,) = (folder / "traces").glob("*.jsonl")
    return path


def test_a_truncated_gzip_file_of_lines_loads_up_to_the_damage(
    trace_file: Path, warehouse_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = gzip.compress(trace_file.read_bytes())
    cut = tmp_path / "calls.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])  # a copy that stopped half way
    assert ingest.cli.main(["traces", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "quarantined  1\n" in out and "refused records: python -m ingest quarantine" in out


def test_a_truncated_gzip_document_is_one_line_and_exit_2(
    warehouse_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = gzip.compress((ROOT / "tests" / "fixtures" / "traces" / "openinference_b64.json").read_bytes())
    cut = tmp_path / "calls.json.gz"
    cut.write_bytes(packed[: len(packed) // 2])  # one document: nothing of it can be read alone
    assert ingest.cli.main(["traces", str(cut)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{cut} is a damaged gzip file" in line and "ends early" in line


def test_a_full_disk_during_ingest_is_one_line_and_exit_2(trace_file: Path, tmp_path: Path) -> None:
    """A real full disk: a 3 MB tmpfs, mounted in a mount namespace of its own (unshare; root inside
    it only), holds the warehouse; the traces need more."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = 'mount -t tmpfs -o size=3m tmpfs "$1" && exec "$2" -m ingest --db "$1/callboard.duckdb" traces "$3"'
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(disk),
                           sys.executable, str(trace_file)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {db.DISK_FULL}\n"
