"""How each owned metric is shown: its label, who owns it, a one-line explanation for people who
do not live in the data, how to format it, and which way is good."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    key: str
    label: str
    help: str
    unit: str  # 'pct' (a share, shown as %), 'ms', 'usd', 'score', 'nps', 'count'
    higher_is_better: bool


GROUPS: dict[str, tuple[Panel, ...]] = {
    "PM owns": (
        Panel("conversion_rate", "Conversion rate", "Share of calls that ended in a booking or a qualified lead "
              "(among calls whose outcome the CRM has recorded).", "pct", True),
        Panel("nps", "NPS", "Net Promoter Score from post-call surveys: % who answered 9–10 minus % who "
              "answered 0–6. Ranges from −100 to 100.", "nps", True),
        Panel("resolution_rate", "Resolution rate", "Share of calls the agent resolved without handing over "
              "to a person (among calls with a recorded resolution).", "pct", True),
    ),
    "Engineering owns": (
        Panel("latency_p50_ms", "Reply time, typical (p50)", "Half of the agent's replies start sooner than "
              "this after the caller stops talking.", "ms", False),
        Panel("latency_p95_ms", "Reply time, slowest 5% (p95)", "95% of replies start sooner than this after "
              "the caller stops talking; the rest are the waits callers notice.", "ms", False),
        Panel("error_rate", "Error rate", "Share of calls in which at least one step failed (speech "
              "recognition, the language model, a tool, or speech synthesis).", "pct", False),
        Panel("cost_per_call_usd", "Cost per call", "What the models and speech services cost per call, "
              "from token and audio usage at list prices.", "usd", False),
    ),
    "Joint": (
        Panel("eval_score", "Eval score", "Average quality score (1–5) the judges gave, one judgement per "
              "call: the latest.", "score", True),
        Panel("hallucination_rate", "Hallucination rate", "Share of judged calls in which the agent stated a "
              "fact (price, time, date, address) its own tools contradict.", "pct", False),
    ),
}


NEEDS_JUDGEMENTS = "Joint"  # the group whose figures exist only once a judge has scored calls


def shows_nothing_yet(group: str, judged_calls: int | None) -> bool:
    """Whether a group has no figures to show yet: the joint metrics before any judgement."""
    return group == NEEDS_JUDGEMENTS and not judged_calls


def format_value(value: float | int | None, unit: str) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    if unit == "pct":
        return f"{value:.1%}"
    if unit == "ms":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    if unit == "usd":
        return f"${value:.3f}"
    if unit == "score":
        return f"{value:.2f} / 5"
    if unit == "nps":
        return f"{round(value):+d}" if round(value) else "0"
    return f"{value:,.0f}"


def percent(value: float | None) -> str:
    """A share in whole per cent, for sentences and small figures."""
    return "—" if value is None else f"{value:.0%}"


def format_change(current: float | None, previous: float | None, unit: str) -> str | None:
    """The change against the previous period, in the unit people reason in: points for shares
    and NPS, relative % for times and money."""
    if current is None or previous is None or current != current or previous != previous:
        return None
    if unit == "pct":
        return f"{(current - previous) * 100:+.1f} pts"
    if unit == "nps":
        return f"{round(current - previous):+d} pts"
    if unit == "score":
        return f"{current - previous:+.2f}"
    if previous == 0:
        return None
    return f"{(current - previous) / previous:+.1%}"
