"""ui/data.py keeps reads until the warehouse is written, whoever writes it, and a score saved
in the app forgets only the reads a score changes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from polars.testing import assert_frame_equal

from ui import data
from warehouse import calibration_queries, prepared, reviews
from warehouse.db import transaction
from warehouse.drift import queries as drift
from warehouse.drift.detection import load_thresholds
from warehouse.engines import Source
from warehouse.errors import CallboardError
from warehouse.filters import Filters

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    st.cache_data.clear()


def counting_read(calls: list[str]) -> data.Read:
    def how_many_calls(label: str) -> int:
        calls.append(label)
        return len(calls)

    return data.cached(how_many_calls)


def test_a_read_is_kept_until_the_warehouse_is_written(synthetic_warehouse: Path) -> None:
    calls: list[str] = []
    read = counting_read(calls)
    assert read("a") == read("a") == 1 and calls == ["a"], "a second read is served from the cache"
    with transaction() as con:
        con.execute("UPDATE calls SET agent = agent WHERE false")  # a commit that changes nothing still counts
        con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    assert read("a") == 2, "a write forgets it"
    assert read("a") == 2


def test_a_write_by_another_process_shows_at_once(synthetic_warehouse: Path) -> None:
    before = data.list_sessions().height
    code = ("from datetime import date; from warehouse import reviews; "
            "reviews.create_session(reviews.SessionSpec('From ingest box', date(2000, 1, 1), date(2100, 1, 1), 3))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    sessions = data.list_sessions()
    assert sessions.height == before + 1 and "From ingest box" in sessions["name"].to_list()


def test_a_score_saved_here_forgets_the_review_reads_and_keeps_the_others(synthetic_warehouse: Path) -> None:
    session_id = reviews.create_session(reviews.SessionSpec("Week 1", date(2000, 1, 1), date(2100, 1, 1), seed=3))
    session = data.get_session(session_id)
    first, second = session.call_ids[:2]
    calls: list[str] = []
    other = counting_read(calls)
    other("overview")
    assert data.scored_calls(session_id) == frozenset() and data.call_history(first).is_empty()
    data.call_history(second)
    data.save_review(reviews.Review(session_id, first, "Priya (PM)", 4, True, notes="fine"))
    assert data.scored_calls(session_id) == {first}
    assert data.call_history(first)["notes"].to_list() == ["fine"]
    assert data.current_reviews(session_id)["reviewer"].to_list() == ["Priya (PM)"]
    other("overview")
    assert calls == ["overview"], "an unrelated read is kept"


def _session_and_a_kept_read(calls: list[str]) -> tuple[str, str, data.Read]:
    """A session, one of its calls, and an unrelated read (the Overview, say) cached."""
    session_id = reviews.create_session(reviews.SessionSpec("Week 1", date(2000, 1, 1), date(2100, 1, 1), seed=3))
    call_id = data.get_session(session_id).call_ids[0]
    other = counting_read(calls)
    other("overview")
    return session_id, call_id, other


def test_a_write_by_another_process_before_a_save_here_is_not_taken_for_the_save(synthetic_warehouse: Path) -> None:
    """Ingest loads while the room scores: the save must not adopt the new stamp as its own."""
    calls: list[str] = []
    session_id, call_id, other = _session_and_a_kept_read(calls)
    code = ("from datetime import date; from warehouse import reviews; "
            "reviews.create_session(reviews.SessionSpec('From ingest box', date(2000, 1, 1), date(2100, 1, 1), 3))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    data.save_review(reviews.Review(session_id, call_id, "Priya (PM)", 4, True))
    other("overview")
    assert calls == ["overview", "overview"], "the other process's write is forgotten, not kept as the save's"


def test_a_read_while_a_save_is_written_forgets_nothing_else(synthetic_warehouse: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """"Save and next" writes in a background thread while the page draws the next call: a read
    that sees the save's commit before the save has taken its stamp keeps every other read."""
    calls: list[str] = []
    session_id, call_id, other = _session_and_a_kept_read(calls)
    real = reviews.save_review

    def save_then_read(*args: object, **kwargs: object) -> str:
        saved = real(*args, **kwargs)  # type: ignore[arg-type]
        other("overview")  # the page, drawing the next call meanwhile
        return saved

    monkeypatch.setattr(reviews, "save_review", save_then_read)
    data.save_review_in_background(reviews.Review(session_id, call_id, "Priya (PM)", 4, True)).result()
    other("overview")
    assert calls == ["overview"], "an unrelated read is kept"
    assert data.current_reviews(session_id)["reviewer"].to_list() == ["Priya (PM)"]


