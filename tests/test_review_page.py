"""The weekly review pages through Streamlit's AppTest: drawing a session, scoring calls, and
everything typed surviving reruns, reloads and page switches."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests import busy, review_fixture
from warehouse import reviews
from warehouse.stats import wilson_interval

APP = Path(__file__).resolve().parent.parent / "app.py"
REVIEW = "app_pages/review.py"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    st.cache_data.clear()


@pytest.fixture
def warehouse(synthetic_warehouse: Path) -> Path:
    review_fixture.enrich(synthetic_warehouse)
    review_fixture.make_hostile(synthetic_warehouse)
    return synthetic_warehouse


def open_review(query: dict[str, str] | None = None) -> AppTest:
    """The review page as a fresh browser session (a reload) would see it."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.switch_page(REVIEW)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def draw(at: AppTest, size: int = 5, seed: int = 1234) -> str:
    at.number_input(key="ns_size").set_value(size)
    at.number_input(key="ns_seed").set_value(seed)
    at.button(key="FormSubmitter:new_session-Draw the calls").click().run()
    assert not at.exception, at.exception
    return param(at, "session")


def param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value if isinstance(value, str) else value[0]


def field(at: AppTest, name: str):
    """The scoring widget `name` of the call on screen."""
    matches = [w for w in at.main.get(_KINDS[name]) if getattr(w, "key", "") and w.key.startswith(f"rv_{name}_")]
    assert len(matches) == 1, [w.key for w in at.main.get(_KINDS[name])]
    return matches[0]


_KINDS = {"score": "button_group", "verdict": "button_group", "notes": "text_area", "labels": "multiselect",
          "test_case": "checkbox"}  # fmt: skip


def score(at: AppTest, value: int, verdict: str, notes: str = "", labels: tuple[str, ...] = ()) -> None:
    field(at, "score").set_value(value).run()
    field(at, "verdict").set_value(verdict).run()
    if labels:
        field(at, "labels").set_value(list(labels)).run()
    if notes:
        field(at, "notes").input(notes).run()


def title(at: AppTest) -> str:
    return at.title[0].value


