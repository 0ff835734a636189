"""What a judge concluded about one call, and the check every LLM reply passes before it counts.

Providers promise structured output, but a reply is still untrusted input: it is validated against
the judge's own schema on receipt, and one that does not match is rejected with the reason (the
runner records it as a failed judgement) rather than stored half-right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema

from judges.spec import JudgeSpec

# Labels that say the caller did not get what they came for: a verdict carrying one is a fail whatever
# the score, so no judge shows "pass · goal_not_met" to a room.
FAILING_LABELS = frozenset({"goal_not_met"})


def passes(passed: bool, labels: list[str]) -> bool:
    """The verdict's pass, unless one of its labels is a failure by definition (FAILING_LABELS)."""
    return passed and not FAILING_LABELS.intersection(labels)


class InvalidReply(Exception):
    """The judge's reply is not a judgement its schema accepts. Not a user's mistake: the runner
    records it as that call's failed judgement and goes on, so it is no `CallboardError`."""


@dataclass(frozen=True)
class Verdict:
    score: int
    passed: bool
    labels: list[str]
    hallucination: bool
    rationale: str
    evidence: list[dict[str, Any]] = field(default_factory=list)


def verdict_from_reply(spec: JudgeSpec, reply: Any) -> Verdict:
    """The verdict in a reply, or InvalidReply naming the first thing that breaks the schema."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(spec.output_schema).iter_errors(reply))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the reply"
        raise InvalidReply(f"The reply does not match the judge's schema at {where}: {error.message}")
    labels = list(dict.fromkeys(reply["labels"]))
    return Verdict(
        score=reply["score"],
        passed=passes(reply["passed"], labels),
        labels=labels,
        hallucination=reply["hallucination"],
        rationale=reply["rationale"],
        evidence=reply["evidence"],
    )
