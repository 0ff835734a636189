"""`python -m ingest`: the summary table through a real subprocess (the module's entry point), exit
codes and one-line errors through `main` in this process (the same code, without a Python start each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.cli import main
from tests import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLBOARD_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_traces_glob_prints_a_summary(warehouse_file: Path) -> None:
    done = run(warehouse_file, "traces", str(FIXTURES / "traces" / "genai_*.jsonl"))
    assert done.returncode == 0, done.stderr
    table = dict(line.split(None, 1) for line in done.stdout.splitlines()[:8])
    assert (table["kind"], table["read"], table["loaded"], table["quarantined"]) == ("traces", "12 spans", "12", "0")


@pytest.mark.parametrize(("args", "message"), [
    (["traces", "missing.jsonl"], "error: No such file or folder: missing.jsonl"),
    (["traces", "pyproject.toml"], "is not OTLP trace data"),
    (["outcomes", str(FIXTURES / "outcomes" / "crm.csv"), "--mapping", "pyproject.toml"], "needs [source] name"),
    (["prompts", "nowhere"], "error: No such prompts folder: nowhere"),
    (["calls", str(FIXTURES / "call_logs" / "turns.csv"), "--mapping", "missing.toml"],
     "error: No such mapping file: missing.toml"),
])
def test_user_mistakes_exit_2_with_one_line(
    warehouse_file: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    done = cli.run(main, args, capsys)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_values_that_are_not_lists_exit_2_with_one_line(
    tmp_path: Path, warehouse_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "crm.toml"
    mapping.write_text((FIXTURES / "outcomes" / "crm.toml").read_text().replace(
        'booked = { true = ["Booked", "Won"], false = ["Not booked", "Lost"] }', "booked = { true = 1 }"))
    done = cli.run(main, ["outcomes", str(FIXTURES / "outcomes" / "crm.csv"), "--mapping", str(mapping)], capsys)
    assert done.returncode == 2
    assert "[values] booked must be { true = [...], false = [...], pending = [...] }" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
