"""The offline judge: deterministic checks that need no API key, so a fresh install shows real
pre-annotations. Its thresholds and penalties live in judges/rules.toml (so tuning them makes a new
judge version); the checks live here.

It is built to be precise rather than clever: a hallucination is only called when the agent states
a price, time, date or address that the call's own tools contradict (or, for the fact kinds the
file lists under `unsupported_kinds`, that nothing in the call supports). Text in the transcript is
only ever matched, never obeyed, so "give this call a 5" in a transcript changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from judges.facts import Fact, facts_in_payload, facts_in_text
from judges.spec import JudgeSpec
from judges.verdict import Verdict, passes
from warehouse.judgements import CallForJudging, ToolCall, Turn

QUOTE_CHARS = 240
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORDS = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Finding:
    label: str
    sentence: str
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _cite(turn_index: int | None, text: str) -> dict[str, Any]:
    """One evidence item: where in the call, and the words."""
    return {"turn_index": turn_index, "quote": _quote(text)}


def _sentence_with(text: str, fragment: str) -> str:
    """The sentence of `text` that contains `fragment`: the words a reviewer needs to see."""
    return next((s for s in _SENTENCE_END.split(text) if fragment in s), text)


def _tool_precedes(tool: ToolCall, turn: Turn) -> bool:
    if tool.turn_index is not None:
        return tool.turn_index <= turn.turn_index
    return tool.started_at <= turn.started_at


def _stated_facts(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    """Agent statements that the call's tool results contradict or, for `unsupported_kinds`, that
    neither a tool nor the customer supplied."""
    tool_facts = [(tool, facts_in_payload(tool.result)) for tool in call.tools if not tool.is_error]
    returned: dict[str, set[str]] = {}
    for _, facts in tool_facts:
        for fact in facts:
            returned.setdefault(fact.kind, set()).add(fact.value)
    unsupported_kinds = set(settings.get("unsupported_kinds", []))
    customer_said: set[tuple[str, str]] = set()
    findings = []
    for turn in call.turns:
        facts = facts_in_text(turn.text)
        if turn.speaker != "agent":
            customer_said.update((fact.kind, fact.value) for fact in facts)
            continue
        for fact in facts:
            if fact.value in returned.get(fact.kind, ()) or (fact.kind, fact.value) in customer_said:
                continue
            source = _contradicting_tool(fact, turn, tool_facts)
            if source is None and fact.kind not in unsupported_kinds:
                continue
            said = _cite(turn.turn_index, _sentence_with(turn.text, fact.text))
            if source is None:
                sentence = f"The agent stated {fact.text} at turn {turn.turn_index}; no tool returned it."
                findings.append(Finding("hallucinated_fact", sentence, [said]))
            else:
                tool, returned_fact = source
                sentence = (
                    f"The agent stated {fact.text} at turn {turn.turn_index} but {tool.tool_name} "
                    f"returned {returned_fact.text}."
                )
                shown = _cite(tool.turn_index, f"{tool.tool_name} returned {tool.result}")
                findings.append(Finding("hallucinated_fact", sentence, [said, shown]))
    return findings


def _contradicting_tool(
    fact: Fact, turn: Turn, tool_facts: list[tuple[ToolCall, list[Fact]]]
) -> tuple[ToolCall, Fact] | None:
    """The latest tool result before `turn` with a fact of the same kind (a different value, since
    the caller checked the value is not returned anywhere); else any such tool in the call."""
    candidates = [(tool, f) for tool, facts in tool_facts for f in facts if f.kind == fact.kind]
    before = [(tool, f) for tool, f in candidates if _tool_precedes(tool, turn)]
    chosen = before or candidates
    return chosen[-1] if chosen else None


def _failed_tools(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    findings = []
    for tool in call.tools:
        if tool.is_error:
            failure = f"{tool.tool_name} failed: {tool.error_type or 'error'}"
            findings.append(Finding("failed_tool_call", f"{failure}.", [_cite(tool.turn_index, failure)]))
    return findings


def _slow_turns(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    limit = settings["slow_turn_ms"]
    slow = [t for t in call.turns if t.response_latency_ms is not None and t.response_latency_ms > limit]
    if not slow:
        return []
    worst = max(slow, key=lambda t: t.response_latency_ms or 0)
    slowest_ms = worst.response_latency_ms or 0
    sentence = (
        f"{len(slow)} agent {'reply' if len(slow) == 1 else 'replies'} took over {limit / 1000:g} s "
        f"(slowest {slowest_ms / 1000:.1f} s at turn {worst.turn_index})."
    )
    return [Finding("slow_turn", sentence, [_cite(t.turn_index, t.text) for t in slow])]


def _normalised_words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _customer_repeats(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    """A customer sentence said again (near enough word for word) later in the call."""
    min_words, similarity = settings["repeat_min_words"], settings["repeat_similarity"]
    said: list[tuple[Turn, list[str]]] = []
    for turn in call.turns:
        if turn.speaker != "customer":
            continue
        words = _normalised_words(turn.text)
        if len(words) < min_words:
            continue
        for earlier, earlier_words in said:
            shorter, longer = sorted((len(earlier_words), len(words)))
            if 2 * shorter / (shorter + longer) < similarity:  # the ratio's upper bound: skip the work
                continue
            if SequenceMatcher(None, earlier_words, words).ratio() >= similarity:
                sentence = f"The customer repeated turn {earlier.turn_index} at turn {turn.turn_index}."
                evidence = [_cite(t.turn_index, t.text) for t in (earlier, turn)]
                return [Finding("customer_repeated", sentence, evidence)]
        said.append((turn, words))
    return []


def _escalation_loop(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    """The customer asked for a person and the agent answered those asks without handing over,
    again and again (a loop that ends in a late transfer is still a loop)."""
    asks = re.compile(settings["human_request"], re.IGNORECASE)
    hands_over = re.compile(settings["handover"], re.IGNORECASE)
    deflections: list[Turn] = []
    customer_asked = False
    for turn in call.turns:
        if turn.speaker == "customer":
            customer_asked = bool(asks.search(turn.text))
        elif customer_asked:
            if hands_over.search(turn.text):
                break
            deflections.append(turn)
    if len(deflections) < settings["escalation_min_deflections"]:
        return []
    sentence = f"The customer asked for a person and the agent deflected {len(deflections)} times."
    return [Finding("escalation_loop", sentence, [_cite(t.turn_index, t.text) for t in deflections])]


def _goal_not_met(call: CallForJudging, settings: dict[str, Any]) -> list[Finding]:
    """Only the CRM knows whether the caller got what they came for; without its word, no finding."""
    if call.booked is not False:
        return []
    last = call.turns[-1] if call.turns else None
    evidence = [] if last is None else [_cite(last.turn_index, last.text)]
    return [Finding("goal_not_met", "The CRM records no booking for this call.", evidence)]


CHECKS: tuple[Callable[[CallForJudging, dict[str, Any]], list[Finding]], ...] = (
    _stated_facts, _failed_tools, _escalation_loop, _customer_repeats, _slow_turns, _goal_not_met,
)  # fmt: skip


def judge_with_rules(spec: JudgeSpec, call: CallForJudging) -> Verdict:
    """Run every check; the score is 5 minus the file's penalty for each label found (at least 1),
    and the call passes at `pass_min_score` unless a label fails it outright (`verdict.FAILING_LABELS`)."""
    settings = spec.rules
    findings = [finding for check in CHECKS for finding in check(call, settings)]
    labels = [label for label in dict.fromkeys(f.label for f in findings) if label in spec.labels]
    kept = [f for f in findings if f.label in labels]
    penalties = settings["penalties"]
    score = max(1, 5 - sum(penalties.get(label, 1) for label in labels))
    return Verdict(
        score=score,
        passed=passes(score >= settings["pass_min_score"], labels),
        labels=labels,
        hallucination="hallucinated_fact" in labels,
        rationale=" ".join(f.sentence for f in kept) or "No rule found a problem.",
        evidence=[item for f in kept for item in f.evidence],
    )
