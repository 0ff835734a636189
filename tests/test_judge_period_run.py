"""The Judges page starts a rules-judge run for the sidebar's period, in a process of its own, and
shows its progress; the command it shows names the same period."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from judges import background
from judges.background import latest_run, reporting, start_period_run, status_file
from judges.runner import JudgeRunSummary, Plan, RunError
from judges.spec import load_judge
from tests.test_judges_page import judges_page


def _period(at: AppTest) -> tuple[date, date]:
    start, end = at.sidebar.date_input(key="f_period").value
    return start, end


def _button(at: AppTest) -> Button:
    return at.button(key="judge_period")


def test_the_button_and_the_command_name_the_sidebar_period(synthetic_warehouse: Path) -> None:
    at = judges_page()
    start, end = _period(at)
    assert f"--start {start} --end {end}" in at.code[0].value
    assert f"{start:%d %b} – {end:%d %b %Y}" in _button(at).label
    at.sidebar.date_input(key="f_period").set_value((date(2026, 10, 5), date(2026, 10, 11))).run()
    assert "--start 2026-10-05 --end 2026-10-11" in at.code[0].value
    assert "05 Oct – 11 Oct 2026" in _button(at).label


def test_the_button_judges_the_period_in_a_process_of_its_own(synthetic_warehouse: Path) -> None:
    at = judges_page()
    start, end = _period(at)
    clicked = time.monotonic()
    _button(at).click().run()
    assert time.monotonic() - clicked < 10  # the page does not wait for the run
    assert not at.exception and not at.error
    deadline = time.monotonic() + 180
    while (run := latest_run(synthetic_warehouse)) is not None and run.going and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run is not None and run.state == "finished", run
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as con:
        in_period, judged = con.execute(
            "SELECT (SELECT count(*) FROM calls WHERE day BETWEEN ? AND ?), "
            "(SELECT count(DISTINCT j.call_id) FROM judgements j JOIN calls c USING (call_id) "
            " WHERE j.judge_version = ? AND c.day BETWEEN ? AND ?)",
            [start, end, load_judge("rules").version, start, end]).fetchone()
    assert in_period > 0 and judged == in_period
    assert (run.selected, run.judged + run.failed + run.skipped) == (in_period, in_period)
    at.run()
    assert f"judged {run.judged:,} calls" in at.success[0].value


def test_a_running_run_shows_its_progress_and_cannot_be_started_twice(
        synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "WRITE_EVERY_S", 0.0)  # every update written
    spec = load_judge("rules")
    start, end = date(2026, 10, 5), date(2026, 10, 11)
    with reporting(status_file(synthetic_warehouse), spec.name, start, end) as report:
        report.planned(Plan(spec, selected=10, skipped=2, calls=[None] * 8, price=(0.0, 0.0)))  # type: ignore[list-item]
        report.update(JudgeRunSummary("r", spec.name, spec.version, 10, 2, 8, judged=3, failed=1))
        at = judges_page()
        (bar,) = at.get("progress")
        assert bar.proto.value == 50  # 4 of 8
        assert "8 calls of 05 Oct – 11 Oct 2026: 4 done, 1 failed (2 judged before are skipped)" in bar.proto.text
        assert _button(at).disabled
        with pytest.raises(RunError, match="still going"):
            start_period_run("rules", start, end, synthetic_warehouse)
    at = judges_page()  # its process "died": the lock is free but it never said it finished
    assert "stopped before it finished" in at.warning[0].value
    assert not _button(at).disabled
