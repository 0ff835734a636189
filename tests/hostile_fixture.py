"""A warehouse whose customer text is hostile everywhere the app shows it: agent, model, prompt and
session names, a call id, transcripts, judge rationales, evidence and errors, failure-mode names and
descriptions, reviewer names and notes, decisions, prompt comments, span names, recording URLs and
refused records. The hostile agent's calls have a recording that plays, so their transcript is
also shown by the player component. Each value tries to load something from 127.0.0.2 (an address no page means to
reach), to become a link, to run a script, or to reverse the app's own words with a bidi override."""

from __future__ import annotations

import json
import wave
from datetime import date, datetime
from pathlib import Path

import duckdb

from tests import review_fixture, synthetic
from warehouse import reviews
from warehouse.db import transaction

TRAP = "http://127.0.0.2:9"  # nothing listens there: a request for it is the leak the test looks for
ATTACKS = (f"<img src={TRAP}/img onerror=\"window.__pwned = 1\"> [x]({TRAP}/link) ![i]({TRAP}/i.png) "
           f"bare {TRAP}/y www.example.com <{TRAP}/auto> \x1b[31mred\x1b]0;title\x07")  # fmt: skip
OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed: it would reverse whatever the app writes after it
AGENT = f"agent{OVERRIDE} {ATTACKS}"
MODEL = f"model{OVERRIDE} <img src={TRAP}/model>"
PROMPT = f"v2{OVERRIDE}<img src={TRAP}/prompt>"
MODE = f"mode{OVERRIDE} <img src={TRAP}/mode> ![m]({TRAP}/m.png)"
CALL_ID = f"call-<img src={TRAP}/call>[c]({TRAP}/c)"
TEXT = f"Hello {ATTACKS}\nsecond line {OVERRIDE}reversed? ![t]({TRAP}/t.png)"
RECORDING = f"[r]({TRAP}/r.wav)<img src={TRAP}/rec>{OVERRIDE}.wav"
MESSAGES = json.dumps([{"role": f"user{OVERRIDE}<img src={TRAP}/role>", "parts": [{"type": "text", "content": TEXT}]},
                       {"role": "assistant", "parts": [{"type": "tool_call", "name": MODE, "arguments": {"q": TEXT}}]}])
SESSION = f"week{OVERRIDE} <img src={TRAP}/session> [s]({TRAP}/s)"
FORMULA_MODEL = "@SUM(1+1)*cmd|' /C calc'!A0"  # each of these would run as a formula in a spreadsheet
FORMULA_NOTE = f'=HYPERLINK("{TRAP}/f","click")'
PERIOD = (date(2026, 9, 1), date(2026, 10, 30))


def _rename_call(con: duckdb.DuckDBPyConnection, old: str) -> None:
    for table in ("calls", "turns", "spans", "outcomes", "judgements"):
        con.execute(f"UPDATE {table} SET call_id = ? WHERE call_id = ?", [CALL_ID, old])


