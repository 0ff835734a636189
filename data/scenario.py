"""The demo company, and the patterns planted in its data with their dates.

Three voice agents answer calls for 90 days ending on the end day (default `DEMO_END_DAY`,
2026-11-22; the first day is then 2026-08-25). Dates below are for the default end day; each is a
fixed number of days before it. Deploys happen at 06:00 UTC, before the first call of the day
(calls run 13:00-24:00 UTC, business hours on US Eastern time), so every pattern starts on a day
boundary.

- **Prompt change that lifts conversion**: clinic-scheduler v1 → v2 on 2026-10-08 (end − 45 days).
  The caller's goal is met ~47% of the time before and ~61% after when nothing else goes wrong,
  which reads as ~45% → ~58% booked in the CRM. The other agents' v2 prompts (estate-qualifier
  2026-09-15, salon-booker 2026-09-22) change nothing: an honest A/B shows no difference.
- **Model switch**: salon-booker moves from gpt-4.1 to gpt-4.1-mini on 2026-10-28 (end − 25):
  cost per call falls by more than half, LLM-span p95 latency rises by ~40% (a wider tail).
- **One-week latency regression**: every LLM span of every agent takes 1.6× as long from
  2026-11-02 to 2026-11-08 inclusive (end − 20 to end − 14), then returns to normal.
- **End-of-turn setting change**: estate-qualifier's end-of-turn detection is made quicker on
  2026-11-12 (end − 10): it decides the caller has finished after about half the silence it waited
  before, and from then on talks over the caller in ~30% of calls instead of ~3% (the caller's turn
  goes on after the agent has started). Every agent's callers barge in on ~4% of calls throughout.
- **One slow week of speech-to-text**: every transcription takes 2.5× as long from 2026-10-19 to
  2026-10-25 inclusive (end − 34 to end − 28): the caller waits longer, and the stage split of the
  wait (end of turn, speech-to-text, model, speech synthesis) says which stage slowed.
- **Failure modes**, at constant rates over the whole period (no drift): hallucinated facts in
  ~4% of calls (the agent states a price, time, date or address that differs from what its own
  tool returned earlier in the call; no contradiction is ever stated elsewhere), failed tool calls
  ~3%, escalation loops ~2% (3–4 deflections of a request for a person), customers repeating
  the same sentence ~5%, a stalled LLM reply in ~2% (slow turns, > 3.5 s, also arise from tool
  timeouts and the latency tail). Failures lower the chance of a booking and the NPS.

Nothing else changes over time: call volume has a weekday pattern but no trend, and token counts,
tool mix and error rates are stationary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEMO_END_DAY = date(2026, 11, 22)

DEPLOY_HOUR = time(6, 0)
# Share of calls in each hour from 13:00 to 23:00 UTC (08:00-18:00 on US Eastern time).
HOURLY_VOLUME = (0.6, 1.0, 1.1, 1.0, 0.8, 0.8, 0.9, 0.9, 0.8, 0.6, 0.4)
FIRST_HOUR_UTC = 13

HALLUCINATION_RATE = 0.045  # a little above 4%: a few calls end before the agent states a fact
TOOL_FAILURE_RATE = 0.03
TOOL_RETRY_SUCCEEDS = 0.5
ESCALATION_LOOP_RATE = 0.02
HANDOVER_RATE = 0.03  # a caller asks for a person once and is transferred: not a failure
REPEAT_RATE = 0.05
STALL_RATE = 0.02
SURVEY_RATE = 0.25
SLOW_TURN_MS = 3500

REGRESSION_SLOWDOWN = 1.6
STT_SLOWDOWN = 2.5
# The share of the time from the caller's last word to the final transcript spent deciding that the
# turn has ended; the quicker setting waits half as long and more often cuts in.
END_OF_TURN_SHARE = {"patient": 0.5, "quick": 0.25}
TALK_OVER_RATE = {"patient": 0.03, "quick": 0.3}  # calls in which the agent starts before the caller ends
BARGE_IN_RATE = 0.04  # calls in which the caller starts before the agent's reply ends


@dataclass(frozen=True)
class Agent:
    name: str
    share: float  # of all calls
    weekday_volume: tuple[float, ...]  # Monday .. Sunday
    provider: str
    system_tokens: int  # system prompt plus tool schemas, sent with every LLM request
    goal_rate: dict[str, float]  # per prompt version: chance the caller's goal is met if all goes well


AGENTS = (
    Agent("clinic-scheduler", 0.40, (1.15, 1.05, 1.0, 1.0, 0.95, 0.35, 0.15), "anthropic", 4200,
          {"v1": 0.51, "v2": 0.65}),
    Agent("estate-qualifier", 0.25, (1.0, 1.0, 1.0, 1.05, 1.1, 0.9, 0.5), "openai", 4800,
          {"v1": 0.34, "v2": 0.34}),
    Agent("salon-booker", 0.35, (0.6, 1.0, 1.0, 1.05, 1.15, 1.3, 0.45), "openai", 4500,
          {"v1": 0.64, "v2": 0.64}),
)
AGENT_BY_NAME = {agent.name: agent for agent in AGENTS}

# LLM response time in ms: (median, sigma of its logarithm). The mini model is about as fast in
# the middle but has a much wider tail, which is what engineers notice at p95.
LLM_LATENCY = {
    "claude-sonnet-4-5": (540.0, 0.42),
    "gpt-4.1": (470.0, 0.42),
    "gpt-4.1-mini": (500.0, 0.60),
}


@dataclass(frozen=True)
class Timeline:
    """The planted dates for one end day."""

    first_day: date
    end_day: date
    clinic_prompt_change: datetime
    estate_prompt_change: datetime
    salon_prompt_change: datetime
    salon_model_switch: datetime
    regression_first_day: date
    regression_last_day: date
    estate_end_of_turn_change: datetime
    stt_slow_first_day: date
    stt_slow_last_day: date

    def prompt_version(self, agent: str, at: datetime) -> str:
        change = {
            "clinic-scheduler": self.clinic_prompt_change,
            "estate-qualifier": self.estate_prompt_change,
            "salon-booker": self.salon_prompt_change,
        }[agent]
        return "v2" if at >= change else "v1"

    def model(self, agent: str, at: datetime) -> str:
        if agent == "clinic-scheduler":
            return "claude-sonnet-4-5"
        if agent == "salon-booker" and at >= self.salon_model_switch:
            return "gpt-4.1-mini"
        return "gpt-4.1"

    def llm_slowdown(self, day: date) -> float:
        return REGRESSION_SLOWDOWN if self.regression_first_day <= day <= self.regression_last_day else 1.0

    def stt_slowdown(self, day: date) -> float:
        return STT_SLOWDOWN if self.stt_slow_first_day <= day <= self.stt_slow_last_day else 1.0

    def end_of_turn_setting(self, agent: str, at: datetime) -> str:
        quick = agent == "estate-qualifier" and at >= self.estate_end_of_turn_change
        return "quick" if quick else "patient"


def deploy_time(day: date) -> datetime:
    """When a change deployed on `day` went live: before that day's first call."""
    return datetime.combine(day, DEPLOY_HOUR, tzinfo=UTC)


def timeline(end_day: date = DEMO_END_DAY, days: int = 90) -> Timeline:
    """Every planted date, a fixed number of days before `end_day`."""

    def before(n: int) -> date:
        return end_day - timedelta(days=n)

    return Timeline(
        first_day=before(days - 1),
        end_day=end_day,
        clinic_prompt_change=deploy_time(before(45)),
        estate_prompt_change=deploy_time(before(68)),
        salon_prompt_change=deploy_time(before(61)),
        salon_model_switch=deploy_time(before(25)),
        regression_first_day=before(20),
        regression_last_day=before(14),
        estate_end_of_turn_change=deploy_time(before(10)),
        stt_slow_first_day=before(34),
        stt_slow_last_day=before(28),
    )
