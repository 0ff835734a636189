"""The scoring form of the weekly review: score, pass/fail, failure-mode tags (a new one can be
added on the spot), notes and "make this a test case".

Every change is written at once to the reviewer's own draft (warehouse/drafts.py), so nothing typed is
lost on a rerun, a page switch or a reload; "Save" turns the draft into a review row with the reviewer
and the time. Before anyone has named themselves, what is typed is kept in this browser's Streamlit
session only (it survives a page switch, not a reload): a draft on disk with no owner would be
anyone's to see and save. Reopening a call shows this reviewer's draft if there is one, else the
saved review (this reviewer's, else the newest anyone saved).

The form is a fragment (`review_aside`): a score, a verdict, a tag, notes or Save rerun only the
form, never the transcript, the player or the waterfall beside it, which is what makes a click feel
instant in the meeting. Keys (ui/review_keys.py) click the same controls."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from present.failure_modes import OWNER_NAMES
from present.markdown import escape_markdown, one_line
from ui import data
from ui.presenter import PROGRESS, advance
from ui.review_keys import scoring_keys
from ui.reviewer import reviewer_picker
from ui.tables import show_table
from warehouse import drafts, reviews
from warehouse.errors import CallboardError

VERDICTS = ("Pass", "Fail")
FIELDS = ("score", "verdict", "labels", "notes", "test_case")
EMPTY: dict[str, object] = {"score": None, "verdict": None, "labels": [], "notes": "", "test_case": False}
MESSAGE = "rv_message"
UNNAMED_DRAFTS = "rv_unnamed_drafts"  # session state: what this browser typed before naming a reviewer
SAVING = "rv_saving"  # session state: the saves "Save and next" started, as (review, future)
FORM = "review_form"  # the form's fragment, rerun by name with the header's progress after a Save


def _key(field: str, session_id: str, call_id: str) -> str:
    return f"rv_{field}_{session_id}_{call_id}"


def _from_review(row: dict) -> dict:
    return {
        "score": row["score"],
        "verdict": None if row["passed"] is None else VERDICTS[0] if row["passed"] else VERDICTS[1],
        "labels": list(row["labels"] or []),
        "notes": row["notes"] or "",
        "test_case": bool(row["test_case"]),
    }


def _unnamed(session_id: str, call_id: str) -> str:
    return f"{session_id}\0{call_id}"


def _draft(session_id: str, call_id: str, reviewer: str | None) -> dict | None:
    """This reviewer's draft of the call, or with no reviewer this browser's own."""
    if reviewer:
        return drafts.load(session_id, call_id, reviewer)
    return st.session_state.get(UNNAMED_DRAFTS, {}).get(_unnamed(session_id, call_id))


def _initial(session_id: str, call_id: str, reviewer: str | None, saved: pl.DataFrame) -> dict:
    """The reviewer's draft if there is one, else the newest of `saved` (this reviewer's saves, or
    when they have none, everyone's), else an empty form."""
    draft = _draft(session_id, call_id, reviewer)
    if draft is not None:
        return {**EMPTY, **draft}
    return _from_review(saved.row(0, named=True)) if saved.height else dict(EMPTY)


def _values(session_id: str, call_id: str) -> dict:
    return {field: st.session_state.get(_key(field, session_id, call_id), EMPTY[field]) for field in FIELDS}


def _keep_draft(session_id: str, call_id: str, reviewer: str | None) -> None:
    values = _values(session_id, call_id)
    if reviewer:
        drafts.save(session_id, call_id, reviewer, values)
    else:
        st.session_state.setdefault(UNNAMED_DRAFTS, {})[_unnamed(session_id, call_id)] = values


def _discard_draft(session_id: str, call_id: str, reviewer: str) -> None:
    drafts.discard(session_id, call_id, reviewer)
    st.session_state.get(UNNAMED_DRAFTS, {}).pop(_unnamed(session_id, call_id), None)


