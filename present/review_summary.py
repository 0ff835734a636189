"""A review session's summary as Markdown, to paste into the meeting notes. Names, notes and
decisions are the team's and the customers' text: each goes through present/markdown.py, so a note
cannot bring HTML, an image or a link into the notes it is pasted into."""

from __future__ import annotations

import polars as pl

from present.markdown import code_span, escape_markdown, one_line
from warehouse.review_summary import SessionSummary, describe_filters
from warehouse.sampling import STRATEGIES


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _cell(value: object) -> str:
    """Text escaped on one line (it sits in a table cell or a list item); figures as they are."""
    return one_line(value) if isinstance(value, str) else "" if value is None else str(value)


def _table(frame: pl.DataFrame, columns: dict[str, str], percent: tuple[str, ...] = ()) -> list[str]:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_pct(row[c]) if c in percent else _cell(row[c]) for c in columns) + " |"
              for row in frame.iter_rows(named=True)]  # fmt: skip
    return lines


def _reviewer_lines(summary: SessionSummary) -> list[str]:
    pair = summary.reviewers
    if pair is None:
        return ["Only one person scored these calls."]
    kappa = "—" if pair.kappa is None else f"{pair.kappa:.2f}"
    lines = [f"{_cell(pair.first)} and {_cell(pair.second)}: same pass / fail on {pair.agreed} of {pair.calls} "
             f"calls, κ = {kappa}.", ""]
    verdict = {True: "pass", False: "fail"}
    return lines + [
        f"- #{row['position']} {code_span(row['call_id'])}: {_cell(pair.first)} {row['score']}/5 "
        f"{verdict[row['passed']]}, {_cell(pair.second)} {row['score_2']}/5 {verdict[row['passed_2']]}"
        for row in pair.disagreements.iter_rows(named=True)
    ]


def to_markdown(summary: SessionSummary) -> str:
    """The summary as Markdown."""
    s = summary.session
    interval = summary.pass_interval
    lines = [
        f"# Review: {_cell(s.name)}",
        "",
        f"- Period: {s.start} – {s.end} ({_cell(describe_filters(s))})",
        f"- Sample: {len(s.call_ids)} calls, {STRATEGIES[s.strategy].lower()}, seed {s.seed}",
        f"- Calls scored: {summary.scored} / {len(s.call_ids)}",
        f"- Pass rate, all calls: {_pct(summary.pass_rate)}; 95% interval "
        + (f"{interval[0]:.0%}–{interval[1]:.0%}" if interval else "—"),
        f"- Passed in this sample: {_pct(summary.sample_pass_rate)} ({summary.passed} of {summary.decided})",
        "",
        "## Failure modes",
        "",
        *(_table(summary.failure_modes, {"label": "Failure mode", "calls": "Calls"}) if summary.failure_modes.height
          else ["None tagged."]),
        "",
        "## Agreement with the judge",
        "",
        "Agreement, all calls: each group of the draw counted by the calls it stands for, like the pass rate.",
        "",
        *(_table(summary.agreement, {"label": "Label", "calls": "Calls compared", "agreed": "Agreed",
                                     "agreement": "Agreement, all calls", "sample_agreement": "In this sample"},
                 percent=("agreement", "sample_agreement"))
          if summary.agreement.height else ["No scored call has a judgement yet."]),
        "",
        "## Where the reviewers disagree",
        "",
        *_reviewer_lines(summary),
        "",
        "## Make these test cases",
        "",
        *([f"- #{row['position']} {code_span(row['call_id'])} ({_cell(row['reviewer'])}): {_cell(row['notes'])}"
           for row in summary.test_cases.iter_rows(named=True)] or ["None flagged."]),
        "",
        "## Decisions",
        "",
        escape_markdown(s.decisions) or "None written yet.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)
