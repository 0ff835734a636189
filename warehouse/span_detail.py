"""One step of a call, in full: what went in and what came out (the model's messages, a tool's
arguments and result or error, what speech-to-text heard, what speech said), the system prompt
in force, tokens, cost, model and timing.

What a step read and wrote is taken from the span as it was sent, first match wins:
- a model: OpenTelemetry GenAI's `gen_ai.input.messages` / `gen_ai.output.messages` (JSON lists of
  {role, parts}), else the span's input and output text (`input.value` / `output.value`);
- a tool: its arguments and result (`gen_ai.tool.call.arguments` / `.result`), or its error;
- speech-to-text: the words it heard; speech: the agent's words of that turn.
The system prompt is `gen_ai.system_instructions` when the span carries it, else the text of the
call's prompt version (`prompt_versions`). All of it is customer or model text: the caller
escapes it when rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from warehouse.db import connect

ROLES = {"user": "Caller", "assistant": "Agent", "tool": "Tool result", "system": "System"}


@dataclass(frozen=True)
class Message:
    role: str  # in words: Caller, Agent, Tool result, System, or the role as sent
    text: str
    is_data: bool = False  # JSON (a tool's arguments or result), indented: shown as code


@dataclass(frozen=True)
class SpanDetail:
    span_id: str
    kind: str  # call | turn | eot | stt | llm | tool | tts | other
    name: str | None
    tool_name: str | None
    provider: str | None
    model: str | None
    start_ms: int  # since the call started
    duration_ms: float
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    error: str | None  # the error type or message when the step failed, else None
    finish_reasons: str | None
    input: list[Message]
    output: list[Message]
    system_prompt: str | None
    system_prompt_source: str | None  # where it was read: "the span", or "prompt v2 of clinic-scheduler"


_SPAN = """
SELECT s.span_id, s.kind, s.name, s.tool_name, s.provider, s.model, s.input_tokens, s.output_tokens, s.cost_usd,
       s.is_error, s.error_type, s.finish_reasons, s.input_text, s.output_text, s.attributes::VARCHAR AS attributes,
       epoch_ms(s.started_at) - epoch_ms(c.started_at) AS start_ms,
       coalesce(s.duration_ms, epoch_ms(s.ended_at) - epoch_ms(s.started_at)) AS duration_ms,
       c.agent, c.prompt_version,
       (SELECT p.prompt_text FROM prompt_versions p WHERE p.agent = c.agent AND p.version = c.prompt_version)
           AS prompt_text,
       (SELECT t.text FROM turns t WHERE t.call_id = s.call_id AND t.turn_index = s.turn_index) AS turn_text
FROM spans s JOIN calls c USING (call_id)
WHERE s.call_id = ? AND s.span_id = ?
LIMIT 1"""


def span_detail(call_id: str, span_id: str, path: Path | None = None) -> SpanDetail | None:
    """One step of one call; None when the warehouse has no such span."""
    with connect(path) as con:
        rows = con.sql(_SPAN, params=[call_id, span_id]).pl()
    if rows.is_empty():
        return None
    row = rows.row(0, named=True)
    attributes = _object(row["attributes"]) or {}
    sent_in, sent_out = _exchange(row, attributes)
    prompt, source = _system_prompt(row, attributes)
    return SpanDetail(
        span_id=row["span_id"], kind=row["kind"], name=row["name"], tool_name=row["tool_name"],
        provider=row["provider"], model=row["model"], start_ms=int(row["start_ms"]),
        duration_ms=float(row["duration_ms"]), input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
        cost_usd=row["cost_usd"], error=(row["error_type"] or "failed") if row["is_error"] else None,
        finish_reasons=row["finish_reasons"], input=sent_in, output=sent_out, system_prompt=prompt,
        system_prompt_source=source,
    )  # fmt: skip


def _exchange(row: dict, attributes: dict) -> tuple[list[Message], list[Message]]:
    """What the step took in and gave out, by its kind."""
    kind = row["kind"]
    if kind == "llm":
        return (_messages(attributes.get("gen_ai.input.messages"), row["input_text"], "Input"),
                _messages(attributes.get("gen_ai.output.messages"), row["output_text"], "Output"))
    if kind == "tool":
        return _data("Arguments", row["input_text"]), _data("Result", row["output_text"])
    if kind == "stt":
        return [], _plain("Heard", row["output_text"])
    if kind == "tts":
        return _plain("To say", row["turn_text"]), []
    if kind == "turn":
        return [], _plain("Said", row["turn_text"])
    return _plain("Input", row["input_text"]), _plain("Output", row["output_text"])


def _plain(role: str, text: str | None) -> list[Message]:
    return [Message(role, text)] if text else []


def _data(role: str, text: str | None) -> list[Message]:
    """A tool's JSON, indented for reading (text that is not JSON stays as it is)."""
    parsed = _parsed(text)
    if not isinstance(parsed, dict | list):
        return _plain(role, text)
    return [Message(role, json.dumps(parsed, indent=2, ensure_ascii=False), is_data=True)]


def _messages(sent: object, fallback: str | None, role: str) -> list[Message]:
    """GenAI messages as (role in words, text); the span's plain input or output text without them."""
    messages = _parsed(sent)
    if not isinstance(messages, list):
        return _plain(role, fallback if sent is None else str(sent))
    return [_message(m) for m in messages]


def _message(message: object) -> Message:
    if not isinstance(message, dict):
        return Message("Message", _text(message))
    role = str(message.get("role") or "message")
    parts = message.get("parts")
    if not isinstance(parts, list):
        parts = [{"type": "text", "content": message.get("content")}]
    return Message(ROLES.get(role, role), "\n".join(_part(p) for p in parts))


def _part(part: object) -> str:
    """A message part in words: its text, a tool call with its arguments, a tool's answer."""
    if not isinstance(part, dict):
        return _text(part)
    kind = part.get("type")
    if kind == "text":
        return _text(part.get("content"))
    if kind == "tool_call":
        return f"Calls {part.get('name')} with {_text(part.get('arguments'))}"
    if kind == "tool_call_response":
        return _text(part.get("response"))
    return _text(part)


def _system_prompt(row: dict, attributes: dict) -> tuple[str | None, str | None]:
    if row["kind"] != "llm":
        return None, None
    sent = attributes.get("gen_ai.system_instructions")
    if sent is not None:
        parsed = _parsed(sent)
        parts = parsed if isinstance(parsed, list) else [sent]
        return "\n".join(_part(p) for p in parts), "the span"
    if row["prompt_text"] is None:
        return None, None
    return row["prompt_text"], f"prompt {row['prompt_version']} of {row['agent']}"


def _parsed(value: object) -> object:
    """A JSON value sent as text, parsed; anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _object(text: str | None) -> dict | None:
    parsed = _parsed(text)
    return parsed if isinstance(parsed, dict) else None


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