def _review(session_id: str, call_id: str, reviewer: str | None) -> reviews.Review:
    v = _values(session_id, call_id)
    return reviews.Review(
        session_id=session_id, call_id=call_id, reviewer=reviewer, score=v["score"],
        passed=None if v["verdict"] is None else v["verdict"] == VERDICTS[0],
        labels=tuple(v["labels"]), notes=v["notes"].strip(), test_case=v["test_case"],
    )  # fmt: skip


def _saved(review: reviews.Review, save: Callable[[], object]) -> bool:
    """Run (or wait for) `save` and say beside Save how it went; a saved review's draft is dropped,
    a refused or failed one's kept."""
    try:
        save()
    except CallboardError as error:  # refused, or the warehouse busy
        st.session_state[MESSAGE] = ("error", drafts.not_saved(error))
        return False
    _discard_draft(review.session_id or "", review.call_id, review.reviewer or "")
    verdict = VERDICTS[0] if review.passed else VERDICTS[1]
    st.session_state[MESSAGE] = ("success", f"Saved: {review.score} / 5, {verdict.lower()}, by "
                                            f"{escape_markdown(review.reviewer)} at {review.created_at:%H:%M} UTC.")
    return True


def _save(session_id: str, call_id: str, reviewer: str | None, then: Callable[[], None] | None) -> None:
    """Save; with `then` ("Save and next"), check the review here, then write it while the next call
    is drawn: the next call's form waits for the write (`_finish_saving`)."""
    review = _review(session_id, call_id, reviewer)
    if then is None:
        if _saved(review, lambda: data.save_review(review)):
            st.rerun([FORM, PROGRESS])  # the form and the header's progress ("12 / 50 scored", ✓), not the call
        return
    try:
        data.check_review(review)
    except CallboardError as error:  # refused ("give the call a score"): said beside Save, on this call
        st.session_state[MESSAGE] = ("error", drafts.not_saved(error))
        return
    st.session_state.setdefault(SAVING, []).append((review, data.save_review_in_background(review)))
    then()
    st.rerun()  # the next call: a run of the whole page, at once rather than after a run of the form


def _finish_saving(session: reviews.ReviewSession) -> None:
    """Wait for the saves "Save and next" started (the call beside the form is drawn by now) and
    say how they went. One that failed (a busy warehouse) takes the room back to its call, where
    what was typed is still there, with the reason beside Save."""
    started = st.session_state.pop(SAVING, [])
    failed = [review.call_id for review, saving in started if not _saved(review, saving.result)]
    if failed:
        st.query_params["call"] = str(session.call_ids.index(failed[0]) + 1)
        st.rerun()


def _add_mode(session_id: str, call_id: str, reviewer: str | None) -> None:
    name, description, owner = (st.session_state.get(f"rv_new_{f}") for f in ("name", "description", "owner"))
    try:
        added = data.add_failure_mode(name or "", description or "", owner or "")
    except CallboardError as error:  # a callback runs outside app.py's frame, so it says its own errors
        st.session_state[MESSAGE] = ("error", error.title)
        return
    labels = _key("labels", session_id, call_id)
    st.session_state[labels] = [*st.session_state.get(labels, []), added]
    for field in ("name", "description"):
        st.session_state[f"rv_new_{field}"] = ""
    _keep_draft(session_id, call_id, reviewer)
    st.session_state[MESSAGE] = ("success", f"Added the failure mode “{escape_markdown(added)}” and tagged this call "
                                            "with it.")


def _new_mode_popover(session_id: str, call_id: str, reviewer: str | None) -> None:
    with st.popover("+ New failure mode"):
        st.text_input("Name", key="rv_new_name", placeholder="e.g. wrong_clinic")
        st.text_area("What it means", key="rv_new_description", height=80,
                     placeholder="One sentence, so everyone tags it the same way.")
        st.radio("Who owns it", reviews.OWNERS, key="rv_new_owner", horizontal=True,
                 format_func=OWNER_NAMES.__getitem__)
        st.button("Add and tag", key="rv_new_add", on_click=_add_mode, args=(session_id, call_id, reviewer))


