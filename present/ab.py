"""The A/B comparison's words and tables: each metric's two values with their sample sizes, the
difference with its 95% range, the Holm-adjusted p-value and whether it counts as significant, in
each metric's unit (warehouse/metric_registry.py); and the sentences that say what the comparison
is over (which agents, which periods) when that is not simply "everything"."""

from __future__ import annotations

from datetime import date

from present.formats import dollars, format_p, format_value, seconds
from warehouse.ab import ALPHA, MIN_SAMPLE, ABResult, Comparison, Ran
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY


def _range(interval: tuple[float, float] | None, unit: str) -> str:
    return "—" if interval is None else f"{format_value(interval[0], unit)} to {format_value(interval[1], unit)}"


def _signed(x: float, unit: str) -> str:
    """A difference as a signed number in the unit people reason in (`_UNIT_AFTER` follows it)."""
    if unit == "pct":
        return f"{x * 100:+.1f}"
    if unit == "nps":
        return f"{x:+.1f}"
    if unit == "ms":
        return seconds(x, sign=True)
    if unit == "usd":
        return dollars(x, sign=True)
    return f"{x:+.2f}"


_UNIT_AFTER = {"pct": " pts", "nps": " pts", "ms": " s"}
SAME_NUMBER = 1e-9  # relative: two figures this close are one number summed in two orders, not a difference


def _no_difference(c: Comparison) -> bool:
    """B − A is zero, but for the last bits of floating-point sums (the engine adds in no set order)."""
    scale = max(abs(c.value_a or 0.0), abs(c.value_b or 0.0))
    return c.difference is not None and abs(c.difference) <= SAME_NUMBER * scale


def difference_text(c: Comparison, interval: tuple[float, float] | None = None) -> str:
    """B − A with its unit, and its 95% range when there is one: "+13.6 pts (+11.3 to +15.9)"; a reply
    time in seconds, as its two values are written ("+0.10 s (+0.04 to +0.17)"); a cost in dollars,
    in as many digits as it takes to show it ("+$0.00042"). "No difference" only when it is zero."""
    unit = BY_KEY[c.metric].unit
    if c.difference is None:
        return "—"
    after = _UNIT_AFTER.get(unit, "")
    around = "" if interval is None else f"{_signed(interval[0], unit)} to {_signed(interval[1], unit)}"
    if _no_difference(c):
        return "no difference" + (f" ({around}{after})" if around else "")
    return _signed(c.difference, unit) + after + (f" ({around})" if around else "")


def verdict(c: Comparison) -> str:
    if c.difference is None:
        return "no data"
    if c.too_small:
        return f"too few to say (needs {MIN_SAMPLE} in each)"
    if c.significant:
        better = (c.difference > 0) == BY_KEY[c.metric].higher_is_better
        return f"significant: B {'better' if better else 'worse'}"
    return "not significant"


def rows(result: ABResult) -> list[dict]:
    """The comparison table, one row per metric."""
    table = []
    for c in result.comparisons:
        unit = BY_KEY[c.metric].unit
        table.append({
            "Metric": BY_KEY[c.metric].label,
            "A": format_value(c.value_a, unit),
            "A: n": c.n_a,
            "B": format_value(c.value_b, unit),
            "B: n": c.n_b,
            "B − A (95% range)": difference_text(c, c.difference_interval),
            "p (Holm)": "—" if c.adjusted_p is None else format_p(c.adjusted_p),
            "Verdict": verdict(c),
        })  # fmt: skip
    return table


def arm_ranges(result: ABResult) -> list[dict]:
    """Each arm's own 95% range per metric (percentiles have none here)."""
    return [{"Metric": BY_KEY[c.metric].label, "A: 95% range": _range(c.interval_a, BY_KEY[c.metric].unit),
             "B: 95% range": _range(c.interval_b, BY_KEY[c.metric].unit)} for c in result.comparisons]  # fmt: skip


