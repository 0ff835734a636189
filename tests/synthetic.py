"""A small random warehouse written straight into the tables, for testing the read side on its own
(the demo build, which goes through ingest, is tested elsewhere). Tests get a copy of one built per
session (conftest.py's `synthetic_warehouse`): copying the file takes milliseconds, building it seconds."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.conversation_loading import store_conversation
from warehouse.db import transaction

AGENTS = ("clinic-scheduler", "estate-qualifier", "salon-booker")
MODELS = ("gpt-4.1", "gpt-4.1-mini", "claude-haiku-4-5")
CALL_COLUMNS = ("call_id", "trace_id", "agent", "prompt_version", "model", "started_at", "ended_at", "day",
                "duration_ms", "turn_count", "span_count", "error_count", "input_tokens", "output_tokens",
                "cost_usd", "recording_url", "source", "updated_at", "end_reason")
TURN_COLUMNS = ("call_id", "turn_index", "speaker", "text", "started_at", "ended_at", "day", "response_latency_ms")
OUTCOME_COLUMNS = ("outcome_id", "call_id", "external_key", "source", "recorded_at", "booked", "nps", "resolved")
# How calls end, by call number (so the random draws stay as they were); None: the source did not say.
ENDINGS = ("completed", "completed", "caller_hung_up", None, "transferred", "completed", "voicemail", "error",
           "caller_hung_up", "completed", "completed")
JUDGEMENT_COLUMNS = ("judgement_id", "call_id", "judge_name", "judge_version", "provider", "status", "score",
                     "passed", "hallucination", "created_at")


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """All rows in one statement, matched to the table's columns by name (row-by-row inserts took
    most of the build's time)."""
    con.register("new_rows", pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows]))
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
    con.unregister("new_rows")


def build(path: Path, calls: int = 600, seed: int = 1, first_day: date = date(2026, 9, 1), days: int = 60) -> None:
    rng = random.Random(seed)
    call_rows, turn_rows, outcome_rows, judgement_rows = [], [], [], []
    for n in range(calls):
        call_id = f"call-{n:05d}"
        day = first_day + timedelta(days=rng.randrange(days))
        started = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(86_000))
        clock = started
        turns = rng.randrange(2, 9)
        for index in range(turns):
            speaker = "customer" if index % 2 else "agent"
            latency = None if index == 0 or speaker == "customer" else rng.randrange(200, 4000)
            previous_end = clock
            clock += timedelta(milliseconds=latency or rng.randrange(300, 900))
            ended = clock + timedelta(milliseconds=rng.randrange(500, 4000))
            # Every fifth call, one turn (the fourth or fifth) starts 0.6 s before the one before it ends:
            # the caller or the agent talks over (the number decides, so the random draws stay as they were).
            talks_over = n % 5 == 0 and index == 3 + n % 2
            start = previous_end - timedelta(milliseconds=600) if talks_over else clock
            turn_rows.append((call_id, index, speaker, f"utterance {index}", start, ended, day, latency))
            clock = ended
        errors = rng.choice((0, 0, 0, 0, 1, 2))
        cost = round(rng.uniform(0.01, 0.3), 4)
        call_rows.append(
            (call_id, f"{n:032x}", rng.choice(AGENTS), rng.choice(("v1", "v2")), rng.choice(MODELS),
             started, clock, day, int((clock - started).total_seconds() * 1000), turns, turns * 3, errors,
             100, 50, cost, None, "otlp", clock, ENDINGS[n % len(ENDINGS)])
        )
        recorded = clock + timedelta(hours=1)
        if rng.random() < 0.9:
            booked = rng.random() < 0.5
            resolved = None if rng.random() < 0.1 else rng.random() < 0.7
            outcome_rows.append((f"crm-{n}", call_id, f"crm-{n}", "crm", recorded, booked, None, resolved))
        if rng.random() < 0.3:
            nps = rng.randrange(11)
            outcome_rows.append((f"survey-{n}", call_id, f"s-{n}", "survey", recorded, None, nps, None))
        if rng.random() < 0.6:
            for k in range(rng.choice((1, 1, 2))):
                status = "ok" if rng.random() < 0.9 else "failed"
                score = rng.randrange(1, 6) if status == "ok" else None
                judgement_rows.append(
                    (f"j-{n}-{k}", call_id, "rules", "abc", "rules", status, score,
                     None if score is None else score >= 3,
                     None if score is None else rng.random() < 0.15, recorded + timedelta(minutes=k))
                )
    with transaction(path) as con:
        insert_rows(con, "calls", CALL_COLUMNS, call_rows)
        insert_rows(con, "turns", TURN_COLUMNS, turn_rows)
        store_conversation(con)  # what ingest stores on each call from its turns
        insert_rows(con, "outcomes", OUTCOME_COLUMNS, outcome_rows)
        insert_rows(con, "judgements", JUDGEMENT_COLUMNS, judgement_rows)