def shown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_score_three_calls_and_find_them_after_a_rerun_and_a_reload(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    assert title(at) == "Call 1 of 5"
    at.text_input(key="reviewer").input("Ana").run()
    for n, (value, verdict) in enumerate([(4, "Pass"), (2, "Fail"), (5, "Pass")], start=1):
        assert title(at).startswith(f"Call {n} of 5")
        score(at, value, verdict, notes=f"note {n}", labels=("slow_turn",) if verdict == "Fail" else ())
        at.button(key="rv_save_next").click().run()
        assert not at.exception, at.exception
        assert at.success[0].value.startswith(f"Saved: {value} / 5, {verdict.lower()}, by Ana")
    assert "**3 / 5 scored**" in shown_text(at)
    at.run()
    assert "**3 / 5 scored**" in shown_text(at)

    again = open_review({"session": session_id, "call": "2", "reviewer": "Ana"})
    assert title(again) == "Call 2 of 5 ✓"
    assert "**3 / 5 scored**" in shown_text(again)
    assert (field(again, "score").value, field(again, "verdict").value) == (2, "Fail")
    assert field(again, "notes").value == "note 2" and field(again, "labels").value == ["slow_turn"]
    current = reviews.current_reviews(session_id)
    assert sorted(current["score"].to_list()) == [2, 4, 5] and set(current["reviewer"]) == {"Ana"}

    stranger = open_review({"session": session_id, "call": "3"})
    assert field(stranger, "score").value == 5, "reopening shows the saved review even before naming oneself"


def test_what_is_typed_survives_a_page_switch_and_a_reload_before_saving(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    at.text_input(key="reviewer").input("Ana").run()
    score(at, 3, "Fail", notes="half-written thought")
    at.switch_page("app_pages/overview.py").run()
    at.switch_page(REVIEW).run()
    assert field(at, "notes").value == "half-written thought" and field(at, "score").value == 3
    reloaded = open_review({"session": session_id, "call": "1", "reviewer": "Ana"})
    assert field(reloaded, "notes").value == "half-written thought"
    assert any("Unsaved changes" in c.value for c in reloaded.caption)


def test_a_draft_is_one_reviewers_and_no_other_browser_sees_it(warehouse: Path) -> None:
    ana = open_review()
    session_id = draw(ana)
    ana.text_input(key="reviewer").input("Ana").run()
    score(ana, 2, "Fail", notes="Ana's unsaved thought")
    stranger = open_review({"session": session_id, "call": "1"})
    assert field(stranger, "notes").value == "" and field(stranger, "score").value is None
    assert not any("Unsaved changes" in c.value for c in stranger.caption)
    stranger.text_input(key="reviewer").input("Tom").run()
    score(stranger, 5, "Pass")
    stranger.button(key="rv_save").click().run()
    saved = reviews.current_reviews(session_id)
    assert saved["notes"].to_list() == [""] and saved["reviewer"].to_list() == ["Tom"], "Tom saved only his own"
    tom = open_review({"session": session_id, "call": "1", "reviewer": "Tom"})
    assert (field(tom, "score").value, field(tom, "notes").value) == (5, ""), "Tom sees his save, not Ana's draft"
    again = open_review({"session": session_id, "call": "1", "reviewer": "Ana"})
    assert field(again, "notes").value == "Ana's unsaved thought" and field(again, "score").value == 2


def test_before_naming_a_reviewer_what_is_typed_stays_in_this_browser(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    score(at, 3, "Fail", notes="typed before naming myself")
    at.switch_page("app_pages/overview.py").run()
    at.switch_page(REVIEW).run()
    assert field(at, "notes").value == "typed before naming myself", "a page switch keeps it"
    elsewhere = open_review({"session": session_id, "call": "1"})
    assert field(elsewhere, "notes").value == "" and field(elsewhere, "score").value is None
    assert not list(warehouse.with_suffix(".drafts").glob("*.json")), "nothing unowned is written to disk"


def test_saving_without_a_reviewer_is_refused_with_a_clear_message(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    score(at, 4, "Pass")
    at.button(key="rv_save").click().run()
    assert "choose who is reviewing first" in at.error[0].value
    assert reviews.current_reviews(session_id).is_empty()
    assert field(at, "score").value == 4, "the refused score is still on screen to save once named"


def test_a_busy_warehouse_on_save_says_so_and_keeps_what_was_typed(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_review()
    session_id = draw(at)
    at.text_input(key="reviewer").input("Ana").run()
    score(at, 2, "Fail", notes="typed while ingest held the file")
    with busy.held(warehouse, monkeypatch):
        at.button(key="rv_save").click().run()
        assert not at.exception, [e.message for e in at.exception]
        shown = [e.value for e in at.error]
        assert any("The warehouse is busy" in text for text in shown), shown
        assert any("What you typed is kept as a draft" in text for text in shown), "said beside Save, from cache"
        assert not any("/" in text or "PID" in text for text in shown), shown
    assert reviews.current_reviews(session_id).is_empty()
    at.run()
    assert field(at, "notes").value == "typed while ingest held the file" and field(at, "score").value == 2
    at.button(key="rv_save").click().run()
    assert reviews.current_reviews(session_id)["notes"].to_list() == ["typed while ingest held the file"]


def test_a_busy_warehouse_on_save_and_next_comes_back_to_the_call_with_what_was_typed(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"Save and next" writes while the next call is drawn: when the write fails, the room is taken
    back to the call, its score and notes still there, the reason beside Save, nothing counted."""
    at = open_review()
    session_id = draw(at)
    at.text_input(key="reviewer").input("Ana").run()
    at.button(key="rv_next").click().run()  # the next call read once, so only the save needs the file
    at.button(key="rv_prev").click().run()
    score(at, 3, "Fail", notes="typed before the save failed")
    with busy.held(warehouse, monkeypatch):
        at.button(key="rv_save_next").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert title(at) == "Call 1 of 5" and param(at, "call") == "1"
        assert any("The warehouse is busy" in e.value for e in at.error), [e.value for e in at.error]
        assert "**0 / 5 scored**" in shown_text(at)
        assert (field(at, "score").value, field(at, "notes").value) == (3, "typed before the save failed")
    assert reviews.current_reviews(session_id).is_empty()
    at.button(key="rv_save_next").click().run()
    assert title(at) == "Call 2 of 5" and at.success[0].value.startswith("Saved: 3 / 5, fail, by Ana")
    assert reviews.current_reviews(session_id)["notes"].to_list() == ["typed before the save failed"]


def test_an_incomplete_review_is_refused_on_save_and_next_without_moving_on(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    at.text_input(key="reviewer").input("Ana").run()
    field(at, "score").set_value(4).run()
    at.button(key="rv_save_next").click().run()
    assert title(at) == "Call 1 of 5" and "say whether the call passes or fails" in at.error[0].value
    assert field(at, "score").value == 4 and reviews.current_reviews(session_id).is_empty()


def test_a_busy_warehouse_on_save_decisions_says_so_and_keeps_the_text(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_review()
    session_id = draw(at, size=3)
    at.switch_page("app_pages/review_summary.py")
    at.query_params["session"] = session_id
    at.run()
    at.text_area(key=f"decisions_{session_id}").input("Fix the slow price lookup.").run()
    with busy.held(warehouse, monkeypatch):
        at.button[[b.label for b in at.button].index("Save decisions")].click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("The warehouse is busy" in e.value for e in at.error), [e.value for e in at.error]
        assert any("What you typed is kept as a draft" in e.value for e in at.error), [e.value for e in at.error]
    at.run()
    assert at.text_area(key=f"decisions_{session_id}").value == "Fix the slow price lookup."
    assert not reviews.get_session(session_id).decisions


def test_with_oidc_configured_reviewers_sign_in_instead_of_typing_a_name(warehouse: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test",
                          "client_id": "callboard", "client_secret": "secret",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.switch_page(REVIEW)
    at.run()
    session_id = draw(at)
    assert [b.label for b in at.button if b.label == "Sign in to score"] == ["Sign in to score"]
    assert not [t for t in at.text_input if t.key == "reviewer"], "no name to type when sign-in is configured"
    score(at, 4, "Pass")
    at.button(key="rv_save").click().run()
    assert "choose who is reviewing first" in at.error[0].value
    assert reviews.current_reviews(session_id).is_empty()


def test_an_edit_keeps_the_earlier_version(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at)
    at.text_input(key="reviewer").input("Ana").run()
    score(at, 4, "Pass")
    at.button(key="rv_save").click().run()
    score(at, 2, "Fail", notes="missed the price error")
    at.button(key="rv_save").click().run()
    history = reviews.call_history(reviews.get_session(session_id).call_ids[0])
    assert history["score"].to_list() == [2, 4]
    assert any(e.label == "History: 2 saves" for e in at.expander)


def test_the_same_seed_draws_the_same_sample(warehouse: Path) -> None:
    first = draw(open_review(), size=8, seed=2026)
    second = draw(open_review(), size=8, seed=2026)
    third = draw(open_review(), size=8, seed=2027)
    calls = {s: reviews.get_session(s).call_ids for s in (first, second, third)}
    assert first != second and calls[first] == calls[second] != calls[third]


def test_moving_between_calls_and_jumping(warehouse: Path) -> None:
    at = open_review()
    draw(at, size=6)
    at.button(key="rv_next").click().run()
    assert title(at).startswith("Call 2 of 6") and param(at, "call") == "2"
    at.number_input(key="rv_jump").set_value(6).run()
    assert title(at).startswith("Call 6 of 6") and at.button(key="rv_next").disabled
    at.button(key="rv_prev").click().run()
    assert title(at).startswith("Call 5 of 6")


def test_customer_text_is_escaped_in_the_transcript(warehouse: Path) -> None:
    at = open_review()
    draw(at, size=3)
    text = shown_text(at)
    assert "\\<script\\>window" in text and "<script>" not in text
    assert "onerror\\=" in text and "\\$x\\$" in text and "\\:red\\[hi\\]" in text


def test_a_new_failure_mode_is_added_and_tagged_on_the_spot(warehouse: Path) -> None:
    at = open_review()
    draw(at)
    at.text_input(key="rv_new_name").input("Wrong clinic")
    at.text_area(key="rv_new_description").input("Booked at another branch than the caller asked for.")
    at.button(key="rv_new_add").click().run()
    assert field(at, "labels").value == ["wrong_clinic"]
    assert "wrong_clinic" in reviews.failure_modes()["name"].to_list()


def test_the_summary_page_shows_the_figures_and_offers_the_exports(warehouse: Path) -> None:
    at = open_review()
    session_id = draw(at, size=4)
    at.text_input(key="reviewer").input("Ana").run()
    for value, verdict in [(4, "Pass"), (2, "Fail")]:
        score(at, value, verdict)
        at.button(key="rv_save_next").click().run()
    at.switch_page("app_pages/review_summary.py")
    at.query_params["session"] = session_id
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls scored"] == "2 / 4" and metrics["Pass rate, all calls"] == "50%"
    assert metrics["Passed in this sample"] == "50%"
    # A uniform draw is one stratum: Wilson's 9%–91% for 1 of 2, narrowed by the finite-population
    # correction for 2 of the period's calls.
    period_calls = reviews.get_session(session_id).weights[0] * 4
    half = (0.5 - wilson_interval(1, 2)[0]) * math.sqrt(1 - 2 / period_calls)
    assert any(c.value == f"95% range {0.5 - half:.0%} – {0.5 + half:.0%}" for c in at.caption)
    at.text_area(key=f"decisions_{session_id}").input("Fix the slow price lookup.").run()
    at.button[[b.label for b in at.button].index("Save decisions")].click().run()
    assert reviews.get_session(session_id).decisions == "Fix the slow price lookup."
    assert {"Download summary (Markdown)", "Download calls (CSV)"} <= {b.label for b in at.get("download_button")}


def test_a_session_id_from_the_url_is_shown_as_text(warehouse: Path) -> None:
    at = open_review({"session": "[click](http://example.invalid)"})
    assert "\\[click\\]\\(http" in at.error[0].value  # escaped: Markdown shows the brackets, makes no link
