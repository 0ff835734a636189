"""Money is written in one way everywhere (present/formats.py::dollars), and Compare versions' cost
difference shows its size: a per-call difference under a tenth of a cent read "+$0.000" (issue 17,
a room notices), as if the versions cost the same. "No difference" is said only when it is zero."""

from __future__ import annotations

import pytest

from present.ab import difference_text, rows
from present.formats import dollars, format_value
from warehouse.ab import ABResult, Comparison


@pytest.mark.parametrize(("value", "shown"), [
    (0.071, "$0.071"), (0.0712, "$0.071"), (1.5, "$1.500"), (0.0, "$0.000"),  # a call's cost, as it always read
    (0.0042, "$0.0042"), (0.00042, "$0.00042"), (0.0004, "$0.00040"), (0.000031, "$0.000031"),  # under a cent
    (-0.00042, "−$0.00042"),
])  # fmt: skip
def test_money_reads_in_three_decimals_and_two_significant_digits_under_a_cent(value: float, shown: str) -> None:
    assert dollars(value) == shown == format_value(value, "usd")


def test_a_signed_amount_says_which_way() -> None:
    assert (dollars(0.00042, sign=True), dollars(-0.012, sign=True), dollars(0.0, sign=True)) == (
        "+$0.00042", "−$0.012", "+$0.000")


def _cost(a: float, b: float, interval: tuple[float, float]) -> Comparison:
    return Comparison("cost_per_call_usd", a, b, 400, 380, (a - 0.002, a + 0.002), (b - 0.002, b + 0.002), b - a,
                      interval, 0.4, 0.8, False)


def test_a_cost_difference_under_a_tenth_of_a_cent_shows_its_size() -> None:
    """It read "+$0.000 (−$0.000 to +$0.001)"."""
    c = _cost(0.0312, 0.03162, (-0.00011, 0.00095))
    assert difference_text(c, c.difference_interval) == "+$0.00042 (−$0.00011 to +$0.00095)"
    cheaper = _cost(0.0312, 0.0309, (-0.0007, 0.0001))
    assert difference_text(cheaper) == "−$0.00030"


def test_no_difference_only_when_the_costs_are_the_same() -> None:
    same = _cost(0.0312, 0.0312, (-0.0012, 0.0012))
    assert difference_text(same, same.difference_interval) == "no difference (−$0.0012 to +$0.0012)"
    # one mean summed in two orders differs in its last bits: that is not a difference either
    summed_apart = Comparison("cost_per_call_usd", 0.1 + 0.2, 0.3, 400, 380, None, None, 0.3 - (0.1 + 0.2), None,
                              None)
    assert summed_apart.difference != 0 and difference_text(summed_apart) == "no difference"
    tiny = _cost(0.0312, 0.0312 + 2e-7, (-0.0012, 0.0012))
    assert difference_text(tiny).startswith("+$0.00000020"), "a real difference, however small, is shown"


def test_the_comparison_table_writes_both_costs_and_their_difference_alike() -> None:
    c = _cost(0.00081, 0.00093, (0.00002, 0.00022))
    result = ABResult(400, 380, [c], ("clinic-scheduler",), (1.0,), {}, {}, {}, None, None, None)
    row = rows(result)[0]
    assert (row["A"], row["B"], row["B − A (95% range)"]) == ("$0.00081", "$0.00093", "+$0.00012 (+$0.000020 to "
                                                                                      "+$0.00022)")
