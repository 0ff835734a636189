"""How a metric's value and its change are written, by the metric's unit (the units, labels, owners
and directions themselves are declared in warehouse/metric_registry.py)."""

from __future__ import annotations

import math
from typing import Literal

from warehouse.metric_registry import CHANGE_LEVEL, Metric, Row, number, unlikely_noise
from warehouse.stats import TestResult

MS_PER_SECOND = 1000


def format_value(value: float | int | None, unit: str) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    if unit == "pct":
        return f"{value:.1%}"
    if unit == "ms":
        return f"{seconds(value)} s"
    if unit == "usd":
        return dollars(value)
    if unit == "score":
        return f"{value:.2f} / 5"
    if unit == "nps":
        return f"{round(value):+d}" if round(value) else "0"
    return f"{value:,.0f}"


def seconds(ms: float, sign: bool = False) -> str:
    """A duration stored in milliseconds as a number of seconds, without the unit ("1.26", "0.83",
    "+0.10"): every duration in words reads in seconds, as the charts' axes do, so a sentence never
    sets "1.26 s" beside "826 ms". Two decimals; three under a tenth of a second, where two would
    write a 4 ms step as nothing."""
    value = ms / MS_PER_SECOND
    digits = 3 if 0 < abs(value) < 0.1 else 2
    return f"{value:{'+' if sign else ''}.{digits}f}"


def dollars(value: float, sign: bool = False) -> str:
    """An amount of money ("$0.071", "−$0.0042", "+$0.00031"): three decimals, as a call's cost reads,
    and two significant digits below a cent, where three decimals would write a cost of $0.0004, or a
    difference of a few hundredths of a cent between two versions, as $0.000. Zero is "$0.000"."""
    digits = 3 if value == 0 else max(3, 1 - math.floor(math.log10(abs(value))))
    shown = f"${abs(value):.{digits}f}"
    if value < 0:
        return "−" + shown
    return "+" + shown if sign else shown


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


def format_p(p_value: float) -> str:
    """A p-value as people can read it: never a bare 0."""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}" if p_value < 0.01 else f"p = {p_value:.2f}"


def delta_colour(m: Metric, result: TestResult | None) -> Literal["normal", "inverse", "off"]:
    """Streamlit's colour rule for a change: green or red by the metric's direction when the
    change is unlikely to be noise, grey otherwise (and for volume, where neither way is good)."""
    if not unlikely_noise(result) or m.higher_is_better is None:
        return "off"
    return "normal" if m.higher_is_better else "inverse"


def noise_verdict(result: TestResult | None) -> str:
    """Next to a change: whether it is news or could be chance, with its p-value."""
    if result is None:
        return "too few to test"
    words = "unlikely to be noise" if unlikely_noise(result) else "could be noise"
    return f"{words} ({format_p(result.p_value)})"


def sample_sizes(m: Metric, now: Row, before: Row) -> str:
    """A card's n: how many observations the figure is over, now and in the period before."""
    def count(row: Row) -> str:
        n = row.get(m.n_key)
        return "0" if n is None else f"{n:,}"

    shown = f"n = {count(now)} {m.n_label} (before: {count(before)})"
    left_out = now.get(m.left_out_key) if m.left_out_key else None
    if left_out:
        shown += f"; {left_out:,} call{'s' if left_out != 1 else ''} {m.left_out_label}"
    return shown


def card_note(m: Metric, now: Row, before: Row, result: TestResult | None) -> str:
    """Under a card's figure: whether its change could be noise (when there is a change) and its
    n. A caption rather than the metric's delta description, which a narrow card cuts short."""
    sizes = sample_sizes(m, now, before)
    if format_change(number(now, m.key), number(before, m.key), m.unit) is None:
        return sizes
    verdict = noise_verdict(result)
    return f"{verdict[0].upper()}{verdict[1:]} · {sizes}"


def noise_help(m: Metric) -> str:
    """A card's tooltip: what the metric is, and when its change is coloured."""
    return (f"{m.help}\n\nThe change is coloured only when the {m.noise.name} says it is unlikely to be noise "
            f"(p below {CHANGE_LEVEL:.4f}: 5% shared across the page's cards); otherwise it is grey.")
