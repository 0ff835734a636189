"""The A/B comparison's words and table: each metric's two values with their 95% ranges and
sample sizes, the difference, and whether it counts as significant, in each metric's unit
(warehouse/metric_registry.py)."""

from __future__ import annotations

from present.formats import format_value
from warehouse.ab import MIN_SAMPLE, ABResult, Comparison
from warehouse.metric_registry import BY_KEY


def _range(interval: tuple[float, float] | None, unit: str) -> str:
    return "" if interval is None else f" ({format_value(interval[0], unit)} to {format_value(interval[1], unit)})"


def difference_text(c: Comparison, interval: tuple[float, float] | None = None) -> str:
    """B − A in points for shares and NPS, as a plain number for scores."""
    unit = BY_KEY[c.metric].unit

    def one(x: float) -> str:
        if unit == "pct":
            return f"{x * 100:+.1f} pts"
        return f"{x:+.1f} pts" if unit == "nps" else f"{x:+.2f}"

    if c.difference is None:
        return "—"
    return one(c.difference) + ("" if interval is None else f" ({one(interval[0])} to {one(interval[1])})")


def verdict(c: Comparison) -> str:
    if c.difference is None:
        return "no data"
    if min(c.n_a, c.n_b) < MIN_SAMPLE:
        return f"too few to say (needs {MIN_SAMPLE} in each)"
    if c.significant:
        better = (c.difference > 0) == BY_KEY[c.metric].higher_is_better
        return f"significant: B {'better' if better else 'worse'}"
    return "no significant difference"


def rows(result: ABResult) -> list[dict]:
    table = []
    for c in result.comparisons:
        unit = BY_KEY[c.metric].unit
        table.append({
            "Metric": BY_KEY[c.metric].label,
            "A (95% range)": format_value(c.value_a, unit) + _range(c.interval_a, unit),
            "A: n": c.n_a,
            "B (95% range)": format_value(c.value_b, unit) + _range(c.interval_b, unit),
            "B: n": c.n_b,
            "B − A (95% range)": difference_text(c, c.difference_interval),
            "Verdict": verdict(c),
        })
    return table


MIX_WORDS = {"agent": "agents", "model": "models", "weekday": "days of the week"}


def mix_notes(result: ABResult) -> list[str]:
    """One sentence per traffic mix on which the two arms differ."""
    return [
        f"The two groups' calls come from a different mix of {MIX_WORDS[k]}: "
        f"{result.mix_distance[k]:.0%} of calls would have to move for them to match, so part of any "
        "difference may come from who called rather than from the change."
        for k in result.mix_differs
    ]
