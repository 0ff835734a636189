"""Load call logs: flat exports of call records (JSONL, CSV or Parquet; one row per call with its
transcript in one column, or one row per turn) through a TOML mapping into `calls` and `turns`,
for teams whose voice platform exports calls rather than traces. docs/call-logs.md is the format.

Values are checked in polars before the warehouse is opened; a row that cannot be read is
quarantined with the reason and the others load. The file is merged in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl

from ingest.errors import IngestError
from ingest.mapping import mapped_columns, read_mapping, require_columns, source_name
from ingest.redact import redact_expression
from ingest.run_log import recorded_run
from ingest.summary import RunSummary
from ingest.tables import read_table
from warehouse.call_log_loading import calls_from_traces, load_call_log
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine

CALL_FIELDS = ("call_id", "started_at", "ended_at", "duration_s", "agent", "prompt_version", "model",
               "recording_url", "input_tokens", "output_tokens", "cost_usd", "error_count")
CALLS_LAYOUT_FIELDS = ("transcript",)
TURNS_LAYOUT_FIELDS = ("turn_index", "speaker", "text", "turn_started_at", "turn_ended_at", "turn_start_s",
                       "turn_end_s", "response_latency_ms")
FIELDS = CALL_FIELDS + CALLS_LAYOUT_FIELDS + TURNS_LAYOUT_FIELDS
LAYOUTS = ("calls", "turns")
DEFAULT_SPEAKERS = {"customer": ("customer", "user", "caller", "human", "client"),
                    "agent": ("agent", "assistant", "bot", "ai", "system")}
_NUMBERS = {"duration_s": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64, "cost_usd": pl.Float64,
            "error_count": pl.Int64, "turn_index": pl.Int64, "turn_start_s": pl.Float64, "turn_end_s": pl.Float64,
            "response_latency_ms": pl.Float64}
_TIMES = ("started_at", "ended_at", "turn_started_at", "turn_ended_at")
_TEXTS = ("agent", "prompt_version", "model", "recording_url", "speaker", "text", "transcript")
_EARLIEST, _LATEST = pl.datetime(2000, 1, 1), pl.datetime(2100, 1, 1)
_ORDERED = (("started_at", "ended_at"), ("turn_started_at", "turn_ended_at"), ("turn_start_s", "turn_end_s"))

_CALL_COLUMNS = {"call_id": pl.String, "agent": pl.String, "prompt_version": pl.String, "model": pl.String,
                 "started_at": pl.Datetime("us"), "ended_at": pl.Datetime("us"), "input_tokens": pl.Int64,
                 "output_tokens": pl.Int64, "cost_usd": pl.Float64, "error_count": pl.Int64,
                 "recording_url": pl.String}
_TURN_COLUMNS = {"call_id": pl.String, "turn_index": pl.Int64, "speaker": pl.String, "text": pl.String,
                 "started_at": pl.Datetime("us"), "ended_at": pl.Datetime("us"), "timed": pl.Boolean,
                 "response_latency_ms": pl.Float64}


@dataclass(frozen=True)
class CallLogMapping:
    source: str
    layout: str  # "calls": one row per call; "turns": one row per turn
    redact: bool
    columns: dict[str, str]  # ours -> theirs
    speakers: dict[str, str]  # their word, lowercased -> customer | agent


def load_call_log_mapping(path: Path) -> CallLogMapping:
    """Read and check a call-log mapping; every mistake is one sentence naming the file and key."""
    document = read_mapping(path)
    name = source_name(document, path)
    source = document.get("source", {})
    layout = source.get("layout")
    if layout not in LAYOUTS:
        raise IngestError(f"The mapping {path}: [source] layout must be \"calls\" (one row per call) "
                          f"or \"turns\" (one row per turn).")
    columns = mapped_columns(document, path, FIELDS)
    wrong = sorted(set(columns) & set(TURNS_LAYOUT_FIELDS if layout == "calls" else CALLS_LAYOUT_FIELDS))
    if wrong:
        raise IngestError(f"The mapping {path}: {wrong[0]} does not apply to layout = \"{layout}\".")
    needed = ["call_id", "started_at"] if layout == "calls" else ["call_id", "speaker", "text"]
    if layout == "turns" and "started_at" not in columns and "turn_started_at" not in columns:
        needed.append("started_at")  # or turn_started_at: the call starts with its first turn
    if any(key in columns for key in ("turn_start_s", "turn_end_s")) and "started_at" not in columns:
        needed.append("started_at")  # turn offsets count from the call's start
    missing = [key for key in needed if key not in columns]
    if missing:
        raise IngestError(f"The mapping {path}: [columns] must say which column holds {missing[0]}.")
    return CallLogMapping(name, layout, bool(source.get("redact", False)), columns,
                          _speakers(document.get("speakers", {}), path))


def _speakers(table: object, path: Path) -> dict[str, str]:
    if not isinstance(table, dict) or not set(table) <= {"customer", "agent"} or not all(
            isinstance(words, list) and all(isinstance(w, str) for w in words) for words in table.values()):
        raise IngestError(f"The mapping {path}: [speakers] must be customer = [...] and agent = [...].")
    words = {word: side for side, listed in DEFAULT_SPEAKERS.items() for word in listed}
    words.update({word.strip().lower(): side for side, listed in table.items() for word in listed})
    return words


def ingest_call_log(path: Path, mapping: Path, *, db_path: Path | None = None) -> RunSummary:
    """Load one call-log export; loading it again changes nothing, a changed call is replaced."""
    spec = load_call_log_mapping(Path(mapping))
    frame = read_table(Path(path))
    require_columns(spec, frame.columns, Path(path))
    rows = _typed(frame, spec)
    if spec.layout == "calls":
        calls, turns, bad = _from_call_rows(rows, spec)
    else:
        calls, turns, bad = _from_turn_rows(rows, spec)
    source_file = str(Path(path).resolve())
    with recorded_run("calls", [path], db_path, unit="rows") as summary, transaction(db_path) as con:
        traced = calls_from_traces(con, calls["call_id"].to_list())
        if traced:
            taken = rows.filter(pl.col("call_id").is_in(list(traced)) & pl.col("reason").is_null())
            bad = pl.concat([bad, _rejects(taken.with_columns(
                reason=pl.format("call {} is already loaded from traces; a call log does not replace it",
                                 "call_id")))])
            calls = calls.filter(~pl.col("call_id").is_in(list(traced)))
            turns = turns.filter(~pl.col("call_id").is_in(list(traced)))
        load = load_call_log(con, calls.to_arrow(), turns.to_arrow())
        refused = quarantine(con, summary.run_id, source_file, bad.sort("row_number").drop("row_number").to_arrow())
        add_counts(con, summary.run_id, read=rows.height, loaded=load.loaded, updated=load.updated,
                   quarantined=refused)
        summary.add(read=rows.height, loaded=load.loaded, updated=load.updated, quarantined=refused)
    return summary


def _typed(frame: pl.DataFrame, spec: CallLogMapping) -> pl.DataFrame:
    """Our columns, typed, plus `row_number`, `reason` (NULL when the row is fine) and `record`
    (the row as read, masked when the mapping redacts)."""
    text = frame.with_columns(pl.all().str.strip_chars())
    theirs = spec.columns
    if spec.redact:
        free_text = [theirs[k] for k in ("text", "transcript") if k in theirs]
        text = text.with_columns(redact_expression(c) for c in text.columns
                                 if c in free_text or c not in set(theirs.values()))
    ours: list[pl.Expr] = []
    problems: list[pl.Expr] = [pl.when(_given(theirs["call_id"]).not_()).then(
        pl.lit(f"no call_id in column {theirs['call_id']!r}"))]
    for name in FIELDS:
        if name not in theirs:
            continue
        column, given = pl.col(theirs[name]), _given(theirs[name])
        if name in _NUMBERS:
            value = column.cast(pl.Float64, strict=False).cast(_NUMBERS[name], strict=False)
            problems.append(pl.when(given & value.is_null()).then(
                pl.format(f"{name}: {{}} in column {theirs[name]!r} is not a number", column)))
        elif name in _TIMES:
            value = _timestamp(column)
            problems.append(pl.when(given & value.is_null()).then(
                pl.format(f"{name}: {{}} in column {theirs[name]!r} is not a date and time", column)))
            problems.append(pl.when(value.is_not_null() & ~value.is_between(_EARLIEST, _LATEST)).then(
                pl.format(f"{name}: {{}} in column {theirs[name]!r} is not between 2000 and 2100", column)))
        elif name == "speaker":
            value = column.str.to_lowercase().replace_strict(spec.speakers, default=None, return_dtype=pl.String)
            problems.append(pl.when(value.is_null()).then(
                pl.format(f"speaker {{}} in column {theirs[name]!r} is neither customer nor agent (see [speakers])",
                          column.fill_null("(empty)"))))
        else:
            value = pl.when(given).then(column)
            if name == "text":
                problems.append(pl.when(value.is_null()).then(pl.lit(f"no text in column {theirs[name]!r}")))
        ours.append(value.alias(name))
    if spec.layout == "turns" and "started_at" not in theirs:
        problems.append(pl.when(pl.col(theirs["turn_started_at"]).pipe(_given).not_()).then(
            pl.lit(f"no turn_started_at in column {theirs['turn_started_at']!r}")))
    typed = text.with_row_index("row_number", offset=1).select(
        "row_number", *ours, pl.coalesce(problems).alias("reason"),
        pl.struct(text.columns).struct.json_encode().alias("record"))
    order = [pl.when(pl.col(end) < pl.col(start)).then(pl.lit(f"{end} is before {start}"))
             for start, end in _ORDERED if start in theirs and end in theirs]
    if "duration_s" in theirs:
        order.append(pl.when(pl.col("duration_s") < 0).then(pl.lit("duration_s is negative")))
    return typed.with_columns(reason=pl.coalesce("reason", *order)) if order else typed


def _given(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) != "")


def _timestamp(column: pl.Expr) -> pl.Expr:
    """ISO 8601 (a zone converts to UTC; none is read as UTC), or Unix seconds or milliseconds."""
    number = column.cast(pl.Float64, strict=False)
    seconds = pl.when(number > 1e11).then(number / 1000).otherwise(number)
    return (pl.when(number.is_not_null()).then(pl.from_epoch((seconds * 1e6).cast(pl.Int64), time_unit="us"))
            .otherwise(column.str.to_datetime(time_zone="UTC", strict=False).dt.replace_time_zone(None)))


def _rejects(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select("row_number", pl.format("row {}", "row_number").alias("location"), "reason", "record")


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype).alias(name)


def _calls_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(_column(frame, name, dtype).cast(dtype) for name, dtype in _CALL_COLUMNS.items())


def _ended(frame: pl.DataFrame, last_turn_end: pl.Expr | None = None) -> pl.Expr:
    """The call's end: as logged, else its start plus its duration, else when its last turn
    ended, else its start."""
    ends = [_column(frame, "ended_at", pl.Datetime("us"))]
    if "duration_s" in frame.columns:
        ends.append(pl.col("started_at") + pl.duration(microseconds=(pl.col("duration_s") * 1e6)))
    if last_turn_end is not None:
        ends.append(last_turn_end)
    return pl.coalesce(*ends, pl.col("started_at")).alias("ended_at")


def _from_call_rows(rows: pl.DataFrame, spec: CallLogMapping) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per call: the transcript column (JSON list of turns, or "speaker: text" lines) is
    split into turns; a call listed twice keeps its first row."""
    rows = rows.with_columns(pl.when(pl.col("reason").is_null() & pl.col("call_id").is_duplicated()
                                     & (pl.int_range(pl.len()).over("call_id") > 0))
                             .then(pl.format("call {} appears on an earlier row too", "call_id"))
                             .otherwise(pl.col("reason")).alias("reason"))
    turns: list[dict] = []
    reasons: list[str | None] = []
    good = rows.filter(pl.col("reason").is_null())
    transcripts = good["transcript"].to_list() if "transcript" in good.columns else [None] * good.height
    for call_id, started_at, transcript in zip(good["call_id"], good["started_at"], transcripts, strict=True):
        try:
            said = split_transcript(transcript, spec.speakers) if transcript else []
        except ValueError as error:
            reasons.append(f"transcript in column {spec.columns['transcript']!r}: {error}")
            continue
        reasons.append(None)
        turns.extend({"call_id": call_id, "turn_index": i, "speaker": speaker, "text": text,
                      "started_at": started_at, "ended_at": started_at, "timed": False,
                      "response_latency_ms": None} for i, (speaker, text) in enumerate(said))
    good = good.with_columns(pl.Series("reason", reasons, pl.String))
    unread = good.filter(pl.col("reason").is_not_null())
    calls = good.filter(pl.col("reason").is_null())
    calls = _calls_frame(calls.with_columns(_ended(calls)))
    unread_ids = set(unread["call_id"])
    turn_frame = pl.DataFrame([t for t in turns if t["call_id"] not in unread_ids], schema=_TURN_COLUMNS)
    bad = pl.concat([_rejects(rows.filter(pl.col("reason").is_not_null())), _rejects(unread)])
    return calls, turn_frame, bad


