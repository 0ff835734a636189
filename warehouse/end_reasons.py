"""How a call ended, in five words every source maps to: a span attribute
(`callboard.call.end_reason`), a call log's `end_reason` column, or a platform's own code (Vapi's
`endedReason`, Retell's `disconnection_reason`) translated by its reader. One vocabulary, so the
Overview's share of hang-ups means the same whichever platform the calls came from.

A value outside these words is not guessed at: the call's end reason stays unknown (NULL) and the
raw value is kept where it came from (the span's attributes, or a refused row's record)."""

from __future__ import annotations

import re

COMPLETED = "completed"  # the conversation ran to its end (either side said goodbye)
CALLER_HUNG_UP = "caller_hung_up"  # the caller left before the agent was done
TRANSFERRED = "transferred"  # handed to a person
VOICEMAIL = "voicemail"  # an outbound call reached voicemail
ERROR = "error"  # a failed step (a tool, the model, speech) ended the call

END_REASONS = (COMPLETED, CALLER_HUNG_UP, TRANSFERRED, VOICEMAIL, ERROR)


_SEPARATORS = r"[\s_-]+"  # "Caller hung up", "caller-hung-up" and "CALLER_HUNG_UP" are one word


def end_reason(value: object) -> str | None:
    """`value` as one of END_REASONS (case, spaces and hyphens forgiven); None when it is none of them."""
    if not isinstance(value, str):
        return None
    word = re.sub(_SEPARATORS, "_", value.strip().lower())
    return word if word in END_REASONS else None


def end_reason_sql(expression: str) -> str:
    """`end_reason` as a DuckDB expression over the SQL `expression`, for readers that parse in SQL."""
    word = f"regexp_replace(lower(trim({expression})), '{_SEPARATORS}', '_', 'g')"
    listed = ", ".join(f"'{reason}'" for reason in END_REASONS)
    return f"CASE WHEN {word} IN ({listed}) THEN {word} END"