def _history(history: pl.DataFrame, session_id: str, reviewer: str | None) -> None:
    """Other reviewers' current scores, and every earlier save (edits are never overwritten)."""
    here = history.filter(pl.col("session_id") == session_id)
    if here.is_empty():
        return
    others = here.filter(pl.col("reviewer") != (reviewer or "")).unique("reviewer", keep="first", maintain_order=True)
    for row in others.iter_rows(named=True):
        verdict = "pass" if row["passed"] else "fail"
        st.caption(f"{escape_markdown(row['reviewer'])} scored it {row['score']} / 5, {verdict} "
                   f"({row['created_at']:%d %b %H:%M})")
    with st.expander(f"History: {here.height} save{'s' if here.height != 1 else ''}"):
        shown = here.select("created_at", "reviewer", "score", "passed", pl.col("labels").list.join(", "), "notes")
        show_table(shown, "review history", "every save of this call's score in this session", hide_index=True,
                   width="stretch")


def scoring_form(session_id: str, call_id: str, reviewer: str | None, then: Callable[[], None] | None = None) -> None:
    """Draw the form for one call of a session; `then` runs after a successful "Save and next"."""
    history = data.call_history(call_id)
    here = history.filter(pl.col("session_id") == session_id)
    mine = here.filter(pl.col("reviewer") == (reviewer or ""))
    if _key("score", session_id, call_id) not in st.session_state:
        for field, value in _initial(session_id, call_id, reviewer, mine if mine.height else here).items():
            st.session_state[_key(field, session_id, call_id)] = value
    draft = (session_id, call_id, reviewer)  # what _keep_draft saves on every change
    modes = data.current_taxonomy().modes
    known = modes["name"].to_list()
    labels_key = _key("labels", session_id, call_id)
    st.session_state[labels_key] = [label for label in st.session_state[labels_key] if label in known]
    with st.container(key="scoring"):
        st.segmented_control("Score (1 = bad, 5 = great)", [1, 2, 3, 4, 5], key=_key("score", session_id, call_id),
                             on_change=_keep_draft, args=draft)
        st.segmented_control("Verdict", VERDICTS, key=_key("verdict", session_id, call_id), on_change=_keep_draft,
                             args=draft)
        descriptions = dict(zip(known, modes["description"].to_list(), strict=True))
        st.multiselect("Failure modes", known, key=labels_key, placeholder="None", help="; ".join(
            f"{escape_markdown(name)}: {one_line(text)}" for name, text in descriptions.items()),
                       on_change=_keep_draft, args=draft)
        _new_mode_popover(session_id, call_id, reviewer)
        st.text_area("Notes", key=_key("notes", session_id, call_id), height=100,
                     placeholder="What went wrong or right, what to fix", on_change=_keep_draft, args=draft)
        st.checkbox("Make this a test case", key=_key("test_case", session_id, call_id), on_change=_keep_draft,
                    args=draft)
        save, save_next = st.columns([2, 3])  # "Save and next →" is the longer label: one line at 1280 px
        save.button("Save", key="rv_save", type="primary", width="stretch",
                    on_click=_save, args=(session_id, call_id, reviewer, None))
        save_next.button("Save and next →", key="rv_save_next", width="stretch",
                         on_click=_save, args=(session_id, call_id, reviewer, then))
        scoring_keys()
    if message := st.session_state.pop(MESSAGE, None):
        kind, text = message
        st.error(escape_markdown(text)) if kind == "error" else st.success(text)
    elif _draft(session_id, call_id, reviewer) is not None:
        st.caption("✎ Unsaved changes (kept as a draft until you save).")
    _history(history, session_id, reviewer)


@st.fragment(key=FORM)
def review_aside(session: reviews.ReviewSession, at: int, call_id: str) -> None:
    """Who is reviewing and the form for call number `at` of the session, rerun on their own (and,
    after a Save, with the header's progress). "Save and next" points the URL at the next call and
    reruns the whole page, which draws that call."""
    _finish_saving(session)
    reviewer = reviewer_picker()
    if session.is_open:
        scoring_form(session.session_id, call_id, reviewer, then=lambda: advance(session))
