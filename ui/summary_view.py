"""A review session's summary as the room sees it at the end of the meeting: how many calls were
scored and passed (with the uncertainty), which failure modes came up, how far the judge agreed,
which calls become test cases, and what was decided; plus the Markdown and CSV exports."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from export import table_files
from export.redaction import redact
from present.charts import AXIS_PX, PALETTE
from present.formats import percent
from present.markdown import escape_markdown
from present.review_summary import to_markdown
from ui import charts
from ui.tables import show_table
from warehouse import drafts, review_summary, reviews
from warehouse.errors import CallboardError
from warehouse.review_summary import SessionSummary
from warehouse.sampling import STRATEGIES

DECISIONS = "__decisions__"  # the drafts key of a session's decisions box
MESSAGE = "summary_message"  # what the last save or close said, shown once under the decisions


def show_figures(summary: SessionSummary) -> None:
    total = len(summary.session.call_ids)
    interval = summary.pass_interval
    scored, rate, sample, follow_up = st.columns(4)
    scored.metric("Calls scored", f"{summary.scored} / {total}")
    rate.metric("Pass rate, all calls", percent(summary.pass_rate), help="The share of every call in the period "
                "that would pass: each group of the draw (an agent, the judge-flagged calls) counts by the calls "
                "it stands for, over the calls scored so far. The 95% range allows for which calls happened to be "
                "drawn; with few calls it is wide, and that is the honest answer.")  # fmt: skip
    rate.caption(f"95% range {interval[0]:.0%} – {interval[1]:.0%}" if interval else "No pass/fail yet")
    sample.metric("Passed in this sample", percent(summary.sample_pass_rate), help="Passed ÷ calls given a pass or "
                  "fail, as drawn: an oversampled draw holds more flagged calls than the period does, so this is "
                  "not the period's rate.")  # fmt: skip
    sample.caption(f"{summary.passed} of {summary.decided}")
    follow_up.metric("Test cases", summary.test_cases.height)
    if summary.unrepresented_calls:
        st.caption(f"No call scored yet from a group standing for {summary.unrepresented_calls:,} calls: the pass "
                   "rate covers the other groups only.")


def _caption(summary: SessionSummary) -> str:
    """The session's name, period and filters, for its chart and table downloads."""
    s = summary.session
    return f"{s.name} · {s.start:%d %b} – {s.end:%d %b %Y} · {review_summary.describe_filters(s)}"


def _mode_chart(modes: pl.DataFrame) -> alt.Chart:
    return (
        alt.Chart(modes, height=alt.Step(40))
        .mark_bar(color=PALETTE[5], height=28)
        .encode(
            x=alt.X("calls:Q", title="Calls",
                    axis=alt.Axis(tickMinStep=1, labelFontSize=AXIS_PX, titleFontSize=AXIS_PX)),
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelFontSize=AXIS_PX, labelLimit=300)),
            tooltip=[alt.Tooltip("label:N", title="Failure mode"), alt.Tooltip("calls:Q", title="Calls")],
        )
    )


def show_failure_modes(summary: SessionSummary) -> None:
    st.subheader("Failure modes")
    if summary.failure_modes.is_empty():
        st.caption("No failure mode tagged yet.")
        return
    charts.show(_mode_chart(summary.failure_modes), title="Failure modes in the review", caption=_caption(summary),
                key="summary-modes")


def show_agreement(summary: SessionSummary) -> None:
    st.subheader("Agreement with the judge")
    if summary.agreement.is_empty():
        st.caption("None of the scored calls has a judgement yet.")
        return
    st.caption("Share of calls on which the reviewers and the judge agree that a label applies or does not. "
               "“All calls” counts each group of the draw by the calls it stands for, like the pass rate (an "
               "oversampled draw holds more judge-flagged calls than the period); “in this sample” is as drawn. "
               "For pass / fail, “said yes” counts fails.")
    table = summary.agreement.with_columns(
        range=pl.format("{}–{}", *(pl.col(c).mul(100).round(0).cast(pl.Int64) for c in ("agreement_low",
                                                                                       "agreement_high"))) + "%"
    )
    show_table(
        table.select("label", "agreement", "range", "sample_agreement", "agreed", "calls", "human_yes", "judge_yes"),
        "agreement with the judge", _caption(summary),
        hide_index=True,
        width="stretch",
        column_config={  # short headers (the help says the rest): every column in view at 1280×720
            "label": "Label",
            "agreement": st.column_config.ProgressColumn("Agreement, all calls", format="percent", min_value=0,
                                                         max_value=1),
            "range": "95% range",
            "sample_agreement": st.column_config.NumberColumn("In sample", format="percent",
                                                              help="Agreement in this sample, as drawn."),
            "agreed": "Agreed",
            "calls": st.column_config.NumberColumn("Of", help="Calls compared: scored by the reviewers and judged."),
            "human_yes": st.column_config.NumberColumn("Reviewers: yes", help="Calls the reviewers said the label "
                                                       "applies to."),
            "judge_yes": st.column_config.NumberColumn("Judge: yes", help="Calls the judge said the label applies to."),
        },
    )  # fmt: skip


