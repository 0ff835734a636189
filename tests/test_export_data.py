"""Table downloads: CSV and Parquet hold exactly the rows the page shows (filters applied), read
back equal with polars, carry the period and filters, and are masked for PII unless turned off."""

from __future__ import annotations

import io
from datetime import date, datetime

import polars as pl
import pyarrow.parquet as pq
import pytest

from export import table_files as data
from export.redaction import SETTING, redact_frame
from warehouse.filters import Filters

FRAME = pl.DataFrame({
    "call_id": ["call-1", "call-2", "call-3"],
    "agent": ["salon-booker", "clinic-scheduler", "salon-booker"],
    "started_at": [datetime(2026, 10, d, 9, 30) for d in (1, 2, 3)],
    "day": [date(2026, 10, d) for d in (1, 2, 3)],
    "cost_usd": [0.05, 0.125, None],
    "booked": [True, False, None],
})  # fmt: skip
FILTERS = Filters(date(2026, 10, 1), date(2026, 10, 31), agents=("salon-booker",))
SHOWN = FRAME.filter(pl.col("agent").is_in(FILTERS.agents))  # what a page filtered to salon-booker shows


def test_csv_reads_back_equal_to_the_filtered_frame() -> None:
    back = pl.read_csv(io.BytesIO(data.csv_bytes(SHOWN)), schema=SHOWN.schema)
    assert back.equals(SHOWN)
    assert back["agent"].unique().to_list() == ["salon-booker"]


def test_parquet_reads_back_equal_with_types_and_the_filters_in_its_metadata() -> None:
    payload = data.parquet_bytes(SHOWN, FILTERS.describe())
    assert pl.read_parquet(io.BytesIO(payload)).equals(SHOWN)
    metadata = pq.read_metadata(io.BytesIO(payload)).metadata
    assert metadata[data.FILTERS_KEY.encode()].decode() == "01 Oct 2026 – 31 Oct 2026 · agent: salon-booker"


def test_lists_become_one_cell_in_csv_and_stay_lists_in_parquet() -> None:
    frame = pl.DataFrame({"labels": [["slow_turn", "hallucinated_fact"], []]})
    assert pl.read_csv(io.BytesIO(data.csv_bytes(frame)))["labels"].to_list() == ["slow_turn; hallucinated_fact", ""]
    assert pl.read_parquet(io.BytesIO(data.parquet_bytes(frame, "")))["labels"].to_list() == [
        ["slow_turn", "hallucinated_fact"], []]


PII = pl.DataFrame({"notes": ["ring me on +44 20 7946 0958", "mail jane.doe@example.com"],
                    "labels": [["card 4111 1111 1111 1111"], []], "n": [1, 2]})


def test_text_and_lists_of_text_are_masked_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)
    masked = redact_frame(PII)
    assert masked["notes"].to_list() == ["ring me on [phone]", "mail [email]"]
    assert masked["labels"].to_list() == [["card [card]"], []]
    for payload in (data.csv_bytes(PII), data.parquet_bytes(PII, "")):
        assert b"7946" not in payload and b"jane.doe" not in payload and b"4111" not in payload


def test_masking_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "0")
    assert redact_frame(PII).equals(PII)
    assert b"jane.doe@example.com" in data.csv_bytes(PII)


def test_file_names_are_plain() -> None:
    assert data.file_stem("Cost per call ($)") == "cost-per-call"
    assert data.file_stem("???") == "callboard"


def test_exports_never_import_streamlit() -> None:
    """The CLI and the app call the same export functions; the CLI must not need Streamlit."""
    import subprocess
    import sys

    code = "import sys, export.deck, export.table_files, export.__main__; print('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
