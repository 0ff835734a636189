"""How a metric's value and its change are written, by the metric's unit (the units, labels, owners
and directions themselves are declared in warehouse/metric_registry.py)."""

from __future__ import annotations


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