def show_reviewers(summary: SessionSummary) -> None:
    """Where the two reviewers (say the PM and the engineer) disagree, and how far they agree."""
    pair = summary.reviewers
    st.subheader("Where the reviewers disagree")
    if pair is None:
        st.caption("Only one person has scored these calls. When a second scores the same calls on their own, "
                   "this shows where the two disagree.")
        return
    first, second = escape_markdown(pair.first), escape_markdown(pair.second)
    kappa = "—" if pair.kappa is None else f"{pair.kappa:.2f}"
    agree, together, split = st.columns(3)
    agree.metric("Same pass / fail", f"{pair.agreed} of {pair.calls}")
    together.metric("Agreement beyond chance (κ)", kappa, help="Cohen's kappa on pass / fail: 0 is what two people "
                    "guessing at these rates would reach, 1 is full agreement. Below 0.4, agree what “pass” means "
                    "before trusting one person's scores.")  # fmt: skip
    split.metric("Calls to talk about", pair.disagreements.height)
    st.caption(f"{first} and {second}, on the {pair.calls} calls both gave a pass or fail; listed: a different "
               f"verdict, or scores {review_summary.SCORE_GAP} or more apart.")
    if pair.disagreements.height:
        # Each reviewer's score and verdict share a cell and the notes wrap, so a room reads every
        # note in full at 1280×720; the downloads keep the score and verdict columns apart.
        shown = pair.disagreements.with_columns(verdict=_verdict("score", "passed"),
                                                verdict_2=_verdict("score_2", "passed_2")).select(
            "position", "call_id", "verdict", "notes", "verdict_2", "notes_2", "score", "passed", "score_2", "passed_2")
        show_table(
            shown, "reviewer disagreements", _caption(summary), wrap=True, one_line=("call_id",), hide_index=True,
            width="stretch",
            column_config={
                "position": "Call", "call_id": "Call id", "score": None, "passed": None, "score_2": None,
                "passed_2": None, "verdict": pair.first, "notes": f"{pair.first}: notes", "verdict_2": pair.second,
                "notes_2": f"{pair.second}: notes",
            },
        )  # fmt: skip


def _verdict(score: str, passed: str) -> pl.Expr:
    """'3 / 5, fail': a reviewer's score and pass or fail in words ('—' for what they left out)."""
    words = pl.when(pl.col(passed)).then(pl.lit("pass")).when(pl.col(passed).not_()).then(pl.lit("fail"))
    return pl.concat_str(pl.col(score).cast(pl.String).fill_null("—"), pl.lit(" / 5, "), words.fill_null("—"))


def show_test_cases(summary: SessionSummary) -> None:
    st.subheader("Make these test cases")
    if summary.test_cases.is_empty():
        st.caption("No call flagged yet.")
        return
    for row in summary.test_cases.iter_rows(named=True):
        st.page_link("app_pages/review.py", label=f"Call {row['position']} · {escape_markdown(row['call_id'])}",
                     icon=":material/science:",
                     query_params={"session": summary.session.session_id, "call": str(row["position"])})
        st.markdown(f"{escape_markdown(row['reviewer'])}: {escape_markdown(row['notes']) or '(no notes)'}")


def _save_decisions(session_id: str) -> None:
    text = st.session_state[f"decisions_{session_id}"]
    try:
        reviews.save_decisions(session_id, text)
    except CallboardError as error:  # a callback runs outside app.py's frame: the busy warehouse is said here
        st.session_state[MESSAGE] = ("error", drafts.not_saved(error))
        return
    drafts.discard(session_id, DECISIONS, drafts.ROOM)
    st.session_state[MESSAGE] = ("success", "Decisions saved.")


def _keep_decisions_draft(session_id: str) -> None:
    drafts.save(session_id, DECISIONS, drafts.ROOM, {"text": st.session_state[f"decisions_{session_id}"]})


def show_decisions(summary: SessionSummary) -> None:
    session = summary.session
    key = f"decisions_{session.session_id}"
    if key not in st.session_state:
        draft = drafts.load(session.session_id, DECISIONS, drafts.ROOM)
        st.session_state[key] = draft["text"] if draft else session.decisions or ""
    st.subheader("Decisions")
    st.text_area("What we decided to fix, and who does it", key=key, height=160,
                 on_change=_keep_decisions_draft, args=(session.session_id,))
    st.button("Save decisions", type="primary", on_click=_save_decisions, args=(session.session_id,))
    if message := st.session_state.pop(MESSAGE, None):
        kind, text = message
        st.error(escape_markdown(text)) if kind == "error" else st.success(text)


def _toggle(session: reviews.ReviewSession) -> None:
    try:
        (reviews.close_session if session.is_open else reviews.reopen_session)(session.session_id)
    except CallboardError as error:
        st.session_state[MESSAGE] = ("error", error.title)


def show_actions(summary: SessionSummary) -> None:
    session = summary.session
    slug = "".join(ch if ch.isalnum() else "-" for ch in session.name.lower()).strip("-") or "review"
    markdown, csv, toggle = st.columns(3)
    markdown.download_button("Download summary (Markdown)", redact(to_markdown(summary)),
                             file_name=f"{slug}.md", mime="text/markdown", width="stretch")
    csv.download_button("Download calls (CSV)", table_files.csv_bytes(summary.calls), file_name=f"{slug}.csv",
                        mime="text/csv", width="stretch")
    toggle.button("Close the session" if session.is_open else "Reopen the session", on_click=_toggle,
                  args=(session,), width="stretch")


def show_summary(summary: SessionSummary) -> None:
    s = summary.session
    st.title(f"Summary: {escape_markdown(s.name)}")
    st.caption(f"{s.start:%d %b} – {s.end:%d %b %Y} · {escape_markdown(review_summary.describe_filters(s))} · "
               f"{len(s.call_ids)} calls drawn {STRATEGIES[s.strategy].lower()}, seed {s.seed} · "
               f"{'open' if s.is_open else 'closed'}")
    show_figures(summary)
    # One under the other: the agreement table needs the whole width to show every column at
    # 1280×720 (beside the chart it scrolled sideways, with the sidebar open or closed).
    show_failure_modes(summary)
    show_agreement(summary)
    show_reviewers(summary)
    show_test_cases(summary)
    show_decisions(summary)
    show_actions(summary)