def _plant_calls(path: Path) -> None:
    with transaction(path) as con:
        _rename_call(con, "call-00000")
        con.execute("UPDATE calls SET agent = ? WHERE agent = 'salon-booker' OR call_id = ?", [AGENT, CALL_ID])
        con.execute("UPDATE calls SET model = ? WHERE model = 'gpt-4.1'", [MODEL])
        con.execute("UPDATE calls SET model = ? WHERE model = 'claude-haiku-4-5'", [FORMULA_MODEL])
        con.execute("UPDATE calls SET prompt_version = ? WHERE prompt_version = 'v2'", [PROMPT])
        con.execute("UPDATE calls SET recording_url = ?", [RECORDING])
        con.execute("UPDATE calls SET recording_url = 'call.wav' WHERE agent = ? AND call_id <> ?", [AGENT, CALL_ID])
        con.execute("UPDATE turns SET text = ? WHERE turn_index = 1", [TEXT])
        con.execute("UPDATE spans SET name = ?, error_type = ? WHERE kind = 'tool'", [MODE, TEXT])
        con.execute("UPDATE spans SET input_text = ?, output_text = ? WHERE kind = 'tool'", [TEXT, TEXT])
        con.execute("UPDATE spans SET model = ?, input_text = ?, attributes = json_object('gen_ai.input.messages', ?, "
                    "'gen_ai.output.messages', ?, 'gen_ai.system_instructions', ?) WHERE kind = 'llm'",
                    [MODEL, TEXT, MESSAGES, MESSAGES, TEXT])
        con.execute("INSERT INTO failure_modes (name, description, owner, created_at) VALUES (?, ?, 'pm', ?)",
                    [MODE, TEXT, datetime(2026, 9, 1)])
        con.execute("UPDATE judgements SET labels = [?], rationale = ?, evidence = json_array(json_object("
                    "'turn_index', 1, 'quote', ?)) WHERE status = 'ok' AND NOT passed", [MODE, TEXT, TEXT])
        con.execute("UPDATE judgements SET error = ? WHERE status <> 'ok'", [TEXT])
        con.execute("INSERT INTO judgements (judgement_id, call_id, judge_name, judge_version, provider, status, "
                    "score, passed, hallucination, labels, rationale, created_at) VALUES ('j-hostile', ?, 'rules', "
                    "'abc', 'rules', 'ok', 1, false, true, [?], ?, ?)", [CALL_ID, MODE, TEXT, datetime(2026, 11, 1)])


def _plant_prompts_and_runs(path: Path) -> None:
    with transaction(path) as con:
        for version, day in (("v1", 1), (PROMPT, 20)):
            con.execute("INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?, ?)",
                        [AGENT, version, TEXT, TEXT, SESSION, datetime(2026, 9, day)])
        con.execute("INSERT INTO prompt_comments VALUES ('c1', ?, ?, ?, ?, ?)",
                    [AGENT, PROMPT, SESSION, TEXT, datetime(2026, 9, 21)])
        con.execute("INSERT INTO ingest_runs (run_id, kind, started_at, records_quarantined, status, message) "
                    "VALUES ('run-1', 'traces', ?, 1, 'done', ?)", [datetime(2026, 10, 1), TEXT])
        con.execute("INSERT INTO quarantine VALUES ('run-1', ?, ?, ?, ?, ?)",
                    [AGENT, MODE, TEXT, TEXT.encode(), datetime(2026, 10, 1)])


def _plant_review(path: Path) -> tuple[str, int]:
    """A session drawn from the hostile agent's calls, three of them scored with hostile notes and
    labels by a hostile reviewer; the session and the position of its first call."""
    session_id = reviews.create_session(reviews.SessionSpec(SESSION, *PERIOD, seed=5, sample_size=6), path)
    session = reviews.get_session(session_id, path)
    assert session is not None
    for position, call_id in enumerate(session.call_ids[:3]):
        reviews.save_review(reviews.Review(session_id, call_id, SESSION, 2, False, labels=(MODE,), notes=TEXT,
                                           test_case=True), path)  # fmt: skip
        if position == 0:
            reviews.save_review(reviews.Review(session_id, call_id, "-ana", 4, True, notes=FORMULA_NOTE), path)
    reviews.save_decisions(session_id, TEXT, path)
    with transaction(path) as con:
        agents = dict(con.execute("SELECT call_id, agent FROM calls").fetchall())
    return session_id, next(n for n, call_id in enumerate(session.call_ids, 1) if agents[call_id] == AGENT)


def build(folder: Path) -> tuple[Path, str, int]:
    """The hostile warehouse in `folder`, its review session and the position in it of a call from
    the hostile agent."""
    path = folder / "callboard.duckdb"
    (folder / "recordings").mkdir()
    with wave.open(str(folder / "recordings" / "call.wav"), "wb") as silence:  # the hostile agent's calls play it
        silence.setnchannels(1)
        silence.setsampwidth(1)
        silence.setframerate(8000)
        silence.writeframes(b"\x80" * 8000 * 20)
    synthetic.build(path, calls=150)
    review_fixture.enrich(path)
    _plant_calls(path)
    _plant_prompts_and_runs(path)
    return path, *_plant_review(path)
