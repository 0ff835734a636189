"""A conversation as OTLP/JSON spans, timed like a voice pipeline.

Each agent reply waits for end-of-turn detection to decide the caller has finished, runs
speech-to-text on the caller's last words, then the LLM (once more after each tool call), then
text-to-speech; the reply is heard when the first audio byte is ready. So an agent turn's response
latency (its start minus the end of the caller's turn) is end of turn + stt + llm (+ tool + llm) +
tts first byte + a few milliseconds of hand-off, as docs/trace-format.md measures it. The greeting
is pre-recorded audio: no pipeline, no latency.

When end-of-turn detection cuts in, the caller's turn goes on past the agent's start (the agent
talks over the caller); when the caller barges in, their next turn starts before the agent's ends.
Those draws come from a generator of the call's own (seeded by its trace id), so the other draws,
and every other planted pattern, stay as they were.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson

from data import scenario
from data.audio import recording_name
from data.dialogue import Conversation, Reply, ToolCall
from data.dice import Dice

STT = ("deepgram", "nova-3")
TTS = ("elevenlabs", "eleven_flash_v2_5")
TOOL_TIMEOUT_MS = 3000
FINISH = {"anthropic": ("end_turn", "tool_use"), "openai": ("stop", "tool_calls")}


@dataclass(frozen=True)
class CallMeta:
    call_id: str
    trace_id: str
    agent: str
    prompt_version: str
    model: str
    started_ms: int  # unix epoch milliseconds
    llm_slowdown: float
    recorded: bool
    stt_slowdown: float = 1.0
    end_of_turn: str = "patient"  # a key of scenario.END_OF_TURN_SHARE


@dataclass
class EncodedCall:
    resource_spans: dict
    span_count: int
    latencies_ms: list[int]  # one per agent reply
    ended_ms: int


def _text(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def _int(key: str, value: int) -> dict:
    return {"key": key, "value": {"intValue": str(value)}}


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _message(role: str, part: dict, finish: str | None = None) -> dict:
    """One message as OpenTelemetry GenAI's `gen_ai.input.messages` / `gen_ai.output.messages` hold it."""
    message = {"role": role, "parts": [part]}
    return message | {"finish_reason": finish} if finish else message


def caller_number(trace_id: str) -> str:
    """The number the call came from: a UK drama number (+44 7700 900000–900999, never a real
    line), from the trace id so no other draw moves; a thousand numbers over 20,000 calls, so
    regular callers ring more than once, as they do."""
    return f"+44 7700 900{int(trace_id[-6:], 16) % 1000:03d}"


class _Trace:
    """Collects one call's spans; holds the ids and the clock shared by every span of the call."""

    def __init__(self, meta: CallMeta) -> None:
        self.meta = meta
        self.prefix = meta.trace_id[:12]
        self.spans: list[dict] = []
        self.root_id = f"{self.prefix}0000"

    def _next_id(self) -> str:
        return f"{self.prefix}{len(self.spans) + 1:04x}"

    def add(self, name: str, kind: int, start_ms: int, end_ms: int, attributes: list[dict],
            error: str | None = None) -> None:
        span_id = self.root_id if name == "call" else self._next_id()
        span = {"traceId": self.meta.trace_id, "spanId": span_id, "name": name, "kind": kind,
                "startTimeUnixNano": f"{start_ms}000000", "endTimeUnixNano": f"{end_ms}000000",
                "attributes": attributes, "status": {"code": 2, "message": error} if error else {"code": 1}}
        if name != "call":
            span["parentSpanId"] = self.root_id
        self.spans.append(span)


def _speech_ms(text: str, per_char_ms: float, dice: Dice) -> int:
    return int(len(text) * per_char_ms * dice.lognormal(1.0, 0.12)) + 250


def _llm_span(trace: _Trace, turn: int, start: int, duration: float, tokens: tuple[int, int], finish: str,
              texts: tuple[str, str], messages: tuple[list[dict], list[dict]], openinference: bool) -> int:
    """One model call. `texts` (what it heard, what it said) for OpenInference's input/output values;
    `messages` (its new input messages, its output messages) in OpenTelemetry GenAI's JSON form, so
    the call view's step detail shows what the model read and wrote."""
    meta, provider = trace.meta, scenario.AGENT_BY_NAME[trace.meta.agent].provider
    end = start + int(duration)
    if openinference:
        attributes = [_text("openinference.span.kind", "LLM"), _text("llm.provider", provider),
                      _text("llm.model_name", meta.model), _int("llm.token_count.prompt", tokens[0]),
                      _int("llm.token_count.completion", tokens[1]), _text("input.value", texts[0]),
                      _text("output.value", texts[1]), _int("callboard.turn.index", turn)]
        trace.add("ChatCompletion", 3, start, end, attributes)
        return end
    attributes = [_text("gen_ai.operation.name", "chat"), _text("gen_ai.provider.name", provider),
                  _text("gen_ai.request.model", meta.model), _text("gen_ai.response.model", meta.model),
                  _int("gen_ai.usage.input_tokens", tokens[0]), _int("gen_ai.usage.output_tokens", tokens[1]),
                  {"key": "gen_ai.response.finish_reasons",
                   "value": {"arrayValue": {"values": [{"stringValue": finish}]}}},
                  _text("gen_ai.input.messages", _json(messages[0])),
                  _text("gen_ai.output.messages", _json(messages[1])),
                  _int("callboard.turn.index", turn)]
    trace.add(f"chat {meta.model}", 3, start, end, attributes)
    return end


