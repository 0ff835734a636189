"""The drift, prompt-version and A/B pages on the demo warehouse, through Streamlit's AppTest:
they run, and show the figures computed from raw rows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from data.scenario import DEMO_END_DAY
from present.formats import format_value
from present.markdown import escape_markdown
from tests.test_demo import FIRST_DAY
from warehouse import ab
from warehouse.filters import Filters

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    st.cache_data.clear()


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def salon_cost(db: Path, start: date, end: date) -> float:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT sum(coalesce(cost_usd, 0)) / count(*) FROM calls WHERE agent = 'salon-booker' "
                           "AND day BETWEEN ? AND ?", [start, end]).fetchone()[0]
    finally:
        con.close()


def test_the_drift_page_explains_the_model_switch_in_a_sentence(demo_warehouse: Path) -> None:
    at = open_page("app_pages/drift.py", {"start": "2026-10-01", "end": "2026-11-03"})
    before = salon_cost(demo_warehouse, date(2026, 9, 30), date(2026, 10, 27))
    after = salon_cost(demo_warehouse, date(2026, 10, 28), date(2026, 11, 3))
    expected = (f"Cost per call on salon-booker fell {1 - after / before:.0%} ({format_value(before, 'usd')} → "
                f"{format_value(after, 'usd')}) after the switch to gpt-4.1-mini on 28 Oct.")
    assert escape_markdown(expected) in [w.value for w in at.warning]
    assert at.subheader[1].value == "Drift in the week 28 Oct – 03 Nov 2026"
    assert len(at.get("vega_lite_chart")) == 3  # the history strip, the caller's wait and its stages


def test_the_drift_page_draws_one_part_of_its_trends_at_a_time(demo_warehouse: Path) -> None:
    """Each part of the trends, picked, draws its own charts and no other part's: a filter change
    redraws 2 to 5 charts instead of 12 (the browser's drawing was most of a change's wait)."""
    at = open_page("app_pages/drift.py", {"start": "2026-10-01", "end": "2026-11-03"})
    expected = {"wait": ["p95 caller wait", "The caller's wait, stage by stage"],
                "steps": ["p95 speech-to-text latency", "p95 LLM latency", "p95 tool latency",
                          "p95 text-to-speech latency"],
                "usage": ["Cost per call", "Tokens per call"],
                "failures": ["Failure rate per tool", "Failure rate per model"],
                "talking": ["Talking-over share"]}
    for section, titles in expected.items():
        at.radio(key="drift_section").set_value(section).run()
        specs = [chart.proto.spec for chart in at.get("vega_lite_chart")][1:]  # after the history strip
        assert len(specs) == len(titles), section
        for title, spec in zip(titles, specs, strict=True):
            assert title.lower() in spec.lower(), (section, title)


def test_the_drift_page_opens_on_the_newest_week_with_flags(demo_warehouse: Path) -> None:
    """For clinic-scheduler the week to 15 Nov is quiet on the test demo; the regression week before
    it is not."""
    at = open_page("app_pages/drift.py", {"start": "2026-10-01", "end": "2026-11-15", "agent": "clinic-scheduler"})
    assert at.subheader[1].value == "Drift in the week 02 Nov – 08 Nov 2026"
    strip = next(r for r in at.radio if r.key.startswith("drift_week"))
    assert strip.value == 1 and strip.options[0].endswith("· –") and strip.options[1].endswith("⚑")
    assert any(w.value.startswith(escape_markdown("LLM latency on clinic-scheduler rose")) for w in at.warning)
    strip.set_value(0).run()
    assert at.subheader[1].value == "Drift in the week 09 Nov – 15 Nov 2026"
    assert at.success[0].value.startswith("Nothing drifted this week")


def test_the_drift_page_states_one_count_of_series_tested_and_no_p_of_zero(demo_warehouse: Path) -> None:
    at = open_page("app_pages/drift.py", {"start": "2026-10-01", "end": "2026-11-03"})
    count = next(c.value for c in at.caption if "series tested" in c.value).split("; ")[1].removesuffix(".")
    assert count.split(" ")[0].isdigit()
    assert [e.label for e in at.expander if e.label.startswith("Every series")] == [f"Every series: {count}"]
    assert not at.dataframe  # the table is built only once its expander is opened
    at.session_state["drift_every_series"] = True  # opened, which reruns the page
    at.run()
    table = next(df for df in (d.value for d in at.dataframe) if "p" in df.columns)
    tested = [p for p in table["p"] if p]
    assert len(tested) == int(count.split(" ")[0])
    assert "< 0.001" in tested and "0" not in tested and "0.0" not in tested


def test_the_drift_page_says_plainly_when_nothing_drifted_for_weeks(demo_warehouse: Path) -> None:
    at = open_page("app_pages/drift.py", {"start": "2026-09-01", "end": "2026-10-18"})
    assert not at.warning
    assert at.success[0].value == ("Nothing drifted in the last 8 weeks (24 – 30 Aug, 31 Aug – 6 Sep, 7 – 13 Sep, "
                                   "14 – 20 Sep, 21 – 27 Sep, 28 Sep – 4 Oct, 5 – 11 Oct, 12 – 18 Oct): no series "
                                   "moved by more than the thresholds below allow.")


def test_the_drift_page_names_the_stage_that_slowed_the_callers_wait(demo_warehouse: Path) -> None:
    at = open_page("app_pages/drift.py", {"start": "2026-09-01", "end": "2026-11-22"})
    said = escape_markdown("In the week of 19 Oct, speech-to-text slowed the caller's wait")
    assert any(m.value.startswith(said) for m in at.markdown)


def test_the_prompt_page_shows_the_diff_and_keeps_comments(demo_warehouse_copy: Path) -> None:
    at = open_page("app_pages/prompts.py")
    assert at.selectbox(key="prompt_agent").value == "clinic-scheduler"
    diff = at.code[0].value
    assert "+- Offer two concrete times on the first available day instead of asking when the caller is free." in diff
    assert diff.startswith("--- clinic-scheduler v1\n+++ clinic-scheduler v2")
    at.text_input[0].input("")
    at.text_area[0].input("Lifted conversion; keep it.")
    at.button[0].click().run()
    assert at.error[0].value == escape_markdown("Say who you are: a comment needs an author.")
    at.text_input[0].input("priya")
    at.text_area[0].input("Lifted *conversion*; keep it.")
    at.button[0].click().run()
    assert not at.exception
    assert escape_markdown("Lifted *conversion*; keep it.") in [m.value for m in at.markdown]


def comparison(at: AppTest) -> dict[str, dict[str, str]]:
    """The comparison table as the page shows it, by metric: a static table (its text escaped, its
    counts written as "2,233"), the room's table and the cheapest for the browser to draw."""
    shown = at.table[0].value
    return {row["Metric"]: row for row in shown.to_dict("records")}


