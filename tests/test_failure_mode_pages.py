"""AppTest runs of the failure-mode explorer, judge calibration and failure-mode list pages on a
demo warehouse with human reviews, asserting the values they show."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import streamlit as st
from sklearn.metrics import recall_score
from streamlit.testing.v1 import AppTest

from present.markdown import escape_markdown
from tests.failure_mode_fixture import PERIOD, independent, reviewed_demo
from ui.call_grid import table_columns
from ui.call_opener import OFFERED
from warehouse import explorer
from warehouse.filters import Filters

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def warehouse(demo_build: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = reviewed_demo(demo_build[0], tmp_path)
    monkeypatch.setenv("CALLBOARD_DB", str(path))
    st.cache_data.clear()
    return path


def _page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat(), **params})
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_explorer_answers_which_mode_cost_the_most(warehouse: Path) -> None:
    at = _page("app_pages/failure_modes.py", source="judge")
    expected = independent(warehouse, Filters(*PERIOD), "judge")
    causes = {m: v for m, v in expected["lost"].items() if v is not None}
    top = max(causes, key=causes.get)
    answer = at.markdown[0].value
    assert f"`{top}` cost the most conversions" in answer
    assert f"about {causes[top]:,.0f} bookings" in answer
    assert "found" in at.markdown[1].value and "kappa" in at.markdown[1].value
    assert len(at.get("vega_lite_chart")) == 3  # two Pareto charts and the trend
    shown = at.dataframe[0].value
    assert dict(zip(shown["mode"], shown["calls"], strict=True)) == dict(expected["counts"])
    with_modes = {c for c, ms in expected["modes"].items() if ms}
    listed = at.dataframe[1].value  # the call table: every call with a mode, newest first
    assert set(listed["call_id"]) == with_modes and len(listed) == len(with_modes)
    assert list(listed["started_at"]) == sorted(listed["started_at"], reverse=True)
    opener = at.selectbox(key="fm_call")  # the newest of them, as many as a list can offer
    assert len(with_modes) > OFFERED and opener.options == list(listed["call_id"][:OFFERED])
    assert f"of {len(with_modes):,} calls" in opener.help


def test_a_mode_filter_in_the_url_narrows_the_calls_and_opens_the_call_view(warehouse: Path) -> None:
    at = _page("app_pages/failure_modes.py", source="judge", mode="hallucinated_fact")
    expected = independent(warehouse, Filters(*PERIOD), "judge")
    wanted = {c for c, ms in expected["modes"].items() if "hallucinated_fact" in ms}
    assert at.multiselect(key="fm_modes").value == ["hallucinated_fact"]
    opener = at.selectbox(key="fm_call")
    assert set(opener.options) == wanted
    call_id = sorted(wanted)[0]
    opener.select(call_id).run()
    assert not at.exception
    assert at.query_params["call"] == call_id
    assert any(call_id.replace("-", "\\-") in m.value for m in at.markdown)  # the review's call view header
    assert set(at.dataframe[1].value["call_id"]) == wanted  # the call table


def test_a_shared_link_opens_a_call_beyond_those_the_picker_lists(warehouse: Path) -> None:
    calls = explorer.explore(Filters(*PERIOD), "judge").calls
    oldest = calls["call_id"][-1]
    at = _page("app_pages/failure_modes.py", source="judge", call=oldest)
    opener = at.selectbox(key="fm_call")
    assert opener.value == oldest and opener.options[-1] == oldest and len(opener.options) == OFFERED + 1
    assert any(oldest.replace("-", "\\-") in m.value for m in at.markdown)  # its call view


def test_the_call_table_shows_the_picked_columns_with_the_call_id_first(warehouse: Path) -> None:
    assert table_columns(["agent", "call_id", "failure_modes", "no_such_column", "started_at"]) == [
        "call_id", "agent", "failure_modes", "started_at"]
    at = _page("app_pages/failure_modes.py", source="judge")
    at.multiselect(key="fm_columns").set_value(["agent", "cost_usd"]).run()
    assert list(at.dataframe[1].value.columns) == ["call_id", "agent", "cost_usd"]


def test_the_calibration_page_shows_rates_scikit_learn_agrees_with(warehouse: Path) -> None:
    at = _page("app_pages/calibration.py")
    table = at.dataframe[0].value
    con = duckdb.connect(str(warehouse), read_only=True)
    pairs = con.execute(
        """SELECT r.labels, j.labels FROM reviews r JOIN judgements j USING (call_id) WHERE j.status = 'ok'"""
    ).fetchall()
    con.close()
    for label in ("slow_turn", "goal_not_met"):
        human = [label in (h or []) for h, _ in pairs]
        judge = [label in (j or []) for _, j in pairs]
        row = table[table["label"] == label].iloc[0]
        assert row["labelled_calls"] == len(pairs)
        assert row["tpr"] == pytest.approx(recall_score(human, judge))
        assert row["tnr"] == pytest.approx(recall_score(human, judge, pos_label=False))
    wrong = table[table["label"] == "wrong_booking"].iloc[0]
    assert wrong["tpr"] == 0 and wrong["warning"]  # the rules judge cannot see wrong bookings
    assert "near chance" in wrong["warning"] and wrong["corrected_rate"] != wrong["corrected_rate"]  # NaN: none shown
    assert any("sampling weight" in c.value for c in at.caption)  # the page says how calls are counted


def test_renaming_on_the_list_page_keeps_the_labels_on_the_explorer(warehouse: Path) -> None:
    before = explorer.explore(Filters(*PERIOD), "human").summary
    at = _page("app_pages/taxonomy.py")
    form_select = [s for s in at.selectbox if s.label == "Mode"][1]
    form_select.select("slow_turn")
    at.text_input[0].input("long_silence")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception
    assert f"Renamed {escape_markdown('slow_turn')};" in at.success[0].value
    after = _page("app_pages/failure_modes.py", source="human").dataframe[0].value
    counts = dict(zip(after["mode"], after["calls"], strict=True))
    assert "slow_turn" not in counts
    assert counts["long_silence"] == before.filter(before["mode"] == "slow_turn")["calls"][0]

