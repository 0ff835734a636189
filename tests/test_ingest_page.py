"""The Ingest page lists recent runs and shows refused records as plain text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ingest.outcomes import ingest_outcomes
from ingest.traces import ingest_traces
from warehouse.ingest_runs import quarantined
from warehouse.recordings import SynthesisProgress, write_progress

APP = Path(__file__).resolve().parent.parent / "app.py"
TRACES = Path(__file__).parent / "fixtures" / "traces"


def ingest_page() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/ingest.py").run()
    assert not at.exception, at.exception
    return at


def test_runs_and_refused_records_are_listed(warehouse_file: Path) -> None:
    good = ingest_traces([TRACES / "genai_hex.jsonl"], db_path=warehouse_file)
    bad = ingest_traces([TRACES / "bad.jsonl"], db_path=warehouse_file)
    assert bad.quarantined > 0
    at = ingest_page()
    runs, refused = (frame.value for frame in at.dataframe)
    assert list(runs["run_id"]) == [bad.run_id, good.run_id]
    assert list(runs["records_quarantined"]) == [bad.quarantined, good.quarantined]
    assert sorted(refused["reason"]) == sorted(quarantined(bad.run_id)["reason"].to_list())
    assert at.selectbox[0].options == ["All runs", bad.run_id]


def test_an_empty_warehouse_says_nothing_was_loaded(warehouse_file: Path) -> None:
    assert "Nothing has been loaded yet" in ingest_page().info[0].value


def test_each_runs_counts_add_up_in_its_unit(warehouse_file: Path) -> None:
    outcomes = Path(__file__).parent / "fixtures" / "outcomes"
    ingest_outcomes(outcomes / "hubspot_deals.csv", outcomes / "hubspot_deals.toml", db_path=warehouse_file)
    ingest_traces([TRACES / "bad.jsonl"], db_path=warehouse_file)
    runs = ingest_page().dataframe[0].value
    assert list(runs["unit"]) == ["spans", "rows"]
    assert list(runs["records_read"]) == list(runs["records_loaded"] + runs["records_updated"]
                                              + runs["records_unchanged"] + runs["records_quarantined"])


@pytest.mark.parametrize(("pid", "finished", "expected"), [
    (os.getpid(), False, "Making the demo's recordings, newest calls first: 1,200 of 3,055 calls · 2 failed"),
    (2**22 + 12_345, False, "Making the demo's recordings stopped at 1,200 of 3,055 calls · 2 failed"),
], ids=["running", "stopped"])  # fmt: skip (ids without the pid: pytest-xdist's workers must collect the same names)
def test_the_demo_recordings_progress_is_shown_while_they_are_made(
        pid: int, finished: bool, expected: str, warehouse_file: Path) -> None:
    folder = warehouse_file.parent / "recordings"
    folder.mkdir()
    write_progress(folder, SynthesisProgress(total=3055, done=1200, failed=2, pid=pid, finished=finished))
    at = ingest_page()
    bar = at.get("progress")[0]
    assert bar.value == round(1200 / 3055 * 100) and bar.proto.text.startswith(expected)


def test_finished_recordings_are_a_one_line_note_and_none_are_not_mentioned(warehouse_file: Path) -> None:
    assert not any("recordings" in m.value for m in ingest_page().subheader)
    folder = warehouse_file.parent / "recordings"
    folder.mkdir()
    write_progress(folder, SynthesisProgress(total=3055, done=3055, failed=0, pid=1, finished=True))
    at = ingest_page()
    assert not at.get("progress")
    assert "Recordings ready for 3,055 of 3,055 calls of the demo's last 14 days." in [c.value for c in at.caption]
