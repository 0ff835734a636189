"""Retell call objects (`GET /v2/get-call/{id}`, `POST /v2/list-calls`, or the `call_ended` /
`call_analyzed` webhook) as the spans of one call. Field names are Retell's own, from its Python
SDK's types, generated from its OpenAPI spec (RetellAI/retell-python-sdk,
src/retell/types/phone_call_response.py and web_call_response.py, the two shapes of
call_response.py; docs/trace-format.md names the commit). The tables below are the whole mapping.

Retell times each utterance word by word, so turns have real times; its latency figures are per
call (p50, p90, … and the raw values of e2e, asr, llm, tts …) with nothing saying which reply a
value belongs to, so they are kept on the call span and give no per-reply stage spans.
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
    number,
    text,
)
from warehouse.end_reasons import CALLER_HUNG_UP, COMPLETED, ERROR, TRANSFERRED, VOICEMAIL

PLATFORM = "retell"

# Our value: Retell's fields, the first one present wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "call_id": ("call_id",),
    "started_at": ("start_timestamp",),  # epoch ms
    "ended_at": ("end_timestamp",),  # epoch ms; else start + duration_ms, else the last word
    "duration_ms": ("duration_ms",),
    "agent": ("agent_name", "agent_id"),
    "prompt_version": ("agent_version",),
    "recording_url": ("recording_url", "scrubbed_recording_url", "recording_multi_channel_url",
                      "scrubbed_recording_multi_channel_url"),
    "end_reason": ("disconnection_reason",),
    "caller_number": ("from_number",),  # the customer's: to_number instead on an outbound call
    "product_costs": ("call_cost.product_costs",),  # cents each
    "cost_total_cents": ("call_cost.combined_cost",),
    "utterances": ("transcript_object",),  # turn spans, timed by their words
    "events": ("transcript_with_tool_calls",),  # tool spans (and other events) between the turns
}
OUTBOUND_FIELDS = {**FIELDS, "caller_number": ("to_number",)}  # an outbound call's customer is who was called
CENTS_PER_USD = 100  # Retell's costs are in cents (CallCostProductCost.cost: "in cents")
# An utterance's role: who spoke. transfer_target (the person a call was transferred to) is
# neither the caller nor the agent: kept as an `other` span with its text.
SPEAKERS = {"user": "customer", "agent": "agent"}
UTTERANCE_ROLES = ("user", "agent", "transfer_target")
# disconnection_reason → how the call ended; first matching pattern wins, anything else is unknown (NULL).
ENDINGS = (
    ("user_hangup", CALLER_HUNG_UP),
    ("call_transfer", TRANSFERRED),
    ("transfer_bridged", TRANSFERRED),
    ("voicemail_reached", VOICEMAIL),
    ("agent_hangup", COMPLETED),
    ("error_*", ERROR),
    ("dial_failed", ERROR),
    ("sip_routing_error", ERROR),
    ("telephony_provider_*", ERROR),
    ("registered_call_timeout", ERROR),
    ("concurrency_limit_reached", ERROR),
    ("no_concurrency_fallback", ERROR),
    ("no_valid_payment", ERROR),
)
# Copied to the call span as `retell.<path>` is every field but the transcripts (turn spans).
NOT_COPIED = frozenset({"transcript", "transcript_object", "transcript_with_tool_calls",
                        "scrubbed_transcript_with_tool_calls"})


def unwrapped(record: dict) -> dict:
    """A webhook's `{"event": "call_analyzed", "call": {...}}` as its call; a call object as it is."""
    call = record.get("call")
    return call if "call_id" not in record and isinstance(call, dict) else record


def call_trace(record: dict) -> CallTrace:
    """The call's spans; `RecordProblem` says why a call object cannot be read."""
    call = unwrapped(record)
    trace = CallTrace.opened(PLATFORM, call, FIELDS)
    turn_ends = _turns(trace, call, trace.started_ms)
    _events(trace, call, trace.started_ms, turn_ends)
    ended_ms = _ended(call, trace.started_ms, turn_ends)
    trace.close(call, OUTBOUND_FIELDS if call.get("direction") == "outbound" else FIELDS, ended_ms, ENDINGS,
                NOT_COPIED)
    _costs(trace, call, ended_ms)
    return trace


def _ended(call: dict, started: float, turn_ends: list[float]) -> float:
    ended = lookup(call, FIELDS["ended_at"])
    duration = number(lookup(call, FIELDS["duration_ms"]), "duration_ms")
    if ended is not None:
        ended_ms = epoch_ms(ended, "end_timestamp")
    elif duration is not None:
        ended_ms = started + duration
    else:
        ended_ms = max([started, *turn_ends])
    return ended_ms