def split_transcript(transcript: str, speakers: dict[str, str]) -> list[tuple[str, str]]:
    """(speaker, text) per turn from a JSON list of {"speaker" or "role", "text", "message" or
    "content"} objects, or from lines of "Speaker: text"; ValueError says what is wrong."""
    if transcript.startswith("["):
        try:
            items = orjson.loads(transcript)
        except orjson.JSONDecodeError:
            raise ValueError("not valid JSON") from None
        said = []
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ValueError(f"turn {number} is not an object")
            who = item.get("speaker", item.get("role"))
            text = item.get("text", item.get("message", item.get("content")))
            said.append((_speaker(who, number, speakers), _text(text, number)))
        return said
    said = []
    for number, line in enumerate((ln for ln in transcript.splitlines() if ln.strip()), start=1):
        who, colon, text = line.partition(":")
        if not colon:
            raise ValueError(f"line {number} is not \"speaker: text\"")
        said.append((_speaker(who, number, speakers), _text(text, number)))
    return said


def _speaker(who: object, number: int, speakers: dict[str, str]) -> str:
    side = speakers.get(str(who).strip().lower()) if isinstance(who, str) else None
    if side is None:
        raise ValueError(f"turn {number}: speaker {who!r} is neither customer nor agent (see [speakers])")
    return side