SIGNIFICANT_B_BETTER = escape_markdown("significant: B better")
A_N, B_N = escape_markdown("A: n"), escape_markdown("B: n")


def test_the_ab_page_calls_the_clinic_lift_significant(demo_warehouse: Path) -> None:
    at = open_page("app_pages/ab.py", {"start": FIRST_DAY.isoformat(), "end": DEMO_END_DAY.isoformat()})
    conversion = comparison(at)["Conversion rate"]
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        (calls_v1,) = con.execute("SELECT count(*) FROM calls WHERE agent = 'clinic-scheduler' "
                                  "AND prompt_version = 'v1'").fetchone()
    finally:
        con.close()
    assert conversion["Verdict"] == SIGNIFICANT_B_BETTER
    assert conversion[A_N] == f"{calls_v1:,}"  # every demo call has a CRM record
    assert f"{calls_v1:,} calls" in at.caption[0].value


def test_the_ab_page_compares_the_model_switch_like_with_like(demo_warehouse: Path) -> None:
    """gpt-4.1 against gpt-4.1-mini, which serves only the salon agent: compared on that agent alone
    (said why), conversion not called significant, the switch day said, and the days around it offered."""
    at = open_page("app_pages/ab.py", {"start": FIRST_DAY.isoformat(), "end": DEMO_END_DAY.isoformat()})
    at.radio(key="ab_mode").set_value("Models").run()
    at.selectbox(key="ab_model_a").set_value("gpt-4.1").run()
    at.selectbox(key="ab_model_b").set_value("gpt-4.1-mini").run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = " ".join(w.value for w in at.warning)
    assert "Compared on salon" in warnings and "different periods" in warnings
    table = comparison(at)
    assert table["Conversion rate"]["Verdict"] == "not significant"
    assert table["Cost per call"]["Verdict"] == SIGNIFICANT_B_BETTER
    at.segmented_control(key="ab_window").set_value("14 days either side").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "14 days either side of 28 Oct" in " ".join(w.value for w in at.warning)
    assert "14 Oct 2026 – 10 Nov 2026" in at.caption[0].value


