"""Links with parameters a page cannot use (a reversed or far-off period, a judge, session, mode,
call or agent that is not there) open the page anyway: the value is corrected or left out, and the
page says so in one plain sentence instead of showing a traceback."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from present.markdown import escape_markdown
from ui.filters import DEFAULT_DAYS, PICKABLE
from warehouse import queries, reviews

APP = Path(__file__).resolve().parent.parent / "app.py"
# Pages whose link path is their file name: AppTest can open these first, as a fresh browser session
# does; the others it finds only after the frame has run once (on the review page, which has none of
# the sidebar filters, so none of their state carries over).
OPENED_FIRST = ("app_pages/overview.py", "app_pages/calibration.py", "app_pages/drift.py", "app_pages/review.py")
FILTER_PAGES = {"app_pages/overview.py": "Overview", "app_pages/failure_modes.py": "Failure modes",
                "app_pages/calibration.py": "Judge calibration", "app_pages/drift.py": "Cost & latency drift"}


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    st.cache_data.clear()


@pytest.fixture
def days(synthetic_warehouse: Path) -> tuple[date, date]:
    """The first and last day with calls."""
    options = queries.filter_options()
    assert options.first_day is not None and options.last_day is not None
    return options.first_day, options.last_day


def open_page(page: str, query: dict[str, str | list[str]]) -> AppTest:
    """`page` opened from a link carrying `query`; it must run without an exception."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    if page not in OPENED_FIRST:
        at.switch_page("app_pages/review.py").run()
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def said(at: AppTest) -> str:
    return "\n".join(message.value for message in at.info)


def param(at: AppTest, name: str) -> list[str]:
    """The URL's values of `name` after the run (AppTest gives one value as a plain string)."""
    value = at.query_params[name]
    return [value] if isinstance(value, str) else list(value)


def period(at: AppTest) -> tuple[date, date]:
    """The period the page settled on, as it wrote it back into the URL."""
    return date.fromisoformat(param(at, "start")[0]), date.fromisoformat(param(at, "end")[0])


def _periods(first: date, last: date) -> dict[str, tuple[dict[str, str], str, tuple[date, date]]]:
    default = (max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last)
    return {  # a link's period: (the parameters, what the page says, the period it shows)
        "reversed": ({"start": str(last), "end": str(first)}, "ends before it starts", (first, last)),
        "far past": ({"start": "1900-01-01", "end": "1900-03-31"}, "is far from any call", default),
        "far future": ({"start": "9999-01-01", "end": "9999-12-31"}, "is far from any call", default),
        "past to future": ({"start": "0001-01-01", "end": "9999-12-31"}, "more than a year beyond the calls",
                           (first - PICKABLE, last + PICKABLE)),
        "not a date": ({"start": "2026-13-01", "end": str(last)}, "is not a date like 2026-10-31", default),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["reversed", "far past", "far future", "past to future", "not a date"])
@pytest.mark.parametrize("page", FILTER_PAGES)
def test_a_period_the_picker_cannot_show_is_corrected_and_said(page: str, case: str, days: tuple[date, date]) -> None:
    query, says, shown = _periods(*days)[case]
    at = open_page(page, query)
    assert at.title[0].value == FILTER_PAGES[page]
    assert says in said(at)
    assert period(at) == shown


def test_an_unknown_agent_is_left_out_and_said_with_its_text_escaped(days: tuple[date, date]) -> None:
    agent = queries.filter_options().agents[0]
    at = open_page("app_pages/overview.py", {"agent": [agent, "<b>nobody</b>"]})
    assert f"agent “{escape_markdown('<b>nobody</b>')}”" in said(at)
    assert at.sidebar.multiselect(key="f_agent").value == [agent]
    assert param(at, "agent") == [agent]


def test_an_unknown_mode_source_and_call_on_the_failure_modes_page(days: tuple[date, date]) -> None:
    at = open_page("app_pages/failure_modes.py", {"mode": ["slow_turn", "no_such_mode"], "source": "martians",
                                                  "call": "call-that-is-not-here"})
    text = said(at)
    assert "failure mode “no\\_such\\_mode”" in text and "labels from “martians”" in text
    assert "call “call\\-that\\-is\\-not\\-here”" in text
    assert at.sidebar.multiselect(key="fm_modes").value == ["slow_turn"]
    assert at.sidebar.radio(key="fm_source").value == "judge"


def test_an_unknown_judge_version_on_the_calibration_page(days: tuple[date, date]) -> None:
    at = open_page("app_pages/calibration.py", {"judge": "v0-gone"})
    assert "judge version “v0\\-gone”" in said(at)


def _session(days: tuple[date, date]) -> str:
    first, last = days
    return reviews.create_session(reviews.SessionSpec(name="Week 1", start=first, end=last, seed=1, sample_size=3))


def test_an_unknown_session_on_the_summary_page(synthetic_warehouse: Path, days: tuple[date, date]) -> None:
    known = _session(days)
    at = open_page("app_pages/review_summary.py", {"session": "gone"})
    assert "review session “gone”" in said(at)
    assert param(at, "session") == [known]


@pytest.mark.parametrize("asked, shown", [("999", 3), ("-4", 1), ("third", 1)])
def test_a_call_outside_the_session_lands_on_a_real_one(
    synthetic_warehouse: Path, days: tuple[date, date], asked: str, shown: int
) -> None:
    session_id = _session(days)
    at = open_page("app_pages/review.py", {"session": session_id, "call": asked})
    assert f"which has calls 1 to 3: showing call {shown}." in said(at)
    assert at.title[0].value.startswith(f"Call {shown} of 3")
    assert param(at, "call") == [str(shown)]


@pytest.mark.parametrize(("value", "on", "message"), [
    ("on", True, None), ("off", False, None),
    ("maybe", False, "The link asks for projector mode “maybe”"),
])  # fmt: skip
def test_a_links_projector_mode_is_on_off_or_said_and_left_out(synthetic_warehouse: Path, value: str, on: bool,
                                                                  message: str | None) -> None:
    at = open_page("app_pages/overview.py", {"projector": value})
    assert at.toggle(key="projector_mode").value is on
    assert (message in said(at)) if message else "projector" not in said(at)
    charts = at.get("vega_lite_chart")
    assert charts, "the overview draws its trend charts"
    config = json.loads(charts[0].proto.spec).get("config", {})
    assert (config.get("axis", {}).get("labelFontSize", 0) >= 16) is on