def _tool_span(trace: _Trace, turn: int, start: int, tool: ToolCall, dice: Dice) -> int:
    attributes = [_text("gen_ai.operation.name", "execute_tool"), _text("gen_ai.tool.name", tool.name),
                  _text("gen_ai.tool.call.arguments", _json(tool.arguments)), _int("callboard.turn.index", turn)]
    if tool.error_type is None:
        end = start + int(dice.lognormal(200.0, 0.7))
        attributes.append(_text("gen_ai.tool.call.result", _json(tool.result)))
        trace.add(f"execute_tool {tool.name}", 1, start, end, attributes)
        return end
    timed_out = tool.error_type == "timeout"
    end = start + (TOOL_TIMEOUT_MS + dice.between(0, 40) if timed_out else dice.between(40, 200))
    attributes.append(_text("error.type", tool.error_type))
    message = f"{tool.name} timed out after {TOOL_TIMEOUT_MS} ms" if timed_out else f"{tool.name}: 503 from upstream"
    trace.add(f"execute_tool {tool.name}", 1, start, end, attributes, message)
    return end


def _reply_pipeline(trace: _Trace, turn: int, heard: str, heard_ms: int, reply: Reply, text: str,
                    context_chars: int, start: int, stall_ms: int, dice: Dice, openinference: bool) -> int:
    """stt → llm (→ tool → llm)* → tts for one agent reply; returns when its first audio byte is ready."""
    meta = trace.meta
    median, sigma = scenario.LLM_LATENCY[meta.model]
    finish_stop, finish_tool = FINISH[scenario.AGENT_BY_NAME[meta.agent].provider]
    prompt_tokens = scenario.AGENT_BY_NAME[meta.agent].system_tokens + context_chars // 4
    audio_s = round(heard_ms / 1000, 2)
    until_transcript = int(dice.lognormal(210.0, 0.4))
    decided = start + int(until_transcript * scenario.END_OF_TURN_SHARE[meta.end_of_turn])
    trace.add("end_of_turn", 1, start, decided, [_text("callboard.span.kind", "eot"),
                                                _text("callboard.end_of_turn.setting", meta.end_of_turn),
                                                _int("callboard.turn.index", turn)])
    clock = decided + int((start + until_transcript - decided) * meta.stt_slowdown)
    trace.add("stt", 3, decided, clock, [_text("gen_ai.provider.name", STT[0]), _text("gen_ai.request.model", STT[1]),
                                       {"key": "callboard.audio.seconds", "value": {"doubleValue": audio_s}},
                                       _text("output.value", heard), _int("callboard.turn.index", turn)])
    new_input = [_message("user", {"type": "text", "content": heard})]
    for number, tool in enumerate(reply.tools, start=1):
        call = _json({"tool": tool.name, "arguments": tool.arguments})
        call_id = f"call_{turn}_{number}"
        asked = [_message("assistant", {"type": "tool_call", "id": call_id, "name": tool.name,
                                        "arguments": tool.arguments}, finish_tool)]
        duration = dice.lognormal(median * 0.7, sigma) * meta.llm_slowdown
        clock = _llm_span(trace, turn, clock + dice.between(5, 20), duration,
                          (prompt_tokens, dice.between(18, 40)), finish_tool, (heard, call), (new_input, asked),
                          openinference)
        clock = _tool_span(trace, turn, clock + dice.between(2, 10), tool, dice)
        prompt_tokens += len(_json(tool.result)) // 4 + 30
        answer = tool.result if tool.error_type is None else {"error": tool.error_type}
        new_input = [_message("tool", {"type": "tool_call_response", "id": call_id, "response": answer})]
    duration = dice.lognormal(median, sigma) * meta.llm_slowdown + stall_ms
    said = [_message("assistant", {"type": "text", "content": text}, finish_stop)]
    clock = _llm_span(trace, turn, clock + dice.between(5, 20), duration,
                      (prompt_tokens, len(text) // 4 + dice.between(2, 8)), finish_stop, (heard, text),
                      (new_input, said), openinference)
    tts_start = clock + dice.between(5, 20)
    first_byte = tts_start + int(dice.lognormal(160.0, 0.45))
    trace.add("tts", 3, tts_start, first_byte + len(text) * 2,
              [_text("gen_ai.provider.name", TTS[0]), _text("gen_ai.request.model", TTS[1]),
               _int("callboard.tts.characters", len(text)), _int("callboard.turn.index", turn)])
    return first_byte


def _turn(trace: _Trace, index: int, speaker: str, text: str, start: int, end: int) -> None:
    trace.add("turn", 1, start, end, [_int("callboard.turn.index", index), _text("callboard.turn.speaker", speaker),
                                      _text("callboard.turn.text", text)])


def _overlapping_replies(meta: CallMeta, replies: int) -> tuple[dict[int, int], dict[int, int]]:
    """Which reply (numbered from 1) the agent starts while the caller is still talking, and which
    the caller barges in on, each with the overlap in ms; from the call's own generator."""
    voice = random.Random(meta.trace_id)
    talk_over = voice.random() < scenario.TALK_OVER_RATE[meta.end_of_turn]
    barge_in = voice.random() < scenario.BARGE_IN_RATE
    talks_over = {voice.randint(1, replies): voice.randint(400, 1200)} if replies and talk_over else {}
    barged_in_on = {voice.randint(1, replies): voice.randint(500, 1500)} if replies and barge_in else {}
    return talks_over, barged_in_on


def encode_call(conversation: Conversation, meta: CallMeta, dice: Dice, openinference: bool) -> EncodedCall:
    """The call's resourceSpans entry, with LLM spans in OpenInference attributes when asked."""
    trace = _Trace(meta)
    replies = sum(exchange.reply is not None for exchange in conversation.exchanges)
    stalled = dice.between(1, replies) if replies and dice.chance(scenario.STALL_RATE) else 0
    clock = meta.started_ms + dice.between(300, 700)
    end = clock + _speech_ms(conversation.greeting, 62.0, dice)
    _turn(trace, 0, "agent", conversation.greeting, clock, end)
    context_chars = len(conversation.greeting)
    latencies: list[int] = []
    talks_over, barged_in_on = _overlapping_replies(meta, replies)
    barge_in_ms = 0
    for number, exchange in enumerate(conversation.exchanges):
        start = end + int(dice.lognormal(450.0, 0.35)) - barge_in_ms
        end = start + _speech_ms(exchange.customer, 60.0, dice)
        context_chars += len(exchange.customer)
        if exchange.reply is None:
            _turn(trace, 2 * number + 1, "customer", exchange.customer, start, end)
            continue
        text = exchange.reply.text()
        reply_number = len(latencies) + 1
        stall_ms = dice.between(2800, 4500) if reply_number == stalled else 0
        caller_start, heard_until = start, end
        start = _reply_pipeline(trace, 2 * number + 2, exchange.customer, end - start, exchange.reply, text,
                                context_chars, end, stall_ms, dice, openinference)
        if reply_number in talks_over:  # the caller only paused: they talk on over the agent's start
            heard_until = start + talks_over[reply_number]
        latencies.append(start - heard_until)  # the wait the caller hears (negative when talked over)
        _turn(trace, 2 * number + 1, "customer", exchange.customer, caller_start, heard_until)
        end = start + _speech_ms(text, 62.0, dice)
        barge_in_ms = min(barged_in_on.get(reply_number, 0), (end - start) // 2)
        _turn(trace, 2 * number + 2, "agent", text, start, end)
        context_chars += len(text) + sum(len(_json(tool.result)) for tool in exchange.reply.tools)
    ended = end + dice.between(200, 800)
    root = [_text("session.id", meta.call_id), _text("callboard.agent", meta.agent),
            _text("callboard.prompt.version", meta.prompt_version),
            _text("callboard.call.end_reason", conversation.ending),
            _text("callboard.caller.number", caller_number(meta.trace_id))]
    if meta.recorded:
        root.append(_text("callboard.call.recording_url", recording_name(meta.call_id)))
    trace.add("call", 2, meta.started_ms, ended, root)
    trace.spans.insert(0, trace.spans.pop())
    resource = {"attributes": [_text("service.name", meta.agent), _text("deployment.environment.name", "production")]}
    resource_spans = {"resource": resource,
                      "scopeSpans": [{"scope": {"name": "callboard-demo"}, "spans": trace.spans}]}
    return EncodedCall(resource_spans, len(trace.spans), latencies, ended)