def _clinic_days(db: Path) -> dict[str, tuple[date, date, int]]:
    """Each clinic prompt version's first and last day and calls, from raw rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT prompt_version, min(day), max(day), count(*) FROM calls "
                           "WHERE agent = 'clinic-scheduler' GROUP BY ALL").fetchall()
    finally:
        con.close()
    return {version: (first, last, n) for version, first, last, n in rows}


def test_the_ab_page_opens_on_days_that_hold_both_versions(demo_warehouse: Path) -> None:
    """Opened with the sidebar's default period (the last 28 days), which holds no call of clinic v1
    (replaced on 08 Oct): the page says so and compares the 28 days either side of the switch, which
    hold both versions, instead of stopping at "Arm A has no calls"; fewer days can be picked."""
    days = _clinic_days(demo_warehouse)
    (v1_first, v1_last, _), (v2_first, _, _) = days["v1"], days["v2"]
    assert v1_last < DEMO_END_DAY - timedelta(days=27), "the default period holds no clinic v1 call"
    at = open_page("app_pages/ab.py")
    assert [s.value for s in at.selectbox][:2] == ["clinic-scheduler v1", "clinic-scheduler v2"]
    assert not [w.value for w in at.warning if "has no calls" in w.value]
    switch = v2_first
    start, end = switch - timedelta(days=28), switch + timedelta(days=27)
    said = " ".join(i.value for i in at.info)
    assert (f"Arm A has no calls in the sidebar's period ({DEMO_END_DAY - timedelta(days=27):%d %b} – "
            f"{DEMO_END_DAY:%d %b %Y}), so this compares the 28 days either side of the switch on {switch:%d %b}: "
            f"{start:%d %b} – {end:%d %b %Y} (A ran {v1_first:%d %b} – {v1_last:%d %b}") in said
    assert at.segmented_control(key="ab_around").value == 28
    assert f"{start:%d %b %Y} – {end:%d %b %Y}" in at.caption[0].value
    window = [Filters(start, end, agents=("clinic-scheduler",), prompt_versions=(v,)) for v in ("v1", "v2")]
    expected = ab.compare(*window)
    assert min(expected.calls_a, expected.calls_b) > 0
    assert f"{expected.calls_a:,} calls" in at.caption[0].value and f"{expected.calls_b:,} calls" in at.caption[0].value
    conversion = next(c for c in expected.comparisons if c.metric == "conversion_rate")
    shown = comparison(at)["Conversion rate"]
    assert (shown[A_N], shown[B_N]) == (f"{conversion.n_a:,}", f"{conversion.n_b:,}")
    at.segmented_control(key="ab_around").set_value(7).run()
    assert not at.exception, [e.message for e in at.exception]
    week = f"{switch - timedelta(days=7):%d %b %Y} – {switch + timedelta(days=6):%d %b %Y}"
    assert week in at.caption[0].value
    assert f"only the 7 days either side of {switch:%d %b} are compared" in " ".join(w.value for w in at.warning)


def test_arms_never_on_the_same_days_of_one_agent_get_no_window(demo_warehouse: Path) -> None:
    """Claude serves only the clinic agent, gpt-4.1 the others: no days hold both like with like."""
    first, last = FIRST_DAY, DEMO_END_DAY
    ran = ab.when_arms_ran(Filters(last, last, models=("claude-sonnet-4-5",)), Filters(last, last, models=("gpt-4.1",)),
                           first, last)
    assert ran.window(28) is None


def test_when_the_arms_ran_is_read_from_every_day_on_record(demo_warehouse: Path) -> None:
    days = _clinic_days(demo_warehouse)
    last = DEMO_END_DAY
    a, b = (Filters(last, last, agents=("clinic-scheduler",), prompt_versions=(v,)) for v in ("v1", "v2"))
    ran = ab.when_arms_ran(a, b, FIRST_DAY, last)
    assert (ran.days_a, ran.days_b) == (days["v1"][:2], days["v2"][:2])
    assert ran.switch_day == days["v2"][0]
    assert ran.window(14) == (ran.switch_day - timedelta(days=14), ran.switch_day + timedelta(days=13))
