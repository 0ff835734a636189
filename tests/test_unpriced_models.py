"""A model with no list price: its spans' cost is unknown (NULL), not $0; the call's cost is
unknown rather than understated; ingest and the Ingest page name the model and the command that
prices it; cost per call is over the calls it could price and says how many it could not."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ingest.summary import format_table
from ingest.traces import ingest_traces
from present.formats import sample_sizes
from tests.export_files import rows
from tests.fixtures.otlp_calls import write_calls
from warehouse import queries
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY
from warehouse.prices import unpriced_models

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture
def loaded(tmp_path: Path, warehouse_file: Path):
    path = tmp_path / "calls.jsonl"
    write_calls(path, 3)
    text = path.read_text()
    assert text.count('"gpt-4.1-mini"') > 3
    # the first LLM span in the file becomes a model with no price
    path.write_text(text.replace('"gpt-4.1-mini"', '"acme-voice-9"', 1))
    return ingest_traces([path], db_path=warehouse_file)


def test_an_unpriced_span_and_its_call_cost_null_not_zero(loaded, warehouse_file: Path) -> None:
    ((call_id, span_cost),) = rows(warehouse_file, "SELECT call_id, cost_usd FROM spans WHERE model = 'acme-voice-9'")
    assert span_cost is None
    costs = dict(rows(warehouse_file, "SELECT call_id, cost_usd FROM calls"))
    assert costs[call_id] is None
    assert all(cost > 0 for other, cost in costs.items() if other != call_id)


def test_ingest_names_the_model_and_the_command(loaded) -> None:
    assert loaded.unpriced_models == [("openai", "acme-voice-9")]
    printed = format_table(loaded)
    assert "no list price  openai acme-voice-9" in printed
    assert "python -m warehouse prices set openai acme-voice-9 --input-per-mtok" in printed


def test_cost_per_call_is_over_priced_calls_and_counts_the_others(loaded, warehouse_file: Path) -> None:
    (day,) = {d for (d,) in rows(warehouse_file, "SELECT DISTINCT day FROM calls")}
    costs = [c for (c,) in rows(warehouse_file, "SELECT cost_usd FROM calls")]
    priced = [c for c in costs if c is not None]
    row = queries.overview(Filters(day, day)).row("current")
    assert row["cost_per_call_usd"] == pytest.approx(sum(priced) / len(priced))
    assert (row["priced_calls"], row["unpriced_calls"]) == (2, 1)
    assert "1 call not priced" in sample_sizes(BY_KEY["cost_per_call_usd"], row, {})


def test_the_ingest_page_lists_models_without_a_price(loaded, warehouse_file: Path) -> None:
    assert unpriced_models(db_path=warehouse_file).rows() == [("openai", "acme-voice-9", 1, 1)]
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/ingest.py").run()
    assert not at.exception, at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "acme-voice-9" in warning and "python -m warehouse prices set" in warning