def _text(text: object, number: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"turn {number} has no text")
    return text.strip()


def _from_turn_rows(rows: pl.DataFrame, spec: CallLogMapping) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per turn: a call's fields are the first given on any of its rows; its start is
    logged or its first turn's; turns without an index are numbered in file order."""
    good = rows.filter(pl.col("reason").is_null())
    cols = set(good.columns)
    call_start = pl.col("started_at").drop_nulls().first().over("call_id") if "started_at" in cols else None
    per_call = ("started_at", "ended_at", "duration_s", *_CALL_COLUMNS)
    firsts = {name: pl.col(name).drop_nulls().first().over("call_id")
              for name in per_call if name in cols and name != "call_id"}
    turn_start = pl.col("turn_started_at") if "turn_started_at" in cols else None
    if turn_start is None and "turn_start_s" in cols:
        turn_start = call_start + pl.duration(microseconds=pl.col("turn_start_s") * 1e6)
    turn_end = pl.col("turn_ended_at") if "turn_ended_at" in cols else None
    if turn_end is None and "turn_end_s" in cols:
        turn_end = call_start + pl.duration(microseconds=pl.col("turn_end_s") * 1e6)
    good = good.with_columns(
        turn_index=pl.col("turn_index") if "turn_index" in cols else pl.int_range(pl.len()).over("call_id"),
        turn_start=turn_start if turn_start is not None else pl.lit(None, pl.Datetime("us")),
        turn_end=turn_end if turn_end is not None else pl.lit(None, pl.Datetime("us")),
        **firsts,
    )
    good = good.with_columns(started_at=pl.coalesce(*([pl.col("started_at")] if "started_at" in cols else []),
                                                    pl.col("turn_start").min().over("call_id")))
    good = good.with_columns(_ended(good, pl.col("turn_end").max().over("call_id")))
    repeated = good.filter(pl.struct("call_id", "turn_index").is_duplicated()
                           & (pl.int_range(pl.len()).over("call_id", "turn_index") > 0))
    repeated = repeated.with_columns(reason=pl.format("turn {} of call {} appears on an earlier row too",
                                                      "turn_index", "call_id"))
    good = good.join(repeated.select("row_number"), on="row_number", how="anti")
    turns = good.select(
        "call_id", "turn_index", "speaker", "text",
        pl.coalesce("turn_start", "started_at").alias("started_at"),
        pl.coalesce("turn_end", "turn_start", "started_at").alias("ended_at"),
        pl.col("turn_start").is_not_null().alias("timed"),
        _column(good, "response_latency_ms", pl.Float64),
    ).cast(_TURN_COLUMNS)
    calls = _calls_frame(good.unique("call_id", keep="first", maintain_order=True))
    bad = pl.concat([_rejects(rows.filter(pl.col("reason").is_not_null())), _rejects(repeated)])
    return calls, turns, bad