def _turns(trace: CallTrace, call: dict, started: float) -> list[float]:
    """A turn span per utterance of `transcript_object`, from its first word's start to its last
    word's end; an utterance with no timed word is placed, zero-length, where the one before it
    ended. Returns where each utterance ended (epoch ms), in order."""
    utterances = lookup(call, FIELDS["utterances"]) or []
    if not isinstance(utterances, list):
        raise RecordProblem("transcript_object is not a list")
    ends: list[float] = []
    spoken = 0
    for number_, utterance in enumerate(utterances):
        where = f"transcript_object[{number_}]"
        if not isinstance(utterance, dict) or utterance.get("role") not in UTTERANCE_ROLES:
            raise RecordProblem(f"{where} is not an utterance of {', '.join(UTTERANCE_ROLES)}")
        start, end = _word_times(utterance.get("words"), where)
        if start is None or end is None:
            start = end = ends[-1] if ends else started
        else:
            start, end = started + start * 1000, started + end * 1000
        said = text(utterance.get("content"), f"{where}.content")
        if utterance["role"] in SPEAKERS:
            trace.add("turn", f"turn:{spoken}", start, end, {
                "callboard.span.kind": "turn", "callboard.turn.index": spoken,
                "callboard.turn.speaker": SPEAKERS[utterance["role"]], "callboard.turn.text": said})
            spoken += 1
        else:
            trace.add(utterance["role"], f"utterance:{number_}", start, end, {
                "callboard.span.kind": "other", "output.value": said, "callboard.turn.index": spoken})
        ends.append(end)
    return ends


def _word_times(words: object, where: str) -> tuple[float | None, float | None]:
    """The first word's start and the last word's end, in seconds from the call's start."""
    if not isinstance(words, list):
        raise RecordProblem(f"{where}.words is not a list")
    starts: list[float] = []
    ends: list[float] = []
    for i, word in enumerate(words):
        if not isinstance(word, dict):
            raise RecordProblem(f"{where}.words[{i}] is not an object")
        for key, found in (("start", starts), ("end", ends)):
            value = number(word.get(key), f"{where}.words[{i}].{key}")
            if value is not None:
                found.append(value)
    if starts and ends and max(ends) < min(starts):
        raise RecordProblem(f"{where}: its last word ends before its first word starts")
    return (min(starts) if starts else None), (max(ends) if ends else None)


def _events(trace: CallTrace, call: dict, started: float, turn_ends: list[float]) -> None:
    """Tool calls (and node transitions, key presses, texts) from `transcript_with_tool_calls`.
    They carry no time: each is placed where the utterance before it ended, in the turn that
    follows it. A tool call's result goes on the tool span."""
    events = lookup(call, FIELDS["events"]) or []
    if not isinstance(events, list):
        raise RecordProblem("transcript_with_tool_calls is not a list")
    utterances, spoken, tools = 0, 0, {}
    for number_, event in enumerate(events):
        role = event.get("role") if isinstance(event, dict) else None
        at = turn_ends[utterances - 1] if 0 < utterances <= len(turn_ends) else started
        if role in UTTERANCE_ROLES:
            utterances += 1
            spoken += role in SPEAKERS
        elif role == "tool_call_invocation":
            tools[str(event.get("tool_call_id"))] = trace.add(f"execute_tool {event.get('name')}", f"tool:{number_}",
                                                              at, at, {
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": event.get("name"),
                "gen_ai.tool.call.id": event.get("tool_call_id"),
                "gen_ai.tool.call.arguments": event.get("arguments"), "callboard.turn.index": spoken})
        elif role == "tool_call_result" and str(event.get("tool_call_id")) in tools:
            span = tools.pop(str(event.get("tool_call_id")))
            span["attributes"] += attribute_list({"gen_ai.tool.call.result": event.get("content")})
            if event.get("successful") is False:
                span["status"] = {"code": 2}
        else:
            trace.add(str(role), f"event:{number_}", at, at, {
                "callboard.span.kind": "other", "callboard.turn.index": spoken,
                **flattened("retell.event", event)})


def _costs(trace: CallTrace, call: dict, at_ms: float) -> None:
    items = lookup(call, FIELDS["product_costs"]) or []
    if not isinstance(items, list):
        raise RecordProblem("call_cost.product_costs is not a list")
    components: dict[str, float] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("product"), str):
            raise RecordProblem(f"call_cost.product_costs[{i}] has no product")
        cents = number(item.get("cost"), f"call_cost.product_costs[{i}].cost") or 0.0
        name = item["product"] + (" (transfer leg)" if item.get("is_transfer_leg_cost") else "")
        components[name] = components.get(name, 0.0) + cents / CENTS_PER_USD
    total = number(lookup(call, FIELDS["cost_total_cents"]), "call_cost.combined_cost")
    add_costs(trace, at_ms, components, None if total is None else total / CENTS_PER_USD, {})