def method_note(result: ABResult) -> str:
    tested = sum(c.adjusted_p is not None for c in result.comparisons)
    return (
        f"A difference is called significant only when both arms have at least {MIN_SAMPLE} observations behind the "
        f"figure and its test, adjusted by Holm's method for the {tested} metrics tested on this page, gives p under "
        f"{ALPHA:.0%}: a {ALPHA:.0%} chance of any false 'significant' among them. Tests: two-proportion z for shares, "
        "Welch's t for NPS, the eval score and cost, Mood's quantile test for reply times; each within an agent when "
        "more than one agent is compared. Ranges are 95% confidence intervals. Rates are over calls whose outcome or "
        "judgement is recorded (n); reply times over the agent's replies."
    )


MIX_WORDS = {"agent": "agents", "model": "models", "weekday": "days of the week"}


def _day(d: date) -> str:
    return f"{d:%d %b}"


def agent_note(result: ABResult) -> str | None:
    """What the comparison is over when the arms served different agents, or several."""
    left_out = "; ".join(f"{agent} has no calls in {arm}" for agent, arm in sorted(result.left_out.items()))
    if not result.standardized:
        return (f"Compared on {result.agents[0]} only, the one agent both arms served ({left_out}): comparing across "
                "agents would measure the agents, not the versions.") if left_out and result.agents else None
    mix = ", ".join(f"{agent} {w:.0%}" for agent, w in zip(result.agents, result.agent_weights, strict=True))
    dropped = f" Left out: {left_out}." if left_out else ""
    return (f"Standardized by agent: each figure is the arm's per-agent figures weighted by one mix ({mix}), so a "
            f"difference in which agents the arms served cannot pass for a difference between them.{dropped}")


def period_note(result: ABResult, window: int | None) -> str | None:
    """The arms ran at different times: say so, and what the window shows."""
    if result.switch_day is None or result.days_a is None or result.days_b is None:
        return None
    (a0, a1), (b0, b1) = result.days_a, result.days_b
    ran = f"A ran {_day(a0)} – {_day(a1)}, B {_day(b0)} – {_day(b1)}"
    if window:
        return (f"{ran}: only the {window} days either side of {_day(result.switch_day)} are compared, so less else "
                "has changed between them.")  # fmt: skip
    return (f"{ran}: the arms ran in different periods, so anything else that changed over time (a slow week, a "
            f"season, another release) lands in one arm. Compare only the days around {_day(result.switch_day)} to "
            "narrow it.")  # fmt: skip


def mix_notes(result: ABResult, compared: str | None = None) -> list[str]:
    """One sentence per traffic mix on which the arms differ, leaving out agents (compared within
    each) and the mix the arms are defined by (`compared`: 'model' when comparing models)."""
    return [
        f"The two groups' calls come from a different mix of {MIX_WORDS[k]}: "
        f"{result.mix_distance[k]:.0%} of calls would have to move for them to match, so part of any "
        "difference may come from who called rather than from the change."
        for k in result.mix_differs
        if k not in ("agent", compared)
    ]


def window_label(ran: Ran, days: int) -> str:
    """A choice of days that hold both arms: around their switch, or the last days both ran."""
    return f"{days} days either side of the switch" if ran.switch_day else f"The last {2 * days} days both ran"


def outside_period_note(missing: str, period: Filters, ran: Ran, days: int) -> str:
    """Why the comparison is not over the sidebar's period, and which days it is over."""
    window = ran.window(days)
    assert window is not None and ran.days_a and ran.days_b, "a window is shown only when both arms ran"
    (a0, a1), (b0, b1) = ran.days_a, ran.days_b
    what = (f"the {days} days either side of the switch on {_day(ran.switch_day)}" if ran.switch_day
            else f"the last {2 * days} days both ran")
    asked = f"{period.start:%d %b} – {period.end:%d %b %Y}"
    return (f"Arm {missing} has no calls in the sidebar's period ({asked}), so this compares {what}: "
            f"{window[0]:%d %b} – {window[1]:%d %b %Y} (A ran {_day(a0)} – {_day(a1)}, B {_day(b0)} – {_day(b1)}). "
            "Pick fewer days above, or other versions.")
