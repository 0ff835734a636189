"""The words an LLM judge receives for one call.

Transcripts and tool payloads come from customers and third-party systems, so they are untrusted:
they go into the prompt only inside <call>, <transcript> and <tool_calls> tags, HTML-escaped so no
customer text can close a tag and pose as an instruction, and every judge's system prompt says the
tagged text is data. The template is the judge file's; this module only fills it in.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template

from judges.spec import JudgeSpec
from warehouse.judgements import CallForJudging, ToolCall, Turn


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


def escape_untrusted(text: str | None) -> str:
    """Text safe to place between our tags: `<`, `>` and `&` become entities."""
    return html.escape(text or "", quote=False)


def _turn_line(turn: Turn) -> str:
    latency = f" (replied after {turn.response_latency_ms} ms)" if turn.response_latency_ms is not None else ""
    return f"[{turn.turn_index}] {escape_untrusted(turn.speaker)}{latency}: {escape_untrusted(turn.text)}"


def _tool_line(tool: ToolCall) -> str:
    turn = "?" if tool.turn_index is None else tool.turn_index
    outcome = (
        f"ERROR {escape_untrusted(tool.error_type or 'unknown')}"
        if tool.is_error
        else f"returned {escape_untrusted(tool.result)}"
    )
    return f"[{turn}] {escape_untrusted(tool.tool_name)} called with {escape_untrusted(tool.arguments)} {outcome}"


def render_prompt(spec: JudgeSpec, call: CallForJudging) -> Prompt:
    """The system prompt and the user message for `call`, from the judge's template."""
    user = Template(spec.prompt).substitute(
        call=f"<call>call id: {escape_untrusted(call.call_id)}; agent: {escape_untrusted(call.agent)}</call>",
        transcript="\n".join(_turn_line(turn) for turn in call.turns) or "(no transcript)",
        tool_calls="\n".join(_tool_line(tool) for tool in call.tools) or "(no tool calls)",
        labels=", ".join(spec.labels),
    )
    return Prompt(system=spec.system, user=user)
