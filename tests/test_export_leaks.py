"""No leaks: with redaction on (the default), a phone number, an e-mail address and a card number
planted in a transcript, a span payload, a review note and a refused record appear in no file the
app or the CLI exports. Every page is run, every download button on it is clicked (its bytes built
the way Streamlit builds them on a click), and the deck is searched inside its zip."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

import pytest
import streamlit as st
from pptx import Presentation
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from export.deck import DeckRequest, Quote, build
from export.quarter import Quarter
from tests import review_fixture
from tests.test_pages import PAGE_FILES
from warehouse import reviews
from warehouse.db import transaction

APP = Path(__file__).resolve().parent.parent / "app.py"
PHONE, EMAIL, CARD = "+44 20 7946 0958", "jane.doe@example.com", "4111 1111 1111 1111"
PLANTED = f"Call me on {PHONE} or write to {EMAIL}; my card is {CARD}."
SECRETS = [s.encode() for s in ("7946 0958", EMAIL, CARD, "4111111111111111")]


class RecordingFiles(MediaFileManager):
    """Streamlit's own file manager, remembered so the test can click the download buttons."""

    made: ClassVar[list[MediaFileManager]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        RecordingFiles.made.append(self)


def downloads(at: AppTest) -> dict[str, bytes]:
    """Each download button's label and the bytes a click gives."""
    files = RecordingFiles.made[-1]
    found = {}
    for button in at.get("download_button"):
        proto = button.proto
        url = files.execute_deferred(proto.deferred_file_id) if proto.deferred_file_id else proto.url
        found[f"{proto.label} ({proto.id[-12:]})"] = files._storage.get_file(url.rsplit("/", 1)[-1]).content
    return found


@pytest.fixture
def planted(synthetic_warehouse: Path) -> tuple[Path, str]:
    """The synthetic warehouse with spans and judge labels, PII planted in a transcript turn, a span
    payload, a refused record and the review note of a session's first call; and that call."""
    review_fixture.enrich(synthetic_warehouse)
    session_id = reviews.create_session(reviews.SessionSpec("Week 40", date(2026, 9, 1), date(2026, 10, 30), seed=1,
                                                            sample_size=10))  # fmt: skip
    call_id = reviews.get_session(session_id).call_ids[0]
    reviews.save_review(reviews.Review(session_id, call_id, "ann", 2, False, notes=PLANTED, test_case=True))
    with transaction(synthetic_warehouse) as con:
        con.execute("UPDATE turns SET text = ? WHERE call_id = ? AND turn_index = 1", [PLANTED, call_id])
        con.execute("UPDATE spans SET input_text = ?, output_text = ? WHERE call_id = ?", [PLANTED, PLANTED, call_id])
        con.execute("INSERT INTO ingest_runs (run_id, kind, started_at, records_quarantined, status) "
                    "VALUES ('run-1', 'traces', ?, 1, 'done')", [datetime(2026, 10, 1)])
        con.execute("INSERT INTO quarantine VALUES ('run-1', 'calls.jsonl', 'line 3', 'no trace id', ?, ?)",
                    [PLANTED.encode(), datetime(2026, 10, 1)])
    return synthetic_warehouse, call_id


def assert_clean(name: str, payload: bytes) -> None:
    for secret in SECRETS:
        assert secret not in payload, f"{secret!r} leaked into {name}"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, planted: tuple[Path, str]) -> AppTest:
    monkeypatch.delenv("CALLBOARD_REDACT", raising=False)
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingFiles)
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    return at


def test_no_table_download_on_any_page_leaks(app: AppTest) -> None:
    clicked = {}
    for page in PAGE_FILES:
        if page == "app_pages/review_summary.py":
            app.query_params["session"] = reviews.list_sessions()["session_id"][0]
        app.switch_page(page).run()
        assert not app.exception, (page, [e.message for e in app.exception])
        clicked |= {f"{page}: {label}": payload for label, payload in downloads(app).items()}
    assert any("CSV" in label for label in clicked) and any("Parquet" in label for label in clicked)
    assert any(label.startswith("app_pages/review_summary.py: Download calls") for label in clicked)
    assert any(label.startswith("app_pages/ingest.py") for label in clicked), "the refused records have a download"
    for name, payload in clicked.items():
        assert_clean(name, payload)
    summary = next(p for label, p in clicked.items() if label.startswith("app_pages/review_summary.py: Download calls"))
    assert b"[phone]" in summary and b"[email]" in summary, "the note is there, masked"


def _pptx_bytes(pptx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(pptx)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


def test_the_deck_leaks_nothing_even_with_a_quote_of_the_planted_turn(
    planted: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALLBOARD_REDACT", raising=False)
    _, call_id = planted
    pptx = build(DeckRequest(Quarter(2026, 4), quotes=(Quote(call_id, 1),)))
    assert_clean("the deck", _pptx_bytes(pptx))
    quote = Presentation(io.BytesIO(pptx)).slides[-1]
    shown = " ".join(s.text_frame.text for s in quote.shapes if s.has_text_frame)
    assert "Call me on [phone] or write to [email]; my card is [card]." in shown


def test_turning_redaction_off_is_what_lets_it_through(planted: tuple[Path, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOARD_REDACT", "0")
    _, call_id = planted
    pptx = build(DeckRequest(Quarter(2026, 4), quotes=(Quote(call_id, 1),)))
    assert EMAIL.encode() in _pptx_bytes(pptx)
