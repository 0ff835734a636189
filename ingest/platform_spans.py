"""A hosted platform's call object (Vapi, Retell) written as the OTLP trace a traced call would
have sent: a `call` span, a `turn` span per utterance, stage spans (`eot`, `stt`, `llm`, `tts`)
where the platform times them per turn, `tool` spans, and zero-length cost spans, one per
component the platform bills. The trace then goes through the one OTLP parser and span loader,
so a platform's call is a call like any other: same call view, same metrics, same attributes
kept. docs/trace-format.md ("Vapi", "Retell") shows the spans each platform field becomes.

`RecordProblem` is what a mapper raises for a call it cannot read; the record is quarantined
with that sentence as its reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

import orjson

from warehouse.call_search import CALLER_NUMBER
from warehouse.end_reasons import END_REASONS, ERROR


class RecordProblem(ValueError):
    """Why a call object cannot be loaded, as one sentence naming the field."""


def _hex_id(*parts: str, nbytes: int) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[: 2 * nbytes]


def _any_value(value: object) -> dict:
    """A Python value as OTLP's AnyValue: lists and objects as JSON text."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"stringValue": orjson.dumps(value).decode()}


def attribute_list(values: dict[str, object]) -> list[dict]:
    """OTLP's attribute list; None values are left out."""
    return [{"key": key, "value": _any_value(value)} for key, value in values.items() if value is not None]


# Fields never copied, wherever they are: credentials a call object can carry (a Retell web call's
# access_token, an inline Vapi assistant's server secret and headers, provider credentials).
SECRET_FIELD = re.compile(r"secret|password|api_?key|credential|authori[sz]ation|^headers$|access_?token|^token$",
                          re.IGNORECASE)


def scrubbed(value: object) -> object:
    """`value` with every `SECRET_FIELD` left out, at any depth: a refused record is kept as read
    but for its credentials."""
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items() if not SECRET_FIELD.search(str(k))}
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    return value


def flattened(prefix: str, value: object, leave_out: frozenset[str] = frozenset()) -> dict[str, object]:
    """The platform's own fields as attributes `prefix.path.to.field` (objects flattened, lists
    kept whole as JSON), so a field we do not map is still stored. Paths in `leave_out` (the
    transcript lists, which become turn spans) are not copied, nor is any `SECRET_FIELD`."""
    if isinstance(value, dict):
        found: dict[str, object] = {}
        for key, inner in value.items():
            path = f"{prefix}.{key}"
            if path.split(".", 1)[1] not in leave_out and not SECRET_FIELD.search(str(key)):
                found.update(flattened(path, inner, leave_out))
        return found
    return {} if value is None else {prefix: value}


def ending(reason: object, rules: Iterable[tuple[str, str]]) -> str | None:
    """Our word for how a call ended (warehouse/end_reasons.py): the first rule whose pattern
    (shell-style, `*` for any text) matches the platform's reason; None (unknown) when none does.
    The platform's own value stays on the call span either way."""
    if not isinstance(reason, str):
        return None
    word = next((ours for pattern, ours in rules if fnmatchcase(reason, pattern)), None)
    assert word is None or word in END_REASONS, word
    return word


def epoch_ms(value: object, name: str) -> float:
    """An ISO 8601 date-time (`2026-11-02T09:14:03.120Z`) or epoch milliseconds, as epoch ms."""
    if isinstance(value, bool) or value is None:
        raise RecordProblem(f"{name} is missing")
    if isinstance(value, int | float):
        ms = float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RecordProblem(f"{name} {value!r} is not a date and time") from None
        if moment.tzinfo is None:
            raise RecordProblem(f"{name} {value!r} has no time zone (UTC is written with Z)")
        ms = moment.timestamp() * 1000
    else:
        raise RecordProblem(f"{name} is not a date and time")
    if not 946_684_800_000 <= ms <= 4_102_444_800_000:
        raise RecordProblem(f"{name} {value!r} is not between 2000 and 2100 (epoch milliseconds?)")
    return ms


def number(value: object, name: str) -> float | None:
    """A number the platform gave, None when it gave none; text or booleans are a mistake."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordProblem(f"{name} {value!r} is not a number")
    return float(value)


def text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordProblem(f"{name} has no text")
    return value.strip()


def nanos(ms: float) -> str:
    """Epoch ms as OTLP's nanoseconds, exact to the microsecond (ms × 1e6 in floating point
    would not be: 1.8e18 is past a double's 2^53)."""
    return str(round(ms * 1000) * 1000)


