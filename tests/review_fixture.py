"""Adds what the review needs to a synthetic warehouse (tests/synthetic.py leaves it out): spans
for the waterfall (some slow, some failed), and judge labels, rationale and evidence."""

from __future__ import annotations

import random
from pathlib import Path

from tests import synthetic
from warehouse.db import transaction

SPAN_COLUMNS = ("trace_id", "span_id", "call_id", "kind", "name", "tool_name", "turn_index", "started_at", "ended_at",
                "day", "is_error", "error_type", "cost_usd")
HOSTILE = '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> **bold** $x$ :red[hi]'


def enrich(path: Path, seed: int = 7) -> None:
    """One span per turn (speech-to-text for the caller, LLM for the agent), a tool span on agent
    turns, every third tool slow and every fifth failed; failed judgements get labels and evidence."""
    rng = random.Random(seed)
    with transaction(path) as con:
        turns = con.execute(
            "SELECT call_id, turn_index, speaker, started_at, ended_at, day FROM turns ORDER BY call_id, turn_index"
        ).fetchall()
        spans = []
        for n, (call_id, index, speaker, started, ended, day) in enumerate(turns):
            kind, name = ("stt", "speech_to_text") if speaker == "customer" else ("llm", "chat gpt-4.1-mini")
            spans.append(("t", f"{n:016x}", call_id, kind, name, None, index, started, ended, day, False, None,
                          round(rng.uniform(0.0005, 0.01), 5)))
            if speaker == "agent" and index:
                slow, failed = n % 3 == 0, n % 5 == 0
                tool_end = started + (ended - started) / 2 if not slow else started + (ended - started) * 3
                spans.append(("t", f"t{n:015x}", call_id, "tool", "check_availability", "check_availability", index,
                              started, tool_end, day, failed, "timeout" if failed else None, None))
        synthetic.insert_rows(con, "spans", SPAN_COLUMNS, spans)
        con.execute(
            """UPDATE judgements SET labels = ['slow_turn'], rationale = 'The agent paused for too long.',
                   evidence = '[{"turn_index": 1, "quote": "the caller waited"}]'::JSON
               WHERE status = 'ok' AND NOT passed"""
        )
        con.execute("UPDATE judgements SET labels = [] WHERE status = 'ok' AND passed")


def make_hostile(path: Path) -> None:
    """Every caller's first words try to run a script and inject markup."""
    with transaction(path) as con:
        con.execute("UPDATE turns SET text = ? WHERE turn_index = 1", [HOSTILE])


def without_reviews(path: Path) -> Path:
    """The warehouse with no review sessions or scores: the demo ships two finished sessions, which a
    test that scores calls itself and counts what it scored must not see."""
    with transaction(path) as con:
        con.execute("DELETE FROM reviews")
        con.execute("DELETE FROM review_samples")
        con.execute("DELETE FROM review_sessions")
    return path
