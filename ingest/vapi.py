"""Vapi call objects (`GET /call`, `GET /call/{id}`, or the `end-of-call-report` webhook) as the
spans of one call. Field names are Vapi's own, from its server SDK's generated types
(VapiAI/server-sdk-python, src/vapi/types/: call.py, artifact.py, bot_message.py, user_message.py,
tool_call_message.py, tool_call_result_message.py, cost_breakdown.py, performance_metrics.py,
turn_latency.py, analysis.py, recording.py, mono.py, call_ended_reason.py; docs/trace-format.md
names the commit). The tables below are the whole mapping: change a path there, not in the code.
"""

from __future__ import annotations

from ingest.platform_spans import (
    CallTrace,
    RecordProblem,
    add_costs,
    attribute_list,
    epoch_ms,
    flattened,
    lookup,
    nanos,
    number,
    text,
)
from warehouse.end_reasons import CALLER_HUNG_UP, COMPLETED, ERROR, TRANSFERRED, VOICEMAIL

PLATFORM = "vapi"

# Our value: Vapi's fields, the first one present wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "call_id": ("id",),
    "started_at": ("startedAt", "createdAt"),  # ISO 8601
    "ended_at": ("endedAt",),  # else the last message's end
    "agent": ("assistant.name", "assistantId", "squadId", "workflowId"),
    "model": ("costs[].model.model", "assistant.model.model"),  # on the llm stage spans
    "provider": ("costs[].model.provider", "assistant.model.provider"),
    "recording_url": ("artifact.recordingUrl", "artifact.recording.mono.combinedUrl", "recordingUrl",
                      "artifact.stereoRecordingUrl", "artifact.recording.stereoUrl", "stereoRecordingUrl"),
    "end_reason": ("endedReason",),
    "caller_number": ("customer.number",),  # the customer's, inbound or outbound
    "cost_total_usd": ("costBreakdown.total", "cost"),
    "messages": ("artifact.messages", "messages"),  # the transcript: turn and tool spans
    "turn_latencies": ("artifact.performanceMetrics.turnLatencies",),  # stage spans, per reply
    "input_tokens": ("costBreakdown.llmPromptTokens",),  # on the llm cost span
    "output_tokens": ("costBreakdown.llmCompletionTokens",),
}
# costBreakdown's components (USD), each a cost span named for it.
COST_COMPONENTS = ("stt", "llm", "tts", "vapi", "transport", "chat")
# A message's role: who spoke. system messages (the prompt) are not said aloud.
SPEAKERS = {"user": "customer", "bot": "agent", "assistant": "agent"}
SILENT_ROLES = ("system",)
# A turnLatencies entry (ms) → a stage span, in the order the caller's wait runs through them
# (warehouse/metrics.py::wait_stages), laid end to end from the caller's last word.
STAGES = (("endpointingLatency", "eot", "end_of_turn"), ("transcriberLatency", "stt", "stt"),
          ("modelLatency", "llm", "llm"), ("voiceLatency", "tts", "tts"))
# endedReason → how the call ended; first matching pattern wins, anything else is unknown (NULL).
ENDINGS = (
    ("customer-ended-call*", CALLER_HUNG_UP),
    ("*caller-hungup*", CALLER_HUNG_UP),
    ("assistant-forwarded-call", TRANSFERRED),
    ("*hook-executed-transfer", TRANSFERRED),
    ("voicemail", VOICEMAIL),
    ("assistant-ended-call*", COMPLETED),
    ("assistant-said-end-call-phrase", COMPLETED),
    ("*completed*", COMPLETED),
    ("*error*", ERROR),
    ("*failed*", ERROR),
    ("*fault*", ERROR),
    ("assistant-not-*", ERROR),
    ("assistant-request-*", ERROR),
    ("worker-shutdown", ERROR),
)
# Copied to the call span as `vapi.<path>` is every field but these (the transcript, which
# becomes turn spans, and its copies).
NOT_COPIED = frozenset({"artifact.messages", "messages", "artifact.messagesOpenAIFormatted", "artifact.transcript",
                        "transcript"})


def unwrapped(record: dict) -> dict:
    """A webhook's `{"message": {"type": "end-of-call-report", "call": {...}, ...}}` as one call
    object (the report's fields over its `call`'s); a call object as it is."""
    message = record.get("message")
    if "id" in record or not isinstance(message, dict) or not isinstance(message.get("call"), dict):
        return record
    return {**message["call"], **{k: v for k, v in message.items() if k not in ("call", "type")}}


def call_trace(record: dict) -> CallTrace:
    """The call's spans; `RecordProblem` says why a call object cannot be read."""
    call = unwrapped(record)
    trace = CallTrace.opened(PLATFORM, call, FIELDS)
    messages = lookup(call, FIELDS["messages"]) or []
    if not isinstance(messages, list):
        raise RecordProblem("artifact.messages is not a list")
    last_end = _conversation(trace, call, messages)
    ended = lookup(call, FIELDS["ended_at"])
    ended_ms = epoch_ms(ended, "endedAt") if ended is not None else max(last_end, trace.started_ms)
    trace.close(call, FIELDS, ended_ms, ENDINGS, NOT_COPIED)
    _costs(trace, call, ended_ms)
    return trace


