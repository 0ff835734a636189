"""Every duration written in words reads in seconds, as the cards and the charts' axes do (issue 17
item 7): a sentence never sets "1.26 s" beside "826 ms", and Compare versions' reply-time difference
is in the unit of the two values it is the difference of."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from present.ab import difference_text
from present.drift import STAGES, stage_sentence
from present.formats import format_value
from warehouse.ab import Comparison


@pytest.mark.parametrize(("ms", "shown"), [(1262.0, "1.26 s"), (826.0, "0.83 s"), (1000.0, "1.00 s"),
                                           (4.0, "0.004 s"), (45.0, "0.045 s"), (0.0, "0.00 s"),
                                           (61_500.0, "61.50 s")])
def test_a_duration_is_written_in_seconds_whatever_its_size(ms: float, shown: str) -> None:
    assert format_value(ms, "ms") == shown


def _weeks(speech_to_text: list[float]) -> pl.DataFrame:
    first = date(2026, 10, 5)
    return pl.DataFrame({"bucket": [first + timedelta(weeks=i) for i in range(len(speech_to_text))],
                         **{stage: [200.0] * len(speech_to_text) for stage in STAGES},
                         "speech_to_text": speech_to_text})


def test_the_stage_sentence_writes_both_durations_in_seconds() -> None:
    """The sentence read "1.26 s against a usual 826 ms"."""
    stages = _weeks([826.0, 810.0, 826.0, 1262.0, 840.0])
    assert stage_sentence(stages) == ("In the week of 26 Oct, speech-to-text slowed the caller's wait: 1.26 s against "
                                      "a usual 0.83 s (1.5×).")


def _reply_time(difference: float, interval: tuple[float, float]) -> Comparison:
    return Comparison("latency_p50_ms", 1160.0, 1262.0, 400, 380, (1100.0, 1220.0), (1200.0, 1330.0), difference,
                      interval, 0.004, 0.02, True)


def test_compare_versions_writes_a_reply_time_difference_in_seconds_like_its_values() -> None:
    """The difference read "+102 ms" beside values "1.16 s" and "1.26 s"."""
    c = _reply_time(102.0, (41.0, 165.0))
    assert difference_text(c, c.difference_interval) == "+0.10 s (+0.041 to +0.17)"
    assert (format_value(c.value_a, "ms"), format_value(c.value_b, "ms")) == ("1.16 s", "1.26 s")
    faster = _reply_time(-250.0, (-400.0, -120.0))
    assert difference_text(faster) == "-0.25 s"
