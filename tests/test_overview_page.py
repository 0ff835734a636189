"""The overview page, run through Streamlit's AppTest: it shows the owned metrics for the period
in the URL, and the figures are those of an independent computation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from present.formats import format_value
from tests import independent
from warehouse.filters import Filters
from warehouse.metric_registry import GROUPS

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Each test has its own warehouse; cached reads from an earlier test must not leak in."""
    st.cache_data.clear()


def run_app(query: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def url_values(at: AppTest, key: str) -> list[str]:
    value = at.query_params[key]
    return [value] if isinstance(value, str) else list(value)


def shown_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("query, filters", [
    ({"start": "2026-10-01", "end": "2026-10-20"}, Filters(date(2026, 10, 1), date(2026, 10, 20))),
    ({"start": "2026-09-01", "end": "2026-09-30", "agent": ["salon-booker", "clinic-scheduler"]},
     Filters(date(2026, 9, 1), date(2026, 9, 30), agents=("salon-booker", "clinic-scheduler"))),
])
def test_overview_shows_the_independently_computed_figures(
    synthetic_warehouse: Path, query: dict, filters: Filters
) -> None:
    at = run_app(query)
    expected = independent.owned_metrics(synthetic_warehouse, filters)
    shown = shown_metrics(at)
    panels = [p for group in GROUPS.values() for p in group]
    assert len(shown) == len(panels)
    for p in panels:
        assert shown[p.label] == format_value(expected[p.key], p.unit), p.label
    assert [s.value for s in at.subheader] == list(GROUPS)
    assert len(at.get("vega_lite_chart")) == len(panels)
    assert f"{expected['calls']:,} calls" in at.caption[0].value


def test_filters_are_read_from_and_written_to_the_url(synthetic_warehouse: Path) -> None:
    at = run_app({"start": "2026-09-03", "end": "2026-09-17", "model": "gpt-4.1"})
    assert at.sidebar.date_input[0].value == (date(2026, 9, 3), date(2026, 9, 17))
    assert at.sidebar.multiselect(key="f_model").value == ["gpt-4.1"]
    at.sidebar.multiselect(key="f_agent").set_value(["estate-qualifier"]).run()
    assert url_values(at, "agent") == ["estate-qualifier"]
    assert url_values(at, "model") == ["gpt-4.1"]
    assert url_values(at, "start") == ["2026-09-03"]
    expected = independent.owned_metrics(
        synthetic_warehouse,
        Filters(date(2026, 9, 3), date(2026, 9, 17), agents=("estate-qualifier",), models=("gpt-4.1",)),
    )
    assert shown_metrics(at)["Cost per call"] == format_value(expected["cost_per_call_usd"], "usd")


def test_without_judgements_the_joint_panel_says_so_plainly(synthetic_warehouse: Path) -> None:
    import duckdb

    con = duckdb.connect(str(synthetic_warehouse))
    con.execute("DELETE FROM judgements")
    con.close()
    at = run_app({"start": "2026-10-01", "end": "2026-10-20"})
    assert any("No judge has scored calls" in i.value for i in at.info)
    assert "Eval score" not in shown_metrics(at)


def test_an_empty_warehouse_explains_how_to_load_calls(warehouse_file: Path) -> None:
    at = run_app({})
    assert "no calls yet" in at.info[0].value


def cards(at: AppTest) -> dict[str, tuple[str, str]]:
    """Each card's label → (its delta's colour, the note under it: noise verdict and n)."""
    colours = {0: "red", 1: "green", 2: "grey"}
    notes = [c.value for c in at.caption if " · n = " in c.value]
    assert len(notes) == len(at.metric)
    return {m.label: (colours[m.proto.color], note) for m, note in zip(at.metric, notes, strict=True)}


def test_on_stationary_data_no_change_is_coloured_and_every_card_says_its_n(synthetic_warehouse: Path) -> None:
    at = run_app({"start": "2026-10-01", "end": "2026-10-20"})
    shown = cards(at)
    assert {colour for colour, _ in shown.values()} == {"grey"}
    assert all(note.startswith("Could be noise (p = ") for _, note in shown.values())
    scope = independent.scope(synthetic_warehouse, Filters(date(2026, 10, 1), date(2026, 10, 20)))
    with_outcome = sum(booked is not None for booked in scope.booked)
    assert f" · n = {with_outcome:,} calls with an outcome (before: " in shown["Conversion rate"][1]


def test_a_planted_fall_in_conversion_is_coloured_red(synthetic_warehouse: Path) -> None:
    import duckdb

    con = duckdb.connect(str(synthetic_warehouse))
    con.execute("UPDATE outcomes SET booked = false WHERE booked AND hash(call_id) % 3 <> 0 AND call_id IN "
                "(SELECT call_id FROM calls WHERE day BETWEEN DATE '2026-10-01' AND DATE '2026-10-20')")
    con.close()
    shown = cards(run_app({"start": "2026-10-01", "end": "2026-10-20"}))
    colour, note = shown["Conversion rate"]
    assert (colour, note.split(" · ")[0]) == ("red", "Unlikely to be noise (p < 0.001)")
    assert {colour for label, (colour, _) in shown.items() if label != "Conversion rate"} == {"grey"}