@dataclass
class CallTrace:
    """The spans of one call as they are built; `export()` is the OTLP/JSON document.

    `opened` and `close` read the fields every platform has through its field table (`fields`:
    our name → its paths): call_id, started_at, agent, prompt_version, recording_url, end_reason,
    caller_number."""

    platform: str
    call_id: str
    digest: str  # the call object's fingerprint (`fingerprint`)
    started_ms: float
    resource: dict[str, object]
    spans: list[dict] = field(default_factory=list)

    @classmethod
    def opened(cls, platform: str, call: dict, fields: dict[str, tuple[str, ...]]) -> CallTrace:
        """The call's trace, with no span yet; a call object without an id or a start is refused."""
        call_id = lookup(call, fields["call_id"])
        if not isinstance(call_id, str) or not call_id:
            raise RecordProblem(f"no call id ({fields['call_id'][0]})")
        version = lookup(call, fields.get("prompt_version", ()))
        return cls(platform, call_id, fingerprint(call), epoch_ms(lookup(call, fields["started_at"]),
                                                                    fields["started_at"][0]),
                   {"callboard.call.id": call_id, "callboard.agent": lookup(call, fields["agent"]),
                    "callboard.prompt.version": None if version is None else str(version)})

    def close(self, call: dict, fields: dict[str, tuple[str, ...]], ended_ms: float,
              endings: Iterable[tuple[str, str]], not_copied: frozenset[str]) -> None:
        """The call span: recording, how the call ended (a failed span when by an error), the
        caller's number (the Calls page finds calls by it) and every field of the call object but
        `not_copied` and credentials, as `<platform>.<path>`."""
        if ended_ms < self.started_ms:
            raise RecordProblem(f"{fields['ended_at'][0]} is before {fields['started_at'][0]}")
        how = ending(lookup(call, fields["end_reason"]), endings)
        self.add("call", "call", self.started_ms, ended_ms, {
            "callboard.span.kind": "call", "callboard.call.id": self.call_id,
            "callboard.call.recording_url": lookup(call, fields["recording_url"]),
            "callboard.call.end_reason": how, "callboard.source.digest": self.digest,
            CALLER_NUMBER: lookup(call, fields["caller_number"]),
            **flattened(self.platform, call, not_copied)}, error=how == ERROR)

    @property
    def trace_id(self) -> str:
        return _hex_id(self.platform, self.call_id, nbytes=16)

    @property
    def root_id(self) -> str:
        return _hex_id(self.trace_id, "call", nbytes=8)

    def add(self, name: str, key: str, start_ms: float, end_ms: float, attributes: dict[str, object],
            error: bool = False) -> dict:
        """A span under the call span (the call span itself when `key` is "call"); `key` makes its
        id, the same on every load of the same call, so loading a file again stores nothing twice.
        Returns the span, for a later message (a tool's result) to complete."""
        root = key == "call"
        span: dict[str, object] = {
            "traceId": self.trace_id, "spanId": self.root_id if root else _hex_id(self.trace_id, key, nbytes=8),
            "parentSpanId": "" if root else self.root_id, "name": name,
            "startTimeUnixNano": nanos(start_ms), "endTimeUnixNano": nanos(end_ms),
            "attributes": attribute_list(attributes),
        }
        if error:
            span["status"] = {"code": 2}
        self.spans.append(span)
        return span

    def export(self) -> bytes:
        return orjson.dumps({"resourceSpans": [{"resource": {"attributes": attribute_list(self.resource)},
                                                "scopeSpans": [{"spans": self.spans}]}]})


def add_costs(trace: CallTrace, at_ms: float, components: dict[str, float], total: float | None,
              usage: dict[str, dict[str, object]]) -> None:
    """One zero-length `other` span per billed component at the call's end (when the platform
    bills), its cost in `callboard.cost_usd`, so the call's cost is their sum; whatever the
    platform's total holds beyond its components (analysis, for one) is an `unitemized` span, so
    the sum is the platform's total. `usage` adds attributes (tokens) to a component's span."""
    itemized = 0.0
    for component, usd in components.items():
        itemized += usd
        trace.add(f"cost {component}", f"cost:{component}", at_ms, at_ms,
                  {"callboard.span.kind": "other", "callboard.cost.component": component, "callboard.cost_usd": usd,
                   **usage.get(component, {})})
    rest = round((total or 0.0) - itemized, 9)
    if rest > 0:
        trace.add("cost unitemized", "cost:unitemized", at_ms, at_ms, {
            "callboard.span.kind": "other", "callboard.cost.component": "unitemized", "callboard.cost_usd": rest})


def fingerprint(record: dict) -> str:
    """The call object's fingerprint: a changed export replaces the call, the same one is left."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


def lookup(record: dict, paths: Iterable[str]) -> object:
    """The first of `paths` the record holds (not None). A path is dotted keys; `name[]` looks in
    each item of the list `name` in turn (`costs[].model.model`: the first cost item with a model)."""
    for path in paths:
        found = _at(record, path.split("."))
        if found is not None:
            return found
    return None


def _at(value: object, keys: list[str]) -> object:
    if not keys:
        return value
    key, rest = keys[0], keys[1:]
    if key.endswith("[]"):
        items = value.get(key[:-2]) if isinstance(value, dict) else None
        return next((found for item in items or [] if (found := _at(item, rest)) is not None), None) \
            if isinstance(items, list) else None
    return _at(value.get(key), rest) if isinstance(value, dict) else None
