"""The call view's header: how the call ended and the conversation's figures, for one call, as the
warehouse computes them (the overview's definitions) and in the words the room reads."""

from __future__ import annotations

from pathlib import Path

import duckdb

from present.call_header import END_REASON_WORDS, call_figures, conversation_figures
from tests import independent
from tests.synthetic import ENDINGS
from warehouse import calls
from warehouse.end_reasons import END_REASONS


def _shown(figures: list) -> dict[str, str]:
    return {f.label: f.value for f in figures}


def test_every_end_reason_has_words() -> None:
    assert set(END_REASON_WORDS) == set(END_REASONS)


def test_the_header_says_how_each_call_ended(synthetic_warehouse: Path) -> None:
    for n in range(len(ENDINGS)):
        detail = calls.call_detail(f"call-{n:05d}")
        assert detail is not None
        expected = "Not recorded" if ENDINGS[n] is None else END_REASON_WORDS[ENDINGS[n]]
        assert _shown(call_figures(detail.call, detail.outcome))["How it ended"] == expected


def test_the_conversation_figures_are_the_calls_own(synthetic_warehouse: Path) -> None:
    """call-00005 has one planted talking-over (tests/synthetic.py): the header counts it on the
    side that did it, and its waits are the call's own reply latencies."""
    detail = calls.call_detail("call-00005")
    assert detail is not None
    shown = _shown(conversation_figures(detail.conversation, 3000))
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as con:
        turns = [dict(zip(("turn_index", "speaker", "started_at", "ended_at", "response_latency_ms"), row, strict=True))
                 for row in con.execute("SELECT turn_index, speaker, started_at, ended_at, response_latency_ms "
                                        "FROM turns WHERE call_id = 'call-00005'").fetchall()]
    waits = [t["response_latency_ms"] for t in turns if t["response_latency_ms"] is not None]
    talk = independent.talk(turns)
    assert {shown["Caller barged in"], shown["Agent talked over"]} == {"0×", "1×"}
    assert max(waits) >= 100 and shown["Longest wait"] == f"{max(waits) / 1000:.2f} s"
    assert shown["Agent talk share"] == f"{talk.agent_s / talk.speech_s:.0%}"
    assert (shown["Dead air"] != "0×") == talk.dead_air


def test_a_call_without_turns_shows_dashes() -> None:
    shown = _shown(conversation_figures(None, 3000))
    assert set(shown.values()) == {"—"}