def _conversation(trace: CallTrace, call: dict, messages: list) -> float:
    """Turn, tool and stage spans from the messages; returns when the last one ended (epoch ms)."""
    latencies = lookup(call, FIELDS["turn_latencies"]) or []
    if not isinstance(latencies, list):
        raise RecordProblem("artifact.performanceMetrics.turnLatencies is not a list")
    model = {"gen_ai.request.model": lookup(call, FIELDS["model"]),
             "gen_ai.provider.name": lookup(call, FIELDS["provider"])}
    spoken: list[tuple[str, float]] = []  # (speaker, end ms) of each turn so far
    tools: dict[str, dict] = {}  # tool call id → its span, for the result
    last_end, replies = 0.0, 0
    for number_, message in enumerate(messages):
        where = f"artifact.messages[{number_}]"
        if not isinstance(message, dict):
            raise RecordProblem(f"{where} is not an object")
        role = message.get("role")
        if role in SPEAKERS:
            start, end = epoch_ms(message.get("time"), f"{where}.time"), epoch_ms(message.get("endTime"),
                                                                                 f"{where}.endTime")
            if end < start:
                raise RecordProblem(f"{where}.endTime is before its time")
            speaker, index = SPEAKERS[role], len(spoken)
            extra: dict[str, object] = {}
            if speaker == "agent" and spoken and spoken[-1][0] == "customer":
                if replies < len(latencies):
                    extra = _stages(trace, index, spoken[-1][1], latencies[replies], f"turnLatencies[{replies}]",
                                    model)
                replies += 1
            trace.add("turn", f"turn:{index}", start, end, {
                "callboard.span.kind": "turn", "callboard.turn.index": index, "callboard.turn.speaker": speaker,
                "callboard.turn.text": text(message.get("message"), f"{where}.message"), **extra})
            spoken.append((speaker, end))
            last_end = max(last_end, end)
        elif role == "tool_calls":
            _tool_calls(trace, message, where, len(spoken), tools)
        elif role == "tool_call_result":
            _tool_result(trace, message, where, len(spoken), tools)
        elif role not in SILENT_ROLES:
            at = epoch_ms(message.get("time"), f"{where}.time")
            trace.add(str(role), f"message:{number_}", at, at, {"callboard.span.kind": "other",
                                                                **flattened("vapi.message", message)})
    return last_end


def _stages(trace: CallTrace, turn: int, said_ms: float, latency: object, where: str,
            model: dict[str, object]) -> dict[str, object]:
    """The reply's stage spans, end to end from the caller's last word; returns the turn
    latency's own fields for the reply's turn span."""
    if not isinstance(latency, dict):
        raise RecordProblem(f"{where} is not an object")
    clock = said_ms
    for field_name, kind, name in STAGES:
        ms = number(latency.get(field_name), f"{where}.{field_name}")
        if ms is None:
            continue
        if ms < 0:
            raise RecordProblem(f"{where}.{field_name} is negative")
        trace.add(name, f"{kind}:{turn}", clock, clock + ms, {
            "callboard.span.kind": kind, "callboard.turn.index": turn, **(model if kind == "llm" else {})})
        clock += ms
    return flattened("vapi.turnLatency", latency)


def _tool_calls(trace: CallTrace, message: dict, where: str, turn: int, tools: dict[str, dict]) -> None:
    at = epoch_ms(message.get("time"), f"{where}.time")
    for i, call in enumerate(message.get("toolCalls") or []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise RecordProblem(f"{where}.toolCalls[{i}] has no function")
        tools[str(call.get("id"))] = trace.add(f"execute_tool {function.get('name')}", f"tool:{where}.{i}", at, at, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": function.get("name"),
            "gen_ai.tool.call.id": call.get("id"), "gen_ai.tool.call.arguments": function.get("arguments"),
            "callboard.turn.index": turn})


def _tool_result(trace: CallTrace, message: dict, where: str, turn: int, tools: dict[str, dict]) -> None:
    """The result goes on its call's span, which then ends when the result came; a result with no
    call before it is a span of its own."""
    at = epoch_ms(message.get("time"), f"{where}.time")
    span = tools.pop(str(message.get("toolCallId")), None)
    if span is not None:
        span["attributes"] += attribute_list({"gen_ai.tool.call.result": message.get("result")})
        span["endTimeUnixNano"] = max(span["startTimeUnixNano"], nanos(at), key=int)
        return
    trace.add(f"execute_tool {message.get('name')}", f"tool-result:{where}", at, at, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": message.get("name"),
        "gen_ai.tool.call.result": message.get("result"), "callboard.turn.index": turn})


def _costs(trace: CallTrace, call: dict, at_ms: float) -> None:
    breakdown = call.get("costBreakdown") or {}
    if not isinstance(breakdown, dict):
        raise RecordProblem("costBreakdown is not an object")
    components = {name: usd for name in COST_COMPONENTS
                  if (usd := number(breakdown.get(name), f"costBreakdown.{name}")) is not None}
    tokens = {"gen_ai.usage.input_tokens": lookup(call, FIELDS["input_tokens"]),
              "gen_ai.usage.output_tokens": lookup(call, FIELDS["output_tokens"])}
    add_costs(trace, at_ms, components, number(lookup(call, FIELDS["cost_total_usd"]), "costBreakdown.total"),
              {"llm": tokens})
