"""The eval dataset export: what goes in (current test-case flags, complaints, the period), each
record against a plain-Python reading of the raw rows, redaction, and the `dataset` command."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pytest
from streamlit.testing.v1 import AppTest

from ingest.complaints import ingest_complaints
from judges import __main__ as cli
from judges.dataset import DatasetError, dataset_jsonl, dataset_records, export_dataset, read_dataset, to_jsonl
from tests.failure_mode_fixture import PERIOD, reviewed_demo
from tests.judge_calls import DAY, call, clean_call, store
from warehouse import reviews
from warehouse.pii import redact_text
from warehouse.taxonomy import rename_mode

T0 = datetime(2026, 11, 3, 9, 0)


def bad_call(call_id: str, day: date = DAY):
    return call(call_id, [("agent", "Hi."), ("customer", "What's the price? Call me on +1 415 555 0100."),
                          ("agent", "It's $10."), ("customer", "What's the price? Call me on +1 415 555 0100.")],
                [(2, "get_price", "{}", '{"price": 30}'), (2, "send_sms", '{"to": "jo@example.com"}', None, "timeout")],
                booked=False, day=day)  # fmt: skip


def save(call_id: str, reviewer: str, minutes: int, score: int, labels: tuple[str, ...], test_case: bool,
         notes: str = "") -> None:  # fmt: skip
    reviews.save_review(reviews.Review(None, call_id, reviewer, score, score >= 4, labels, notes, test_case,
                                       created_at=T0 + timedelta(minutes=minutes)))  # fmt: skip


@pytest.fixture
def cases(warehouse_file: Path, tmp_path: Path) -> Path:
    store(warehouse_file, [clean_call("call-1"), bad_call("call-bad"), clean_call("call-unmarked"),
                           clean_call("call-plain"), clean_call("call-complaint"),
                           bad_call("call-late", day=date(2026, 11, 20))])  # fmt: skip
    save("call-1", "Priya", 1, 5, (), True, "fine; ring jo@example.com if unsure")
    save("call-1", "Sam", 2, 3, ("slow_turn",), False, "felt slow")
    save("call-bad", "Priya", 3, 2, ("hallucinated_fact",), True, "price wrong")
    save("call-bad", "Sam", 4, 1, ("hallucinated_fact", "customer_repeated", "failed_tool_call"), True)
    save("call-bad", "Ana", 5, 4, ("customer_repeated",), False)
    save("call-unmarked", "Priya", 6, 2, ("slow_turn",), True)
    save("call-unmarked", "Priya", 7, 2, ("slow_turn",), False, "on second thought, not a test case")
    save("call-plain", "Sam", 8, 5, (), False)
    save("call-late", "Sam", 9, 2, ("hallucinated_fact",), True)
    complaints = tmp_path / "complaints.csv"
    complaints.write_text("call_id,complaint,reported_label\n"
                          "call-complaint,It kept me waiting; email jo@example.com,slow_turn\n"
                          "call-bad,The price was wrong,hallucinated_fact\n"
                          "call-404,Nobody rang back,goal_not_met\n")  # fmt: skip
    ingest_complaints(complaints, db_path=warehouse_file)
    rename_mode("slow_turn", "slow_reply", warehouse_file)
    return warehouse_file


def by_hand(db: Path, start: date | None = None, end: date | None = None) -> dict[str, dict]:
    """The records, computed in plain Python from the raw tables."""
    con = duckdb.connect(str(db), read_only=True)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    try:
        merged = dict(q("SELECT name, merged_into FROM failure_modes"))
        calls = {row[0]: row for row in q("SELECT call_id, agent, prompt_version, model, started_at, day FROM calls")}
        turns, tools, booked = q("SELECT * FROM turns"), q("SELECT * FROM spans WHERE kind = 'tool'"), defaultdict(list)
        for call_id, value in q("SELECT call_id, booked FROM outcomes"):
            booked[call_id].append(value)
        saves = q("SELECT call_id, reviewer, score, passed, labels, notes, test_case, created_at, review_id "
                  "FROM reviews")
        told = q("SELECT call_id, complaint, reported_label, imported_at FROM complaints")
    finally:
        con.close()

    def resolve(label: str) -> str:
        while merged.get(label):
            label = merged[label]
        return label

    current: dict[tuple, tuple] = {}
    for row in saves:
        key = row[:2]
        if key not in current or (row[7], row[8]) > (current[key][7], current[key][8]):
            current[key] = row
    wanted = {k[0] for k, r in current.items() if r[6]} | {c[0] for c in told}
    in_period = {c for c in wanted if c in calls and (start is None or start <= calls[c][5] <= end)}
    records = {}
    for call_id in in_period:
        _, agent, version, model, started, _ = calls[call_id]
        ms = lambda t: int((t - started).total_seconds() * 1000)  # noqa: E731, B023
        mine = sorted((r for r in current.values() if r[0] == call_id), key=lambda r: (r[7], r[1]))
        people = [{"reviewer": r[1], "score": r[2], "passed": r[3], "labels": list(dict.fromkeys(map(resolve, r[4]))),
                   "notes": r[5], "test_case": r[6], "reviewed_at": r[7].isoformat()} for r in mine]  # fmt: skip
        complaints = sorted((c for c in told if c[0] == call_id), key=lambda c: c[3])
        votes = [label for p in people for label in p["labels"]]
        labels = {label for label in votes if 2 * votes.count(label) >= len(people)}
        labels |= {resolve(c[2]) for c in complaints}
        passes = [p["passed"] for p in people]
        scores = sorted(p["score"] for p in people)
        records[call_id] = {
            "call_id": call_id, "agent": agent, "prompt_version": version, "model": model,
            "started_at": started.isoformat(), "booked": any(booked[call_id]) if booked[call_id] else None,
            "sources": [s for s, yes in (("review", any(p["test_case"] for p in people)), ("complaint", complaints))
                        if yes],
            "transcript": [{"turn_index": t[1], "speaker": t[2], "text": t[3], "start_ms": ms(t[4]),
                            "end_ms": ms(t[5]), "response_latency_ms": t[7]}
                           for t in sorted(turns, key=lambda t: t[1]) if t[0] == call_id],
            "tools": [{"turn_index": s[6], "name": s[14], "arguments": s[21], "result": s[22],
                       "start_ms": ms(s[7]), "end_ms": ms(s[8]), "error": (s[19] or "error") if s[18] else None}
                      for s in sorted(tools, key=lambda s: (s[7], s[1])) if s[3] == call_id],
            "expected": {"labels": sorted(labels), "labels_complete": bool(people),
                         "passed": passes.count(True) > passes.count(False) if passes else None,
                         "score": scores[(len(scores) - 1) // 2] if scores else None},
            "reviews": people,
            "complaints": [{"text": c[1], "reported_label": resolve(c[2]), "imported_at": c[3].isoformat()}
                           for c in complaints],
        }  # fmt: skip
    return records


def test_export_round_trips_to_the_raw_rows(cases: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset.jsonl"
    summary = export_dataset(out, redact=False)
    got = {r["call_id"]: r for r in read_dataset(out)}
    assert got == by_hand(cases)
    assert sorted(got) == ["call-1", "call-bad", "call-complaint", "call-late"]
    assert (summary.records, summary.from_reviews, summary.from_complaints, summary.complaints_without_call) == (
        4, 3, 2, 1)
    bad = got["call-bad"]
    assert bad["sources"] == ["review", "complaint"]
    assert bad["expected"] == {"labels": ["customer_repeated", "hallucinated_fact"], "labels_complete": True,
                               "passed": False, "score": 2}  # fmt: skip
    assert got["call-1"]["expected"]["labels"] == ["slow_reply"]  # one of two reviewers: half counts
    assert got["call-complaint"]["expected"] == {"labels": ["slow_reply"], "labels_complete": False,
                                                 "passed": None, "score": None}  # fmt: skip
    assert bad["tools"][1]["error"] == "timeout"


def test_the_period_selects_calls_by_their_day(cases: Path) -> None:
    records = [orjson.loads(line) for line in to_jsonl(dataset_records(DAY, DAY, redact=False)[0]).splitlines()]
    assert {r["call_id"]: r for r in records} == by_hand(cases, DAY, DAY)
    assert "call-late" not in {r["call_id"] for r in records}


def test_redaction_masks_every_free_text_field_and_nothing_else(cases: Path, tmp_path: Path) -> None:
    export_dataset(tmp_path / "kept.jsonl", redact=False)
    export_dataset(tmp_path / "masked.jsonl")
    raw = (tmp_path / "masked.jsonl").read_text()
    assert "415 555" not in raw and "jo@example.com" not in raw
    assert "[phone]" in raw and "[email]" in raw
    expected = [orjson.loads(line) for line in (tmp_path / "kept.jsonl").read_bytes().splitlines()]
    for record in expected:
        for turn in record["transcript"]:
            turn["text"] = redact_text(turn["text"])
        for tool in record["tools"]:
            tool["arguments"], tool["result"] = (redact_text(v) if v is not None else None
                                                 for v in (tool["arguments"], tool["result"]))  # fmt: skip
        for review in record["reviews"]:
            review["notes"] = redact_text(review["notes"])
        for complaint in record["complaints"]:
            complaint["text"] = redact_text(complaint["text"])
    assert read_dataset(tmp_path / "masked.jsonl") == expected


def test_dataset_command_writes_the_file_and_refuses_mistakes_in_one_line(cases: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "d.jsonl"
    assert cli.main(["dataset", "--out", str(target), "--start", "2026-11-02", "--end", "2026-11-02"], out, err) == 0
    assert len(read_dataset(target)) == 3
    assert out.getvalue().startswith(f"Wrote 3 records to {target}: 2 marked as test cases in reviews, 2 with "
                                     "complaints; PII masked.")  # fmt: skip
    assert "Left out 1 complaints about calls not in the warehouse." in out.getvalue()
    for argv, message in [
        (["dataset", "--out", str(target), "--start", "2026-11-02"], "error: Give both --start and --end"),
        (["dataset", "--out", str(target), "--start", "2026-11-03", "--end", "2026-11-02"], "is before --start"),
        (["dataset", "--out", str(tmp_path / "no" / "such" / "d.jsonl")], "error: Could not write"),
    ]:
        err = io.StringIO()
        assert cli.main(argv, io.StringIO(), err) == 2
        assert message in err.getvalue() and err.getvalue().count("\n") == 1


@pytest.mark.parametrize(("content", "message"), [
    (None, "Could not read the dataset"),
    (b"", "has no records"),
    (b"{not json\n", "line 1 is not JSON"),
    (b'{"call_id": "c"}\n', "line 1 has no 'transcript'"),
    (b"[1, 2]\n", "line 1 is not a record"),
])  # fmt: skip
def test_reading_a_bad_dataset_says_what_is_wrong(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "d.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        read_dataset(path)



def test_the_failure_modes_page_offers_the_period_as_a_download(
    demo_build: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = reviewed_demo(demo_build[0], tmp_path)
    monkeypatch.setenv("CALLBOARD_DB", str(db))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params.update({"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()})
    at.run()
    at.switch_page("app_pages/failure_modes.py").run()
    assert not at.exception
    (button,) = [b for b in at.get("download_button") if b.key == "fm_dataset"]
    assert button.label == "Test cases for judges (JSONL)"
    lines = dataset_jsonl(*PERIOD).splitlines()
    with duckdb.connect(str(db), read_only=True) as con:
        marked = {c for (c,) in con.execute("SELECT call_id FROM reviews WHERE test_case").fetchall()}
    assert {orjson.loads(line)["call_id"] for line in lines} == marked and len(marked) >= 5


GOOD = {"call_id": "c", "started_at": "2026-11-03T09:00:00", "agent": "a", "booked": True,
        "transcript": [{"turn_index": 0, "speaker": "agent", "text": "Hi.", "start_ms": 0}],
        "tools": [], "expected": {"labels": [], "labels_complete": True, "passed": True}}  # fmt: skip


@pytest.mark.parametrize(("broken", "message"), [
    ({"transcript": [{"speaker": "agent", "text": "Hi."}]}, "line 2 is missing 'turn_index'"),
    ({"started_at": "yesterday"}, "line 2 cannot be read as a call"),
    ({"started_at": 5}, "line 2 cannot be read as a call"),
    ({"transcript": "Hi."}, "line 2 cannot be read as a call"),
    ({"tools": [3]}, "line 2 cannot be read as a call"),
    ({"expected": {"passed": True}}, "line 2 is missing 'labels'"),
    ({"expected": {"labels": "slow_turn"}}, "line 2 cannot be read as a call"),
])  # fmt: skip
def test_a_malformed_record_is_refused_with_its_line_and_eval_exits_2(
    tmp_path: Path, broken: dict, message: str
) -> None:
    good, path = tmp_path / "good.jsonl", tmp_path / "d.jsonl"
    good.write_bytes(to_jsonl([GOOD]))
    assert read_dataset(good) == [GOOD]
    path.write_bytes(to_jsonl([GOOD, {**GOOD, **broken}]))
    with pytest.raises(DatasetError, match=message):
        read_dataset(path)
    err = io.StringIO()
    assert cli.main(["eval", "--dataset", str(path), "--judge", "rules"], io.StringIO(), err) == 2
    assert err.getvalue().startswith(f"error: {path} {message}") and err.getvalue().count("\n") == 1
