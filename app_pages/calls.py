"""Calls: find one call (a customer's complaint names a number, a day, some words) or every call
like it, and open it in the review's call view. Every choice is in the URL, so a link shows the
same calls and the same open call."""

from __future__ import annotations

import streamlit as st

from present.markdown import escape_markdown, plain_table
from ui import data, url_params
from ui.call_grid import picked_call
from ui.call_opener import open_call
from ui.filters import require_filters
from warehouse.call_search import OUTCOMES, VERDICTS, CallSearch, Range

WAIT_TOP_S, COUNT_TOP = 10.0, 5.0  # the sliders' ends: "this much or more"

st.title("Calls")
filters = require_filters()
taxonomy = data.current_taxonomy()


def _picked(label: str, param: str, options: dict[str, str], help: str) -> tuple[str, ...]:
    wanted = url_params.known(st.query_params.get_all(param), options, label.lower())
    return tuple(st.sidebar.multiselect(label, list(options), default=wanted, format_func=options.__getitem__,
                                        placeholder="Any", key=f"calls_{param}", help=help))


def _slider(label: str, param: str, top: float, step: float, help: str) -> tuple[float, float]:
    low = url_params.number(f"{param}_min", f"the {label.lower()} filter", 0, top)
    high = url_params.number(f"{param}_max", f"the {label.lower()} filter", 0, top)
    ends = (low or 0.0, top if high is None else high)
    picked = st.sidebar.slider(label, 0.0, top, (min(ends), max(ends)), step=step, key=f"calls_{param}", help=help)
    return picked[0], picked[1]


st.sidebar.header("Narrow the calls")
outcomes = _picked("Outcome", "outcome", OUTCOMES, "How the call ended for the business (any of these).")
verdicts = _picked("Judge", "verdict", VERDICTS, "The judge's latest verdict on the call.")
mode_names = {name: name for name in taxonomy.names}
modes = _picked("Failure modes", "mode", mode_names, "Calls the judge gave any of these modes.")
wait = _slider("Longest wait (s)", "wait", WAIT_TOP_S, 0.5,
               f"The caller's longest wait for a reply in the call; {WAIT_TOP_S:g} means {WAIT_TOP_S:g} s or more.")
interruptions = _slider("Interruptions", "interruptions", COUNT_TOP, 1.0,
                        "Times someone started talking over the other, either way.")
dead_air = _slider("Dead air", "dead_air", COUNT_TOP, 1.0, "Long silences between turns.")

text = st.text_input("Find a call", value=st.query_params.get("q", ""), key="calls_q",
                     placeholder="Call id, trace id, phone number, or words said in the call",
                     help="Matches any call whose id contains it, whose caller's number ends with it, or where "
                          "someone said it (any case, as typed: % _ and quotes are plain characters).")
search = CallSearch(
    text=text,
    outcomes=outcomes,
    verdicts=verdicts,
    modes=tuple(alias for alias, name in taxonomy.aliases.items() if name in modes) if modes else (),
    longest_wait_ms=Range.from_slider(*wait, WAIT_TOP_S, scale=1000),
    interruptions=Range.from_slider(*interruptions, COUNT_TOP),
    dead_air=Range.from_slider(*dead_air, COUNT_TOP),
)
params: dict[str, str | tuple[str, ...]] = {"q": text.strip(), "outcome": outcomes, "verdict": verdicts,
                                           "mode": modes}
for param, (low, high), top in (("wait", wait, WAIT_TOP_S), ("interruptions", interruptions, COUNT_TOP),
                                ("dead_air", dead_air, COUNT_TOP)):
    params[f"{param}_min"] = f"{low:g}" if low > 0 else ""
    params[f"{param}_max"] = f"{high:g}" if high < top else ""
url_params.remember(params)

found = data.search_calls(filters, search)
shown = found.calls.height
listed = f", the newest {shown} are listed" if found.total > shown else ""
narrowed = [*(OUTCOMES[o] for o in outcomes), *(VERDICTS[v] for v in verdicts), *modes,
            *(f"{label} {low:g}–{high:g}{'+' if high == top else ''}"
              for label, (low, high), top in (("longest wait (s)", wait, WAIT_TOP_S),
                                              ("interruptions", interruptions, COUNT_TOP),
                                              ("dead air", dead_air, COUNT_TOP)) if low > 0 or high < top)]
narrowing = f" · narrowed to {', '.join(narrowed)}" if narrowed else ""
st.caption(f"{escape_markdown(filters.describe() + narrowing)} · {found.total:,} calls match{listed}. "
           "Click a row to open the call.")
if found.total == 0:
    st.info("No call in this period matches. Widen the period in the sidebar, or search for less.")
    st.stop()

clicked = picked_call(found.calls, "calls_table", lambda table_key, on_select: st.dataframe(
    plain_table(found.calls), key=table_key, on_select=on_select, selection_mode="single-row", hide_index=True,
    width="stretch", height=min(38 + 35 * shown, 420),
    column_order=[c for c in found.calls.columns if text.strip() or c not in ("matched_on", "snippet")],
    column_config={
        "call_id": "Call", "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM, HH:mm"),
        "agent": "Agent", "prompt_version": "Prompt", "caller": "Caller",
        "matched_on": "Found in", "snippet": st.column_config.TextColumn("What was said", width="large"),
        "booked": "Booked", "resolved": "Resolved", "escalated": "To a person", "verdict": "Judge",
        "judge_score": "Judge score", "judge_labels": "Failure modes (judge)",
        "longest_wait_s": st.column_config.NumberColumn("Longest wait (s)", format="%.1f"),
        "interruptions": "Interruptions", "dead_air": "Dead air",
        "duration_s": st.column_config.NumberColumn("Length (s)", format="%.0f"),
        "cost_usd": st.column_config.NumberColumn("Cost", format="$%.3f"),
    },
))  # fmt: skip
open_call(found.calls["call_id"].to_list(), clicked, key="calls_call")