def test_a_failed_background_save_does_not_unscore_a_call_saved_meanwhile(synthetic_warehouse: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two reviewers score one call at once: one save fails (a busy warehouse), the other lands
    while it waits. The call stays scored."""
    session_id = reviews.create_session(reviews.SessionSpec("Week 1", date(2000, 1, 1), date(2100, 1, 1), seed=3))
    call_id = data.get_session(session_id).call_ids[0]
    real = reviews.save_review

    def the_other_lands_first(review: reviews.Review, *args: object, **kwargs: object) -> str:
        if review.reviewer == "Priya (PM)":
            monkeypatch.setattr(reviews, "save_review", real)
            data.save_review(reviews.Review(session_id, call_id, "Sam (Eng)", 3, False))
            raise CallboardError("The warehouse is busy.")
        return real(review, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reviews, "save_review", the_other_lands_first)
    assert data.scored_calls(session_id) == frozenset()  # as the page's progress read it
    with pytest.raises(CallboardError):
        data.save_review_in_background(reviews.Review(session_id, call_id, "Priya (PM)", 4, True)).result()
    assert data.scored_calls(session_id) == {call_id}


def test_saves_of_one_call_at_once_each_renew_its_history(synthetic_warehouse: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The count of saves made here is part of a call's history's key: two saves at once must both
    count, or the history read between them is kept without the second."""
    session_id = reviews.create_session(reviews.SessionSpec("Week 1", date(2000, 1, 1), date(2100, 1, 1), seed=3))
    call_id = data.get_session(session_id).call_ids[0]

    class SlowCounts(dict):
        def get(self, key: object, default: object = None) -> object:  # the other save gets in here
            found = super().get(key, default)
            time.sleep(0.2)
            return found

    monkeypatch.setattr(data, "_saves_here", SlowCounts())
    saves = [threading.Thread(target=data.save_review, args=(reviews.Review(session_id, call_id, who, 4, True),))
             for who in ("Priya (PM)", "Sam (Eng)")]
    for save in saves:
        save.start()
    for save in saves:
        save.join()
    assert dict(data._saves_here) == {call_id: 2}
    assert sorted(data.call_history(call_id)["reviewer"]) == ["Priya (PM)", "Sam (Eng)"]


def test_the_drift_pages_reads_ahead_run_once_in_the_background(synthetic_warehouse: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait's stages and the change markers are read in the background while the page reads
    the flags; the page's own calls find them kept, or wait for them: each is computed once (the
    markers once per write), and equals a direct read."""
    ran: list[tuple[str, str]] = []
    frames = prepared.frames

    def recorded(source: Source, build: prepared.Build, *args: object) -> list[pl.DataFrame]:
        ran.append((build.__name__, threading.current_thread().name))
        return frames(source, build, *args)

    monkeypatch.setattr(prepared, "frames", recorded)
    f = Filters(date(2026, 9, 1), date(2026, 9, 28))
    data.read_drift_ahead(f)
    data.drift_history(f, "agent", load_thresholds())  # at once: what it reads ahead is kept or waited for
    stages = data.wait_stages_by_week(f)
    assert sorted(build for build, _ in ran) == ["_marker_expressions", "_summary_expressions",
                                                 "_wait_stage_expressions"]
    assert stages.equals(drift.wait_stages_by_week(f))
    ran.clear()
    later = Filters(date(2026, 9, 2), date(2026, 9, 29))
    for read in data.read_drift_ahead(later):
        read.result()
    data.wait_stages_by_week(later)
    assert len(ran) == 1 and ran[0][0] == "_wait_stage_expressions" and ran[0][1].startswith("read-ahead")
    ran.clear()
    for read in data.read_drift_ahead(Filters(date(2026, 9, 3), date(2026, 9, 30)), stages=False):
        read.result()
    assert ran == []  # the markers are kept; the stages, which the page will not draw, are not read


def test_the_calibration_is_read_ahead_and_a_filter_change_reads_only_the_judgements_in_scope(
        synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Failure modes page starts the judge's calibration reads in the background; the table
    then finds them kept and equals a direct read. The calls a person labelled do not change with
    the filters, so another period reads only the version's judgements in scope."""
    ran: list[tuple[str, str]] = []
    frames = prepared.frames

    def recorded(source: Source, build: prepared.Build, *args: object) -> list[pl.DataFrame]:
        ran.append((build.__name__, threading.current_thread().name))
        return frames(source, build, *args)

    version = data.versions_to_calibrate()["judge_version"][0]
    monkeypatch.setattr(prepared, "frames", recorded)
    f = Filters(date(2026, 9, 1), date(2026, 9, 28))
    data.read_calibration_ahead(f, version).result()
    assert sorted(build for build, _ in ran) == ["_in_scope_expressions", "_pairs_expressions"]
    assert all(thread.startswith("read-ahead") for _, thread in ran)
    ran.clear()
    table = data.calibration_table(f, version)
    assert ran == []
    assert_frame_equal(table, calibration_queries.calibration_table(f, version))
    ran.clear()
    data.calibration_table(Filters(date(2026, 9, 2), date(2026, 9, 29)), version)
    assert [build for build, _ in ran] == ["_in_scope_expressions"]
