"""Eval datasets: the calls people marked "make this a test case" and the calls customers complained
about, written as JSON Lines (one record per call) that a judge can be scored against with no
warehouse at hand. docs/eval-dataset.md describes the format.

Each record carries the transcript, the tool calls (the rules judge checks stated facts against
their results) and the CRM's booked flag (its goal check), so `python -m judges eval` judges it
exactly as a run would. Expected labels combine every reviewer's current review of the call (a
label is expected when at least half of them gave it) with the complaints' reported labels, all
under their current names in the taxonomy. The warehouse has no PII setting of its own (ingest
redacts only when asked), so text is masked with warehouse/pii.py's patterns unless the caller
says otherwise: a dataset is a file that travels.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from warehouse.errors import CallboardError
from warehouse.judgements import CallForJudging, ToolCall, Turn
from warehouse.pii import redact_expression
from warehouse.taxonomy import Taxonomy, load_taxonomy
from warehouse.test_cases import CaseRows, case_rows

REQUIRED_KEYS = ("call_id", "transcript", "tools", "expected")


class DatasetError(CallboardError):
    """A dataset file that cannot be read or written, said in one sentence."""


@dataclass(frozen=True)
class ExportSummary:
    records: int
    from_reviews: int  # records a reviewer marked as a test case
    from_complaints: int  # records with at least one complaint
    complaints_without_call: int  # complaints about calls the warehouse does not have: left out
    redacted: bool


def _redacted(rows: CaseRows) -> CaseRows:
    """The same rows with PII masked in every free-text column (customer words, tool payloads,
    reviewers' notes, complaints)."""

    def mask(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
        return frame.with_columns(redact_expression(c) for c in columns)

    return CaseRows(
        calls=rows.calls,
        turns=mask(rows.turns, "text"),
        tools=mask(rows.tools, "arguments", "result"),
        reviews=mask(rows.reviews, "notes"),
        complaints=mask(rows.complaints, "complaint"),
        complaints_without_call=rows.complaints_without_call,
    )


def _by_call(frame: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in frame.to_dicts():
        grouped[row.pop("call_id")].append(row)
    return grouped


def expected_verdict(reviews: list[dict[str, Any]], reported: list[str]) -> dict[str, Any]:
    """What a judge should say about a call. Labels: those at least half the reviewers gave, plus
    every reported label; complete only when a person reviewed the whole call (a complaint names
    one problem and says nothing about the others). Pass: the majority of reviewers with a
    pass/fail, a tie counting as a fail. Score: the median reviewer score (the lower of the two
    middle ones)."""
    votes: dict[str, int] = defaultdict(int)
    for review in reviews:
        for label in dict.fromkeys(review["labels"]):
            votes[label] += 1
    labels = [label for label, count in votes.items() if 2 * count >= len(reviews)]
    decided = [r["passed"] for r in reviews if r["passed"] is not None]
    scores = [r["score"] for r in reviews if r["score"] is not None]
    return {
        "labels": sorted(set(labels) | set(reported)),
        "labels_complete": bool(reviews),
        "passed": 2 * sum(decided) > len(decided) if decided else None,
        "score": statistics.median_low(scores) if scores else None,
    }


def build_records(rows: CaseRows, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """One record per call, labels under their current names, in the calls' order."""
    turns, tools = _by_call(rows.turns), _by_call(rows.tools)
    reviews, complaints = _by_call(rows.reviews), _by_call(rows.complaints)
    records = []
    for call in rows.calls.to_dicts():
        call_id = call["call_id"]
        mine = [
            {**r, "labels": list(dict.fromkeys(taxonomy.resolve(label) for label in r["labels"] or []))}
            for r in reviews.get(call_id, [])
        ]
        told = [
            {"text": c["complaint"], "reported_label": taxonomy.resolve(c["reported_label"]),
             "imported_at": c["imported_at"]}
            for c in complaints.get(call_id, [])
        ]  # fmt: skip
        sources = ["review"] * any(r["test_case"] for r in mine) + ["complaint"] * bool(told)
        records.append({
            **call,
            "sources": sources,
            "transcript": turns.get(call_id, []),
            "tools": [
                {**{k: v for k, v in t.items() if k not in ("is_error", "error_type")},
                 "error": (t["error_type"] or "error") if t["is_error"] else None}
                for t in tools.get(call_id, [])
            ],
            "expected": expected_verdict(mine, [c["reported_label"] for c in told]),
            "reviews": mine,
            "complaints": told,
        })  # fmt: skip
    return records


def dataset_records(
    start: date | None = None, end: date | None = None, *, redact: bool = True, path: Path | None = None
) -> tuple[list[dict[str, Any]], ExportSummary]:
    """The dataset's records for calls that started in the period (open ends when None)."""
    rows = case_rows(start, end, path)
    if redact:
        rows = _redacted(rows)
    records = build_records(rows, load_taxonomy(path))
    summary = ExportSummary(
        records=len(records),
        from_reviews=sum("review" in r["sources"] for r in records),
        from_complaints=sum("complaint" in r["sources"] for r in records),
        complaints_without_call=rows.complaints_without_call,
        redacted=redact,
    )
    return records, summary


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    """JSON Lines: one record per line, times as ISO 8601 (UTC, no offset)."""
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def dataset_jsonl(start: date | None = None, end: date | None = None, *, redact: bool = True) -> bytes:
    """The whole dataset as one download (the app's button)."""
    return to_jsonl(dataset_records(start, end, redact=redact)[0])


def export_dataset(
    out: Path, start: date | None = None, end: date | None = None, *, redact: bool = True, path: Path | None = None
) -> ExportSummary:
    """Write the dataset to `out` (replacing it) and say what went in."""
    records, summary = dataset_records(start, end, redact=redact, path=path)
    try:
        Path(out).write_bytes(to_jsonl(records))
    except OSError as error:
        raise DatasetError(f"Could not write {out}: {error.strerror or error}.") from None
    return summary


def read_dataset(path: Path) -> list[dict[str, Any]]:
    """The records of a dataset file, each checked for the keys a judge needs."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as error:
        raise DatasetError(f"Could not read the dataset {path}: {error.strerror or error}.") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise DatasetError(
                f"{path} line {number} is not JSON; is it a dataset from `python -m judges dataset`?"
            ) from None
        if not isinstance(record, dict) or (missing := [k for k in REQUIRED_KEYS if k not in record]):
            what = f"has no {missing[0]!r}" if isinstance(record, dict) else "is not a record"
            raise DatasetError(f"{path} line {number} {what}; is it a dataset from `python -m judges dataset`?")
        try:
            _check_record(record)
        except KeyError as error:
            raise DatasetError(
                f"{path} line {number} is missing {error.args[0]!r}; is it a dataset from "
                "`python -m judges dataset`?"
            ) from None
        except (TypeError, ValueError, AttributeError) as error:
            raise DatasetError(
                f"{path} line {number} cannot be read as a call ({error}); is it a dataset from "
                "`python -m judges dataset`?"
            ) from None
        records.append(record)
    if not records:
        raise DatasetError(f"The dataset {path} has no records.")
    return records


def _check_record(record: dict[str, Any]) -> None:
    """Raise KeyError, TypeError or ValueError for a record a judge or the scoring could not read,
    so a malformed line is reported as the dataset's mistake before any call is judged."""
    call_for_judging(record)
    expected = record["expected"]
    if not isinstance(expected, dict):
        raise TypeError("`expected` is not a record")
    labels = expected["labels"]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise TypeError("`expected.labels` is not a list of labels")


def call_for_judging(record: dict[str, Any]) -> CallForJudging:
    """The record as a judge reads a call from the warehouse (times rebuilt from the offsets)."""
    start = datetime.fromisoformat(record.get("started_at") or "2000-01-01T00:00:00")

    def at(offset_ms: int | None) -> datetime:
        return start + timedelta(milliseconds=offset_ms or 0)

    turns = tuple(
        Turn(t["turn_index"], t["speaker"], t["text"], at(t.get("start_ms")), t.get("response_latency_ms"))
        for t in record["transcript"]
    )
    tools = tuple(
        ToolCall(t.get("turn_index"), t.get("name"), t.get("arguments"), t.get("result"), t.get("error") is not None,
                 t.get("error"), at(t.get("start_ms")))
        for t in record["tools"]
    )  # fmt: skip
    return CallForJudging(record["call_id"], record.get("agent"), record.get("booked"), turns, tools)
