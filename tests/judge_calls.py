"""Small hand-written calls for the judge tests: built in memory, and written into a warehouse file
the way ingest would store them (calls, turns, tool spans, a CRM outcome)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from warehouse.db import transaction
from warehouse.judgements import CallForJudging, ToolCall, Turn

DAY = date(2026, 11, 2)


def call(
    call_id: str,
    turns: list[tuple],
    tools: list[tuple] = (),
    booked: bool | None = True,
    agent: str = "salon-booker",
    day: date = DAY,
) -> CallForJudging:
    """`turns`: (speaker, text) or (speaker, text, response_latency_ms);
    `tools`: (turn_index, tool_name, arguments, result) or (..., error_type) for a failed one."""
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    built_turns = tuple(
        Turn(
            turn_index=index,
            speaker=turn[0],
            text=turn[1],
            started_at=start + timedelta(seconds=5 * index),
            response_latency_ms=turn[2] if len(turn) > 2 else (900 if turn[0] == "agent" and index else None),
        )
        for index, turn in enumerate(turns)
    )
    built_tools = tuple(
        ToolCall(
            turn_index=tool[0],
            tool_name=tool[1],
            arguments=tool[2],
            result=None if len(tool) > 4 else tool[3],
            is_error=len(tool) > 4,
            error_type=tool[4] if len(tool) > 4 else None,
            started_at=start + timedelta(seconds=5 * tool[0] - 1),
        )
        for tool in tools
    )
    return CallForJudging(call_id, agent, booked, built_turns, built_tools)


def clean_call(call_id: str, day: date = DAY) -> CallForJudging:
    """A call with nothing wrong: the agent quotes exactly what its tools returned."""
    return call(
        call_id,
        [
            ("agent", "Thanks for calling Bright Salon, how can I help?"),
            ("customer", "I'd like a haircut on Thursday afternoon please."),
            ("agent", "I have 2:30 pm on November 5th. A haircut is $45."),
            ("customer", "Perfect, book it."),
            ("agent", "You're booked for 2:30 pm on November 5th. See you then!"),
        ],
        [
            (2, "check_availability", '{"date": "2026-11-05"}', '{"slots": ["2026-11-05T14:30:00"]}'),
            (2, "get_price", '{"service": "haircut"}', '{"service": "haircut", "price_usd": 45}'),
            (4, "book_appointment", '{"slot": "2026-11-05T14:30:00"}', '{"confirmation": "BK-1"}'),
        ],
        day=day,
    )


def store(path: Path, calls: list[CallForJudging]) -> None:
    """Write calls into the warehouse tables the judges read."""
    with transaction(path) as con:
        for number, c in enumerate(calls):
            first = c.turns[0].started_at
            last = c.turns[-1].started_at + timedelta(seconds=3)
            day = first.date()
            con.execute(
                "INSERT INTO calls (call_id, trace_id, agent, started_at, ended_at, day, turn_count, source, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'otlp', ?)",
                [c.call_id, f"{number:032x}", c.agent, first, last, day, len(c.turns), last],
            )
            con.executemany(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (c.call_id, t.turn_index, t.speaker, t.text, t.started_at, t.started_at + timedelta(seconds=2),
                     day, t.response_latency_ms)
                    for t in c.turns
                ],
            )  # fmt: skip
            for index, tool in enumerate(c.tools):
                con.execute(
                    "INSERT INTO spans (trace_id, span_id, call_id, name, kind, turn_index, started_at, ended_at,"
                    " day, tool_name, is_error, error_type, input_text, output_text) "
                    "VALUES (?, ?, ?, ?, 'tool', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [f"{number:032x}", f"{index:016x}", c.call_id, tool.tool_name, tool.turn_index,
                     tool.started_at, tool.started_at + timedelta(milliseconds=300), day, tool.tool_name,
                     tool.is_error, tool.error_type, tool.arguments, tool.result],
                )  # fmt: skip
            if c.booked is not None:
                con.execute(
                    "INSERT INTO outcomes (outcome_id, call_id, external_key, source, booked)"
                    " VALUES (?, ?, ?, 'crm', ?)",
                    [f"crm-{c.call_id}", c.call_id, c.call_id, c.booked],
                )
