"""The marks on the recording's timeline: the wait before each agent reply, dead air (any silence of
3 s or more, whoever breaks it), and each turn that starts before the other speaker has finished."""

from __future__ import annotations

import polars as pl

from warehouse.calls import TimingMark, timing_marks


def turns(*rows: tuple[str, int, int]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["speaker", "offset_ms", "end_ms"], orient="row")


def test_waits_dead_air_and_talking_over_both_ways() -> None:
    call = turns(
        ("agent", 500, 3_000),
        ("customer", 3_400, 6_000),
        ("agent", 6_900, 9_000),  # a 0.9 s wait
        ("customer", 9_300, 11_000),
        ("agent", 15_000, 18_000),  # 4 s of dead air before the reply
        ("customer", 17_200, 19_000),  # the caller barges in on the agent
        ("agent", 18_500, 20_000),  # and the agent talks over the caller
        ("customer", 24_000, 25_000),  # the caller is silent for 4 s
    )
    assert timing_marks(call) == [
        TimingMark("wait", 6_000, 6_900, "agent"),
        TimingMark("dead_air", 11_000, 15_000, "agent"),
        TimingMark("interruption", 17_200, 18_000, "customer"),
        TimingMark("interruption", 18_500, 19_000, "agent"),
        TimingMark("dead_air", 20_000, 24_000, "customer"),
    ]


def test_the_threshold_is_a_parameter_and_a_turn_inside_a_longer_one_is_no_new_silence() -> None:
    call = turns(("agent", 0, 10_000), ("customer", 2_000, 3_000), ("agent", 12_000, 13_000))
    assert timing_marks(call, dead_air_ms=1_500) == [TimingMark("interruption", 2_000, 3_000, "customer"),
                                                     TimingMark("dead_air", 10_000, 12_000, "agent")]
    assert timing_marks(call) == [TimingMark("interruption", 2_000, 3_000, "customer")]
