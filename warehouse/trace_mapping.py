"""Which span attribute (or span name) each voice stack uses for each thing Callboard reads.

Voice teams export OpenTelemetry from the stack they run, each with its own names: Pipecat's
`metrics.ttfb`, LiveKit Agents' `lk.response.ttft`, OpenInference's `service.ttfb_seconds` are one
thing (how long until the first token or audio byte), and audio tokens are
`gen_ai.usage.audio.input_tokens` in Pipecat and `gen_ai.usage.input_audio_tokens` in LiveKit.
This module is the one table that says so. Ingest reads it to parse a span
(`ingest/otlp.py`), the warehouse reads it again to rebuild a call from spans it stored earlier
(`warehouse/span_loading.py`), so both read the same names; docs/trace-format.md prints it (a test
keeps the two equal). To teach Callboard another stack's names, add rows here: nothing else
changes. Every name below is quoted from the stack's own source (docs/trace-format.md cites the
files and commits).

It lives in `warehouse/` because the warehouse re-reads stored spans with it; ingest imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CALLBOARD = "Callboard"
GENAI = "OpenTelemetry GenAI"
OPENINFERENCE = "OpenInference"
PIPECAT = "Pipecat"
LIVEKIT = "LiveKit Agents 1.7"
LIVEKIT_OLD = "LiveKit Agents before 1.7"  # the names 1.7 moved under `lk.pii.`


@dataclass(frozen=True)
class Attribute:
    """One source's name for a field; `scale` turns its unit into Callboard's (minutes → seconds)."""

    key: str
    source: str
    scale: float = 1.0


def _names(source: str, *keys: str) -> tuple[Attribute, ...]:
    return tuple(Attribute(key, source) for key in keys)


# Span attributes read into columns and rebuild inputs, first one present wins. The type says how
# the text value is read: VARCHAR as is, DOUBLE/BIGINT/INTEGER/BOOLEAN cast (a value that does not
# cast is NULL, and still kept in `spans.attributes`).
SPAN_FIELDS: dict[str, tuple[str, tuple[Attribute, ...]]] = {
    "declared_call_id": ("VARCHAR", _names(OPENINFERENCE, "session.id") + _names(CALLBOARD, "callboard.call.id")
                         + _names(PIPECAT, "conversation.id")),
    "prompt_version": ("VARCHAR", _names(CALLBOARD, "callboard.prompt.version")),
    "recording_url": ("VARCHAR", _names(CALLBOARD, "callboard.call.recording_url")),
    "end_reason": ("VARCHAR", _names(CALLBOARD, "callboard.call.end_reason")),
    "provider": ("VARCHAR", _names(GENAI, "gen_ai.provider.name", "gen_ai.system")
                 + _names(OPENINFERENCE, "llm.provider", "llm.system")),
    "model": ("VARCHAR", _names(GENAI, "gen_ai.response.model", "gen_ai.request.model")
              + _names(OPENINFERENCE, "llm.model_name")),
    "operation": ("VARCHAR", _names(GENAI, "gen_ai.operation.name")
                  + _names(OPENINFERENCE, "openinference.span.kind")),
    "tool_name": ("VARCHAR", _names(GENAI, "gen_ai.tool.name")
                  + _names(OPENINFERENCE, "tool.name")
                  + _names(LIVEKIT, "lk.function_tool.name")),
    "input_tokens": ("BIGINT", _names(GENAI, "gen_ai.usage.input_tokens")
                     + _names(OPENINFERENCE, "llm.token_count.prompt")),
    "output_tokens": ("BIGINT", _names(GENAI, "gen_ai.usage.output_tokens")
                      + _names(OPENINFERENCE, "llm.token_count.completion")),
    # The audio part of a realtime model's tokens, already counted in the two above.
    "input_audio_tokens": ("BIGINT", _names(PIPECAT, "gen_ai.usage.audio.input_tokens")
                           + _names(LIVEKIT, "gen_ai.usage.input_audio_tokens")
                           + _names(OPENINFERENCE, "llm.token_count.prompt_details.audio")),
    "output_audio_tokens": ("BIGINT", _names(PIPECAT, "gen_ai.usage.audio.output_tokens")
                            + _names(LIVEKIT, "gen_ai.usage.output_audio_tokens")
                            + _names(OPENINFERENCE, "llm.token_count.completion_details.audio")),
    "span_cost_usd": ("DOUBLE", _names(CALLBOARD, "callboard.cost_usd")
                      + _names(OPENINFERENCE, "llm.cost.total")),
    # Speech-to-text usage, priced per minute.
    "audio_seconds": ("DOUBLE", _names(CALLBOARD, "callboard.audio.seconds")
                      + _names(PIPECAT, "metrics.audio_seconds")
                      + (Attribute("stt.minutes", OPENINFERENCE, 60.0),)),
    # Speech synthesis usage, priced per thousand characters.
    "tts_characters": ("DOUBLE", _names(CALLBOARD, "callboard.tts.characters")
                       + _names(PIPECAT, "metrics.character_count")
                       + _names(OPENINFERENCE, "tts.character_count")),
    # Seconds from an LLM or TTS span's start to its first token or audio byte.
    "first_output_s": ("DOUBLE", _names(PIPECAT, "metrics.ttfb")
                       + _names(LIVEKIT, "lk.response.ttft", "lk.response.ttfb")
                       + _names(OPENINFERENCE, "service.ttfb_seconds")),
    "input_text": ("VARCHAR", _names(OPENINFERENCE, "input.value")
                   + _names(GENAI, "gen_ai.tool.call.arguments")
                   + _names(LIVEKIT, "lk.pii.function_tool.arguments")
                   + _names(LIVEKIT_OLD, "lk.function_tool.arguments")),
    "output_text": ("VARCHAR", _names(OPENINFERENCE, "output.value")
                    + _names(GENAI, "gen_ai.tool.call.result")
                    + _names(PIPECAT, "output")
                    + _names(LIVEKIT, "lk.pii.response.text", "lk.pii.function_tool.output")
                    + _names(LIVEKIT_OLD, "lk.response.text", "lk.function_tool.output")),
    "finish_reasons": ("VARCHAR", _names(GENAI, "gen_ai.response.finish_reasons")),
    "error_type": ("VARCHAR", _names(GENAI, "error.type")),
    "tool_failed": ("BOOLEAN", _names(LIVEKIT, "lk.function_tool.is_error")),
    "turn_index": ("INTEGER", _names(CALLBOARD, "callboard.turn.index")),
    "speaker": ("VARCHAR", _names(CALLBOARD, "callboard.turn.speaker")),
    "turn_text": ("VARCHAR", _names(CALLBOARD, "callboard.turn.text")
                  + _names(OPENINFERENCE, "output.value")),
    # On the span around a caller's turn: the wait's first two stages as the stack measured them, in
    # seconds from the caller's last word until it decided the turn had ended (end of turn) and until
    # it had the final transcript (speech-to-text), for a stack with no span lasting that long
    # (LiveKit's `eou_detection` ends before its endpointing delay runs out; it has no STT span).
    "end_of_turn_delay_s": ("DOUBLE", _names(LIVEKIT, "lk.end_of_turn_delay")),
    "transcription_delay_s": ("DOUBLE", _names(LIVEKIT, "lk.transcription_delay")),
    # On the span around an agent's reply (a turn): the caller's wait as the stack measured it,
    # from the caller's last word to the agent's first.
    "reply_wait_s": ("DOUBLE", _names(PIPECAT, "turn.user_bot_latency_seconds")
                     + _names(OPENINFERENCE, "conversation.user_to_bot_latency")
                     + _names(LIVEKIT, "lk.e2e_latency")),
    # On the span around an agent's reply: the caller cut the agent off, so the agent spoke until it ended.
    "cut_off": ("BOOLEAN", _names(PIPECAT, "turn.was_interrupted")
                + _names(OPENINFERENCE, "conversation.was_interrupted")),
    # On the span around an agent's reply: what the agent said, for a speech span that carries no text.
    "reply_text": ("VARCHAR", _names(LIVEKIT, "lk.pii.response.text")
                   + _names(LIVEKIT_OLD, "lk.response.text")),
}

# Who the agent is, best first: a span's own name for it beats its resource's, which beats the
# service name (LiveKit names every service "livekit-agents").
AGENT: tuple[tuple[str, Attribute], ...] = (
    ("span", Attribute("callboard.agent", CALLBOARD)),
    ("span", Attribute("lk.agent_name", LIVEKIT)),
    ("resource", Attribute("callboard.agent", CALLBOARD)),
    ("resource", Attribute("lk.agent_name", LIVEKIT)),
    ("resource", Attribute("service.name", GENAI)),
)

# Resource attributes read when the span does not carry the field itself.
RESOURCE_FIELDS: dict[str, tuple[Attribute, ...]] = {
    "declared_call_id": (Attribute("session.id", OPENINFERENCE), Attribute("callboard.call.id", CALLBOARD)),
    "prompt_version": (Attribute("callboard.prompt.version", CALLBOARD),),
}

# A span's kind from its name (case-insensitive), when `callboard.span.kind` does not say: checked
# before `gen_ai.operation.name` and `openinference.span.kind`, because OpenInference's Pipecat
# instrumentor marks its speech spans `LLM`.
SPAN_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "call": (("call", CALLBOARD), ("conversation", PIPECAT), ("agent_session", LIVEKIT)),
    "turn": (("turn", CALLBOARD), ("pipecat.conversation.turn", OPENINFERENCE), ("user_turn", LIVEKIT),
             ("agent_turn", LIVEKIT), ("user_speaking", LIVEKIT), ("agent_speaking", LIVEKIT)),
    "eot": (("end_of_turn", CALLBOARD), ("eou_detection", LIVEKIT)),
    "stt": (("stt", PIPECAT), ("speech_to_text", CALLBOARD), ("pipecat.stt", OPENINFERENCE)),
    "llm": (("llm", PIPECAT), ("llm_response", PIPECAT), ("llm_node", LIVEKIT), ("pipecat.llm", OPENINFERENCE)),
    "tool": (("llm_tool_call", PIPECAT), ("function_tool", LIVEKIT)),
    "tts": (("tts", PIPECAT), ("text_to_speech", CALLBOARD), ("tts_node", LIVEKIT), ("pipecat.tts", OPENINFERENCE)),
    # A request inside a node: the node is the step (it knows its first token or audio byte), so
    # the request, though it carries the tokens, is not a second LLM or TTS step.
    "other": (("llm_request", LIVEKIT), ("tts_request", LIVEKIT)),
}
KINDS = ("call", "turn", "eot", "stt", "llm", "tool", "tts", "other")


@dataclass(frozen=True)
class Utterance:
    """A span that is someone speaking, in a stack with no `callboard.turn.*` attributes.

    The words are the first of `text` on the span, else `reply_text` on its parent. Speech starts
    `starts_after` seconds after the span does (a TTS span opens before its first audio byte) and
    ends `ends_before` seconds before it does (speech-to-text and end-of-turn detection finish
    after the caller's last word). When the parent of an agent's speech gives the caller's wait
    (`reply_wait_s`), the caller's utterance before it ends that long before the agent starts, so
    the wait is the stack's own measure; when the parent says the caller cut the agent off
    (`cut_off`), the agent spoke until the parent ended."""

    span_name: str
    source: str
    speaker: str
    text: tuple[str, ...] = ()
    starts_after: str | None = None
    ends_before: str | None = None


UTTERANCES: tuple[Utterance, ...] = (
    Utterance("stt", PIPECAT, "customer", ("transcript",), ends_before="metrics.ttfb"),
    Utterance("tts", PIPECAT, "agent", ("text",), starts_after="metrics.ttfb"),
    Utterance("pipecat.stt", OPENINFERENCE, "customer", ("input.value",)),
    Utterance("pipecat.tts", OPENINFERENCE, "agent", ("output.value",), starts_after="service.ttfb_seconds"),
    Utterance("user_turn", LIVEKIT, "customer", ("lk.pii.user_transcript", "lk.user_transcript"),
              ends_before="lk.end_of_turn_delay"),
    Utterance("agent_speaking", LIVEKIT, "agent"),
)


def span_keys() -> tuple[str, ...]:
    """Every span attribute the table reads, each once, in a fixed order."""
    keys = [attribute.key for _, attributes in SPAN_FIELDS.values() for attribute in attributes]
    keys += [attribute.key for scope, attribute in AGENT if scope == "span"]
    keys += ["callboard.span.kind", "gen_ai.operation.name", "openinference.span.kind"]
    for utterance in UTTERANCES:
        keys += [*utterance.text, *(k for k in (utterance.starts_after, utterance.ends_before) if k)]
    return tuple(dict.fromkeys(keys))


def resource_keys() -> tuple[str, ...]:
    keys = [attribute.key for attributes in RESOURCE_FIELDS.values() for attribute in attributes]
    keys += [attribute.key for scope, attribute in AGENT if scope == "resource"]
    return tuple(dict.fromkeys(keys))


Getter = Callable[[str], str]  # an attribute's key → SQL for its value as text (NULL when absent)


def _first(get: Getter, attributes: tuple[Attribute, ...], sql_type: str) -> str:
    values = []
    for attribute in attributes:
        value = get(attribute.key) if sql_type == "VARCHAR" else f"TRY_CAST({get(attribute.key)} AS {sql_type})"
        values.append(value if attribute.scale == 1.0 else f"({value} * {attribute.scale})")
    return values[0] if len(values) == 1 else "coalesce(" + ", ".join(values) + ")"


def field(name: str, get: Getter, resource: Getter | None = None) -> str:
    """SQL for a field of SPAN_FIELDS, from the span (then its resource, when given and the
    field has resource names)."""
    sql_type, attributes = SPAN_FIELDS[name]
    value = _first(get, attributes, sql_type)
    if resource is not None and name in RESOURCE_FIELDS:
        value = f"coalesce({value}, {_first(resource, RESOURCE_FIELDS[name], sql_type)})"
    return value


def agent(get: Getter, resource: Getter) -> tuple[str, str]:
    """SQL for the agent and its rank (1 is best) from AGENT."""
    values = [(get if scope == "span" else resource)(attribute.key) for scope, attribute in AGENT]
    rank = "CASE " + " ".join(f"WHEN {value} IS NOT NULL THEN {i}" for i, value in enumerate(values, 1)) + \
        f" ELSE {len(values) + 1} END"
    return "coalesce(" + ", ".join(values) + ")", rank


def kind(get: Getter, name: str) -> str:
    """SQL for a span's kind: `callboard.span.kind`, then its name in SPAN_KINDS, then the GenAI
    operation (chat, text_completion, generate_content → llm; execute_tool → tool), then the
    OpenInference span kind (LLM, TOOL), else `other`."""
    own = get("callboard.span.kind")
    named = " ".join(f"WHEN lower({name}) IN ({', '.join(_quoted(n) for n, _ in names)}) THEN '{k}'"
                     for k, names in SPAN_KINDS.items())
    operation, openinference = get("gen_ai.operation.name"), get("openinference.span.kind")
    return (f"CASE WHEN lower({own}) IN ({', '.join(_quoted(k) for k in KINDS)}) THEN lower({own}) {named} "
            f"WHEN {operation} IN ('chat', 'text_completion', 'generate_content') THEN 'llm' "
            f"WHEN {operation} = 'execute_tool' THEN 'tool' "
            f"WHEN {openinference} = 'LLM' THEN 'llm' WHEN {openinference} = 'TOOL' THEN 'tool' ELSE 'other' END")


def utterance(get: Getter, name: str) -> dict[str, str]:
    """SQL for the UTTERANCES columns of a span: `utter_speaker`, `utter_text`, `utter_lead_s`
    and `utter_trail_s` (NULL for a span that is no one speaking)."""
    def by_name(value: Callable[[Utterance], str | None]) -> str:
        cases = [(u.span_name, value(u)) for u in UTTERANCES]
        whens = " ".join(f"WHEN {_quoted(n)} THEN {v}" for n, v in cases if v is not None)
        return f"CASE lower({name}) {whens} END" if whens else "NULL"

    def seconds(key: str | None) -> str | None:
        return None if key is None else f"TRY_CAST({get(key)} AS DOUBLE)"

    return {
        "utter_speaker": by_name(lambda u: _quoted(u.speaker)),
        "utter_text": by_name(lambda u: (f"coalesce({', '.join(get(k) for k in u.text)})" if u.text else None)),
        "utter_lead_s": by_name(lambda u: seconds(u.starts_after)),
        "utter_trail_s": by_name(lambda u: seconds(u.ends_before)),
    }


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stored(key: str) -> str:
    """A Getter over a stored span's `attributes` JSON."""
    return f"(attributes ->> {_quoted(_path(key))})"


def stored_resource(key: str) -> str:
    """A Getter over the resource attributes stored inside a span's `attributes` JSON."""
    return f"(attributes ->> {_quoted('$.resource.' + _path(key)[2:])})"


def _path(key: str) -> str:
    return '$."' + key + '"'
