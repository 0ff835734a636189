"""Finding a call (warehouse/call_search.py, the Calls page): every key finds what the raw rows say
it should, typed text is matched literally, and the page lists the matches and opens the call."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from present.markdown import plain_table
from tests.independent import _rows, talk
from warehouse.call_search import CallSearch, Range, mask_number, search_calls, snippet
from warehouse.db import transaction
from warehouse.filters import Filters

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _everything(path: Path) -> Filters:
    (first, last), = [tuple(r.values()) for r in _rows(path, "SELECT min(day), max(day) FROM calls")]
    return Filters(first, last)


def _found(path: Path, text: str = "", **narrowing) -> set[str]:
    result = search_calls(_everything(path), CallSearch(text=text, **narrowing), path=path, limit=100_000)
    assert result.total == result.calls.height
    return set(result.calls["call_id"])


def _numbers(path: Path) -> dict[str, str]:
    """Each call's caller number, read from its root span's attributes in Python."""
    spans = _rows(path, "SELECT call_id, attributes::VARCHAR AS attributes FROM spans WHERE kind = 'call'")
    return {s["call_id"]: json.loads(s["attributes"]).get("callboard.caller.number") for s in spans}


def _turns(path: Path) -> list[dict]:
    return _rows(path, "SELECT call_id, turn_index, speaker, text, started_at, ended_at, response_latency_ms "
                       "FROM turns")


def test_a_call_id_and_a_trace_id_find_their_call(demo_warehouse: Path) -> None:
    calls = _rows(demo_warehouse, "SELECT call_id, trace_id FROM calls ORDER BY call_id")
    picked = calls[len(calls) // 2]
    assert _found(demo_warehouse, picked["call_id"]) == {picked["call_id"]}
    assert _found(demo_warehouse, picked["trace_id"].upper()) == {picked["call_id"]}  # any case
    part = picked["call_id"][:-1]  # a prefix finds every call whose id contains it
    assert _found(demo_warehouse, part) == {c["call_id"] for c in calls
                                            if part in c["call_id"] or part in c["trace_id"]}


def test_a_phone_number_finds_the_calls_from_it_however_it_is_written(demo_warehouse: Path) -> None:
    numbers = _numbers(demo_warehouse)
    number = next(n for n in numbers.values() if n)
    local = "0" + re.sub(r"\D", "", number)[2:]  # +44 7700 900123 as dialled at home: 07700900123
    expected = {c for c, n in numbers.items() if n and re.sub(r"\D", "", n).endswith(local[1:])}
    assert len(expected) >= 1
    for typed in (number, local, f"({local[:5]}) {local[5:]}", local[1:].replace("900", "900-", 1)):
        assert _found(demo_warehouse, typed) == expected, typed


def test_the_number_is_shown_masked_but_for_its_last_digits(demo_warehouse: Path) -> None:
    number = next(n for n in _numbers(demo_warehouse).values() if n)
    shown = search_calls(_everything(demo_warehouse), CallSearch(text=number), path=demo_warehouse).calls
    assert set(shown["caller"]) == {mask_number(number)}
    assert re.sub(r"\D", "", shown["caller"][0]) == re.sub(r"\D", "", number)[-3:]
    assert number not in " ".join(str(v) for v in shown.row(0))


def test_words_find_every_call_where_someone_said_them(demo_warehouse: Path) -> None:
    turns = _turns(demo_warehouse)
    for words in ("real person", "TRANSFER", "Which works better"):
        expected = {t["call_id"] for t in turns if words.lower() in t["text"].lower()}
        assert expected, words
        result = search_calls(_everything(demo_warehouse), CallSearch(text=words), path=demo_warehouse, limit=50)
        assert result.total == len(expected), words
        assert set(result.calls["call_id"]) <= expected
        assert all(words.lower() in s.lower() for s in result.calls["snippet"])  # the words in context
        assert set(result.calls["matched_on"]) == {"transcript"}


@pytest.mark.parametrize("typed", ["50%", "%", "_", "off_now", "'quoted'", '"double"', "back\\slash", "' OR 1=1 --"])
def test_wildcards_quotes_and_backslashes_are_plain_characters(demo_warehouse_copy: Path, typed: str) -> None:
    path = demo_warehouse_copy
    call_id = _rows(path, "SELECT call_id FROM calls ORDER BY call_id LIMIT 1")[0]["call_id"]
    planted = "Is it 50% off_now? The 'quoted' \"double\" back\\slash deal ' OR 1=1 -- yes"
    with transaction(path) as con:
        con.execute("UPDATE turns SET text = ? WHERE call_id = ? AND turn_index = 1", [planted, call_id])
    expected = {t["call_id"] for t in _turns(path) if typed.lower() in t["text"].lower()}
    assert call_id in expected
    assert _found(path, typed) == expected  # a LIKE wildcard would match (nearly) every call


def test_phone_numbers_said_in_a_call_are_masked_in_the_listed_words(demo_warehouse_copy: Path) -> None:
    path = demo_warehouse_copy
    call_id = _rows(path, "SELECT call_id FROM calls ORDER BY call_id LIMIT 1")[0]["call_id"]
    with transaction(path) as con:
        con.execute("UPDATE turns SET text = 'ring me back on 020 7946 0321 please' WHERE call_id = ? "
                    "AND turn_index = 1", [call_id])
    shown = search_calls(_everything(path), CallSearch(text="ring me back"), path=path).calls
    assert shown["snippet"].to_list() == ["ring me back on [phone] please"]


def test_outcome_verdict_and_mode_filters_keep_what_the_raw_rows_say(demo_warehouse: Path) -> None:
    outcomes = _rows(demo_warehouse, "SELECT call_id, booked, escalated FROM outcomes WHERE call_id IS NOT NULL")
    booked = {o["call_id"] for o in outcomes if o["booked"]}
    judgements = _rows(demo_warehouse, "SELECT call_id, passed, labels, created_at FROM judgements WHERE status = 'ok'")
    newest: dict[str, dict] = {}
    for j in sorted(judgements, key=lambda j: j["created_at"]):
        newest[j["call_id"]] = j
    failed = {c for c, j in newest.items() if j["passed"] is False}
    looping = {c for c, j in newest.items() if "escalation_loop" in (j["labels"] or [])}
    all_calls = {r["call_id"] for r in _rows(demo_warehouse, "SELECT call_id FROM calls")}
    assert _found(demo_warehouse, outcomes=("booked",), verdicts=("fail",)) == booked & failed
    assert _found(demo_warehouse, modes=("escalation_loop",)) == looping
    assert _found(demo_warehouse, verdicts=("unjudged",)) == all_calls - set(newest)
    escalated = {o["call_id"] for o in outcomes if o["escalated"]}
    assert _found(demo_warehouse, outcomes=("booked", "escalated")) == booked | escalated


def test_conversation_ranges_agree_with_a_second_computation(demo_warehouse: Path) -> None:
    by_call: dict[str, list[dict]] = {}
    for turn in _turns(demo_warehouse):
        by_call.setdefault(turn["call_id"], []).append(turn)
    talks = {c: talk(turns) for c, turns in by_call.items()}
    longest = {c: max((t["response_latency_ms"] for t in turns if t["response_latency_ms"] is not None), default=None)
               for c, turns in by_call.items()}  # fmt: skip
    assert _found(demo_warehouse, interruptions=Range(1, None)) == {c for c, t in talks.items() if t.talked_over}
    assert _found(demo_warehouse, dead_air=Range(1, None)) == {c for c, t in talks.items() if t.dead_air}
    assert _found(demo_warehouse, longest_wait_ms=Range(2500, 4000)) == {
        c for c, ms in longest.items() if ms is not None and 2500 <= ms <= 4000}
    quiet = _found(demo_warehouse, interruptions=Range(None, 0), dead_air=Range(None, 0))
    assert quiet == {c for c, t in talks.items() if not t.talked_over and not t.dead_air}
    # a count other than "none" or "at least one" is counted from the turns of the calls with dead air
    twice = {c for c, t in talks.items() if t.dead_air_count >= 2}
    assert twice and _found(demo_warehouse, dead_air=Range(2, None)) == twice
    assert _found(demo_warehouse, dead_air=Range(None, 1)) == {c for c, t in talks.items() if t.dead_air_count <= 1}


def test_the_list_is_newest_first_and_counts_every_match(demo_warehouse: Path) -> None:
    result = search_calls(_everything(demo_warehouse), CallSearch(), path=demo_warehouse, limit=25)
    everything = _rows(demo_warehouse, "SELECT call_id, started_at FROM calls ORDER BY started_at DESC, call_id")
    assert result.total == len(everything)
    assert result.calls["call_id"].to_list() == [c["call_id"] for c in everything[:25]]


def test_the_period_bounds_the_search(demo_warehouse: Path) -> None:
    whole = _everything(demo_warehouse)
    last_week = Filters(date.fromordinal(whole.end.toordinal() - 6), whole.end)
    found = search_calls(last_week, CallSearch(text="transfer"), path=demo_warehouse, limit=100_000).calls
    assert found.height and all(last_week.start <= d.date() <= last_week.end for d in found["started_at"])


@pytest.fixture
def fresh_cache(demo_warehouse: Path) -> Path:
    st.cache_data.clear()
    return demo_warehouse


def _calls_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    at.run()
    at.switch_page("app_pages/calls.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_lists_the_matches_and_opens_the_call_view(fresh_cache: Path) -> None:
    whole = _everything(fresh_cache)
    number = next(n for n in _numbers(fresh_cache).values() if n)
    at = _calls_page(start=whole.start.isoformat(), end=whole.end.isoformat(), q=number)
    listed = at.dataframe[0].value
    assert set(listed["caller"]) == {mask_number(number)}
    opener = at.selectbox(key="calls_call")
    assert list(opener.options) == list(listed["call_id"])
    opener.select(opener.options[0]).run()
    assert not at.exception
    assert at.query_params["call"] == opener.options[0]
    assert any(opener.options[0].replace("-", "\\-") in m.value for m in at.markdown)  # the call view's header


def test_a_shared_link_reopens_the_same_search_and_call(fresh_cache: Path) -> None:
    whole = _everything(fresh_cache)
    first = _calls_page(start=whole.start.isoformat(), end=whole.end.isoformat(), q="transfer", verdict="fail",
                        dead_air_min="1")
    call_id = first.selectbox(key="calls_call").options[1]
    first.selectbox(key="calls_call").select(call_id).run()
    link = {name: first.query_params[name] for name in first.query_params}
    assert link["q"] == "transfer" and link["verdict"] in ("fail", ["fail"]) and link["dead_air_min"] == "1"
    again = _calls_page(**{name: value if isinstance(value, str) else value[0] for name, value in link.items()})
    assert again.text_input(key="calls_q").value == "transfer"
    assert again.multiselect(key="calls_verdict").value == ["fail"]
    assert again.selectbox(key="calls_call").value == call_id
    assert again.dataframe[0].value["call_id"].to_list() == first.dataframe[0].value["call_id"].to_list()


def test_a_garbled_link_is_said_and_left_out(fresh_cache: Path) -> None:
    at = _calls_page(wait_min="soon", outcome="sold", call="call-nope")
    said = " ".join(i.value for i in at.info)
    assert "“soon”" in said and "“sold”" in said and "“call\\-nope”" in said  # escaped: it came from the URL
    assert at.slider(key="calls_wait").value == (0.0, 10.0)
    assert at.selectbox(key="calls_call").value is None


def test_an_empty_search_says_so(fresh_cache: Path) -> None:
    at = _calls_page(q=f"nobody said this {datetime.now():%f}")
    assert any("No call in this period matches" in i.value for i in at.info)


def test_the_listed_words_start_just_before_the_match_on_one_line() -> None:
    said = "Well, " + "and so on " * 20 + "I want a REFUND\nnow, and " + "then more " * 20
    shown = snippet(said, "refund")
    assert shown.startswith("…") and shown.endswith("…") and "\n" not in shown
    assert 0 < shown.index("REFUND") <= 40 and len(shown) == 142


def test_cells_of_a_listed_table_cannot_reorder_their_neighbours() -> None:
    override = "\u202e"
    frame = pl.DataFrame({"agent": [f"agent{override} x"], "labels": [[f"mode{override}"]], "n": [1]})
    shown = plain_table(frame)
    assert shown.row(0) == ("agent x", ["mode"], 1)


def test_the_caption_names_what_narrows_the_list(fresh_cache: Path) -> None:
    at = _calls_page(verdict="fail", dead_air_min="1", outcome="booked")
    caption = next(c.value for c in at.caption if "calls match" in c.value)
    assert "narrowed to Booked, Judge\\: fail, dead air 1–5\\+" in caption  # escaped Markdown
