"""Business outcomes as the company's own tools export them: a CRM row for every call (in the CRM's
column names and values) and a survey answer for about a quarter of calls (joined by trace id), each
with the mapping file that tells ingest how their columns read as ours.

Failures cost something here: a failed tool, a hallucination, an escalation loop, a repeated sentence
or a slow turn each lower the caller's NPS, as the lost bookings in `dialogue` lower conversion."""

from __future__ import annotations

from datetime import UTC, datetime

from data import scenario
from data.dialogue import Conversation
from data.dice import Dice

CRM_COLUMNS = ("Call ID", "Agent Line", "Outcome", "Deal Value", "Resolution", "Closed At")
SURVEY_COLUMNS = ("Response ID", "Trace", "Likelihood to Recommend (0-10)", "Satisfaction (1-5)", "Submitted")

CRM_MAPPING = """[source]
name = "crm"
join_on = "call_id"
redact = true

[columns]
call_id = "Call ID"
booked = "Outcome"
deal_value_usd = "Deal Value"
resolved = "Resolution"
escalated = "Resolution"
recorded_at = "Closed At"

[values]
booked = { true = ["Booked", "Won"], false = ["Not booked", "Lost"] }
resolved = { true = ["Resolved"], false = ["Escalated", "Unresolved"] }
escalated = { true = ["Escalated"], false = ["Resolved", "Unresolved"] }
"""

SURVEY_MAPPING = """[source]
name = "survey"
join_on = "trace_id"
redact = true

[columns]
trace_id = "Trace"
nps = "Likelihood to Recommend (0-10)"
csat = "Satisfaction (1-5)"
recorded_at = "Submitted"
"""

# How much each failure lowers a caller's 0-10 answer on average.
NPS_PENALTY = {"failed_tool_call": 2.0, "hallucinated_fact": 1.5, "escalation_loop": 3.0,
               "customer_repeated": 1.0, "slow_turn": 0.8}
ORPHAN_ROWS = 20


def _timestamp(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome_word(agent: str, booked: bool) -> str:
    if agent == "estate-qualifier":
        return "Won" if booked else "Lost"
    return "Booked" if booked else "Not booked"


def crm_row(call_id: str, agent: str, conversation: Conversation, ended_ms: int, dice: Dice) -> list[str]:
    closed = ended_ms + dice.between(2, 240) * 60_000
    deal = "" if conversation.deal_value is None else str(conversation.deal_value)
    return [call_id, agent, _outcome_word(agent, conversation.booked), deal, conversation.resolution,
            _timestamp(closed)]


def survey_row(number: int, trace_id: str, conversation: Conversation, labels: set[str], ended_ms: int,
               dice: Dice) -> list[str] | None:
    """A survey answer for about a quarter of calls (None for the rest)."""
    if not dice.chance(scenario.SURVEY_RATE):
        return None
    mean = (8.7 if conversation.booked else 6.5) - sum(NPS_PENALTY.get(label, 0.0) for label in labels)
    nps = min(10, max(0, round(mean + 1.6 * dice.normal())))
    csat = min(5, max(1, round(1 + nps * 0.4 + 0.5 * dice.normal())))
    submitted = ended_ms + dice.between(5, 2880) * 60_000
    return [f"R-{number:07d}", trace_id, str(nps), str(csat), _timestamp(submitted)]


def orphan_rows(first_missing_number: int, first_ms: int, last_ms: int, dice: Dice) -> list[list[str]]:
    """CRM rows whose call id matches no generated call: ingest must report and keep them."""
    rows = []
    for n in range(ORPHAN_ROWS):
        agent = dice.pick(scenario.AGENTS).name
        closed = first_ms + int(dice.uniform() * (last_ms - first_ms))
        rows.append([f"call-{first_missing_number + n:07d}", agent, _outcome_word(agent, False), "", "Unresolved",
                     _timestamp(closed)])
    return rows
