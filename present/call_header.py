"""The call view's header: the figures of one call, in words a room reads at a glance, grouped as
what happened to the call and how the conversation went. Neutral (no Streamlit), so it is tested
on its own and the view only lays it out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from present.formats import format_value, percent
from warehouse import end_reasons

END_REASON_WORDS = {
    end_reasons.COMPLETED: "Completed",
    end_reasons.CALLER_HUNG_UP: "Caller hung up",
    end_reasons.TRANSFERRED: "Transferred to a person",
    end_reasons.VOICEMAIL: "Voicemail",
    end_reasons.ERROR: "Error",
}


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    help: str = ""


def clock(ms: float | None) -> str:
    """Milliseconds since the call started as m:ss, the way people read a recording."""
    if ms is None:
        return "—"
    seconds = max(0, int(ms // 1000))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else "Yes" if value else "No"


def _times(count: int | None) -> str:
    return "—" if count is None else f"{count}×"


def call_figures(call: Mapping, outcome: Mapping | None) -> list[Figure]:
    """How the call ended, how long it took and cost, its failed steps and its business outcome."""
    o = outcome or {}
    return [
        Figure("How it ended", END_REASON_WORDS.get(call.get("end_reason") or "", "Not recorded"),
               "As the platform or the trace reported it (callboard.call.end_reason)."),
        Figure("Duration", clock(call["duration_ms"])),
        Figure("Cost", format_value(call["cost_usd"], "usd")),
        Figure("Failed steps", format_value(call["error_count"], "count")),
        Figure("Booked", _yes_no(o.get("booked"))),
        Figure("Resolved", _yes_no(o.get("resolved"))),
        Figure("NPS answer", "—" if o.get("nps") is None else f"{o['nps']} / 10"),
    ]


def conversation_figures(conversation: Mapping | None, dead_air_ms: int) -> list[Figure]:
    """The caller's waits, who talked over whom, dead air, the agent's talk share and its first word,
    as `warehouse.calls` computes them for this call (the overview's definitions)."""
    c = conversation or {}
    return [
        Figure("Caller wait, typical", format_value(c.get("wait_p50_ms"), "ms"),
               "Median time from the caller's last word to the agent's reply in this call."),
        Figure("Longest wait", format_value(c.get("wait_max_ms"), "ms")),
        Figure("First agent word", format_value(c.get("first_agent_word_ms"), "ms"),
               "Time from the call's start to the agent's first word."),
        Figure("Caller barged in", _times(c.get("caller_barge_ins")),
               "Times the caller started talking while the agent was speaking."),
        Figure("Agent talked over", _times(c.get("agent_talk_overs")),
               "Times the agent started talking while the caller was speaking."),
        Figure("Dead air", _times(c.get("dead_air")),
               f"Silences of {format_value(dead_air_ms, 'ms')} or more between turns."),
        Figure("Agent talk share", percent(c.get("talk_ratio")),
               "The agent's speaking time as a share of all speaking time in the call."),
    ]
