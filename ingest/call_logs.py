"""Load call logs: flat exports of call records (JSONL, JSON, CSV or Parquet; one row per call with
its transcript in one column, or one row per turn) through a TOML mapping into `calls` and
`turns`, for teams whose voice platform exports calls rather than traces, and for dialogue
datasets. docs/call-logs.md is the format.

Values are checked in polars before the warehouse is opened, chunk by chunk, and staged on disk
in pieces by call (ingest/pieces.py), so memory stays bounded whatever the file's size and a
call's rows are combined wherever in the file they are; a row that cannot be read is
quarantined with the reason and the others load. A bad value of the call itself (its start, its
agent's tokens) refuses the whole call, since loading it without would misstate it; a bad turn
refuses only the turn. Times are optional: a call without any is dated by the file, keeps its
first date on later loads, and has no response latency. The file is merged piece by piece, each
piece in a transaction of its own with its counts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import polars as pl

from ingest import dates
from ingest.errors import IngestError
from ingest.formats import Survey, surveyed
from ingest.mapping import date_rules, file_options, mapped_columns, read_mapping, source_name
from ingest.pieces import piece_count, read_piece, stage, staged
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from ingest.tables import FileOptions, OpenedTable, opened_table
from warehouse.call_log_loading import calls_from_traces, load_call_log
from warehouse.db import transaction
from warehouse.end_reasons import END_REASONS, end_reason
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.pii import redact_expression

CALL_FIELDS = ("call_id", "started_at", "ended_at", "duration_s", "agent", "prompt_version", "model",
               "recording_url", "input_tokens", "output_tokens", "cost_usd", "error_count", "end_reason")
CALLS_LAYOUT_FIELDS = ("transcript",)
TURNS_LAYOUT_FIELDS = ("turn_index", "speaker", "text", "turn_started_at", "turn_ended_at", "turn_start_s",
                       "turn_end_s", "response_latency_ms")
FIELDS = CALL_FIELDS + CALLS_LAYOUT_FIELDS + TURNS_LAYOUT_FIELDS
LAYOUTS = ("calls", "turns")
SOURCE_KEYS = ("name", "layout", "redact", "delimiter", "encoding")
DEFAULT_SPEAKERS = {"customer": ("customer", "user", "caller", "human", "client"),
                    "agent": ("agent", "assistant", "bot", "ai"),
                    "skip": ("system", "developer", "tool", "function")}
TOOL_WORDS = ("tool", "function")  # skipped speakers whose messages are kept as tool events
_NUMBERS = {"duration_s": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64, "cost_usd": pl.Float64,
            "error_count": pl.Int64, "turn_index": pl.Int64, "turn_start_s": pl.Float64, "turn_end_s": pl.Float64,
            "response_latency_ms": pl.Float64}
_TIMES = ("started_at", "ended_at", "turn_started_at", "turn_ended_at")
_ORDERED = (("started_at", "ended_at"), ("turn_started_at", "turn_ended_at"), ("turn_start_s", "turn_end_s"))

_CALL_COLUMNS = pl.Schema({
    "call_id": pl.String(), "agent": pl.String(), "prompt_version": pl.String(), "model": pl.String(),
    "started_at": pl.Datetime("us"), "ended_at": pl.Datetime("us"), "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(), "cost_usd": pl.Float64(), "error_count": pl.Int64(),
    "recording_url": pl.String(), "end_reason": pl.String(), "untimed": pl.Boolean(), "n_rows": pl.Int64(),
})
_TURN_COLUMNS = pl.Schema({
    "call_id": pl.String(), "turn_index": pl.Int64(), "speaker": pl.String(), "text": pl.String(),
    "started_at": pl.Datetime("us"), "ended_at": pl.Datetime("us"), "timed": pl.Boolean(),
    "response_latency_ms": pl.Float64(),
})
_TOOL_COLUMNS = pl.Schema({
    "call_id": pl.String(), "position": pl.Int64(), "turn_index": pl.Int64(), "tool_name": pl.String(),
    "input_text": pl.String(), "output_text": pl.String(), "started_at": pl.Datetime("us"),
})


@dataclass(frozen=True)
class CallLogMapping:
    source: str
    layout: str  # "calls": one row per call; "turns": one row per turn
    redact: bool
    columns: dict[str, str]  # ours -> theirs
    speakers: dict[str, str]  # their word, lowercased -> customer | agent | skip | tool
    dates: dict[str, dates.DateRule]
    file: FileOptions


def load_call_log_mapping(path: Path) -> CallLogMapping:
    """Read and check a call-log mapping; every mistake is one sentence naming the file and key."""
    document = read_mapping(path)
    name = source_name(document, path)
    options, _ = file_options(document, path, SOURCE_KEYS)
    source = document.get("source", {})
    layout = source.get("layout")
    if layout not in LAYOUTS:
        raise IngestError(f"The mapping {path}: [source] layout must be \"calls\" (one row per call) "
                          f"or \"turns\" (one row per turn).")
    columns = mapped_columns(document, path, FIELDS)
    wrong = sorted(set(columns) & set(TURNS_LAYOUT_FIELDS if layout == "calls" else CALLS_LAYOUT_FIELDS))
    if wrong:
        raise IngestError(f"The mapping {path}: {wrong[0]} does not apply to layout = \"{layout}\".")
    needed = ["call_id"] if layout == "calls" else ["call_id", "speaker", "text"]
    if any(key in columns for key in ("turn_start_s", "turn_end_s")) and "started_at" not in columns:
        needed.append("started_at")  # turn offsets count from the call's start
    missing = [key for key in needed if key not in columns]
    if missing:
        raise IngestError(f"The mapping {path}: [columns] must say which column holds {missing[0]}.")
    return CallLogMapping(name, layout, bool(source.get("redact", False)), columns,
                          _speakers(document.get("speakers", {}), path), date_rules(document, path, _TIMES), options)


def _speakers(table: object, path: Path) -> dict[str, str]:
    """Their words for who spoke, lowercased, over the defaults (a word the mapping gives wins)."""
    if not isinstance(table, dict) or not set(table) <= set(DEFAULT_SPEAKERS) or not all(
            isinstance(words, list) and all(isinstance(w, str) for w in words) for words in table.values()):
        raise IngestError(f"The mapping {path}: [speakers] must be customer = [...], agent = [...] "
                          f"and skip = [...].")
    words = {word: side for side, listed in DEFAULT_SPEAKERS.items() for word in listed}
    words.update({word.strip().lower(): side for side, listed in table.items() for word in listed})
    return {word: "tool" if side == "skip" and word in TOOL_WORDS else side for word, side in words.items()}


def _speaker_words(speakers: dict[str, str]) -> str:
    sides: dict[str, list[str]] = {"customer": [], "agent": [], "skip": []}
    for word, side in speakers.items():
        sides["skip" if side == "tool" else side].append(word)
    return "; ".join(f"{side}: {', '.join(words)}" for side, words in sides.items() if words)


def ingest_call_log(path: Path, mapping: Path, *, db_path: Path | None = None) -> IngestSummary:
    """Load one call-log export; loading it again changes nothing, a changed call is replaced."""
    path = Path(path)
    spec = load_call_log_mapping(Path(mapping))
    undated = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None, microsecond=0)
    with opened_table(path, spec.file) as table, tempfile.TemporaryDirectory(prefix="callboard-") as scratch:
        survey = surveyed(table, path, spec, {n: spec.columns[n] for n in _TIMES
                                        if n in spec.columns and n not in spec.dates}, {})
        folder = Path(scratch)
        _stage(table, spec, survey, folder)
        pieces = staged(folder)
        for number, piece in enumerate(pieces):
            _assemble(read_piece(piece), spec, undated, folder / f"calls-{number:05d}")
        source_file = str(path.resolve())
        with recorded_run("calls", [path], db_path, unit="rows") as summary:
            for number, piece in enumerate(pieces):
                with transaction(db_path) as con:
                    _load_piece(con, summary, piece, folder / f"calls-{number:05d}", source_file)
    return summary


def _stage(table: OpenedTable, spec: CallLogMapping, survey: Survey, folder: Path) -> None:
    """Type the file chunk by chunk into pieces by call, refused rows too (a call's values may
    come from any of its rows, and a refused row refuses its call), so every row of a call meets
    the others however far apart the file has them."""
    pieces, read = piece_count(survey.frame_bytes), 0
    for number, chunk in enumerate(table.chunks(survey.columns)):
        stage(_typed(chunk, spec, survey.formats, first_row=read + 1), "call_id", pieces, folder, number)
        read += chunk.height


_PARTS = ("calls", "turns", "tools", "refused")


def _assemble(rows: pl.DataFrame, spec: CallLogMapping, undated: datetime, folder: Path) -> None:
    """One piece's calls, turns, tool events and refused rows, written to `folder` before the
    warehouse is opened."""
    parts = _from_call_rows(rows, spec, undated) if spec.layout == "calls" else _from_turn_rows(rows, undated)
    folder.mkdir()
    for name, frame in zip(_PARTS, parts, strict=True):
        frame.write_parquet(folder / f"{name}.parquet")


def _load_piece(con: duckdb.DuckDBPyConnection, summary: IngestSummary, piece: str, folder: Path,
                source_file: str) -> None:
    """Merge one piece's calls and quarantine its refused rows in the caller's transaction, with
    the piece's counts (so the run balances after every piece)."""
    calls, turns, tools, bad = (pl.read_parquet(folder / f"{name}.parquet") for name in _PARTS)
    traced = calls_from_traces(con, calls["call_id"].to_list())
    if traced:
        taken = read_piece(piece).filter(pl.col("call_id").is_in(list(traced)) & pl.col("reason").is_null())
        bad = pl.concat([bad, _rejects(taken.with_columns(
            reason=pl.format("call {} is already loaded from traces; a call log does not replace it", "call_id")))])
        calls, turns, tools = (f.filter(~pl.col("call_id").is_in(list(traced))) for f in (calls, turns, tools))
    load = load_call_log(con, calls.to_arrow(), turns.to_arrow(), tools.to_arrow())
    refused = quarantine(con, summary.run_id, source_file, bad.sort("row_number").drop("row_number").to_arrow())
    read = pl.scan_parquet(piece).select(pl.len()).collect().item()
    add_counts(con, summary.run_id, read=read, loaded=load.loaded, updated=load.updated, unchanged=load.unchanged,
               quarantined=refused)
    summary.add(read=read, loaded=load.loaded, updated=load.updated, unchanged=load.unchanged, quarantined=refused)
    summary.untimed_calls += int(calls["untimed"].sum())


def _typed(frame: pl.DataFrame, spec: CallLogMapping, day_first: dict[str, object], first_row: int) -> pl.DataFrame:
    """Our columns, typed, plus `row_number` (counted from `first_row`), `call_reason` (a value of
    the call itself cannot be read), `reason` (that, or a value of the turn; NULL when the row is
    fine) and `record` (the row as read, masked when the mapping redacts)."""
    text = frame.with_columns(pl.all().str.strip_chars())
    theirs = spec.columns
    if spec.redact:
        free_text = [theirs[k] for k in ("text", "transcript") if k in theirs]
        text = text.with_columns(redact_expression(c) for c in text.columns
                                 if c in free_text or c not in set(theirs.values()))
    ours: list[pl.Expr] = []
    call_problems: list[pl.Expr] = [pl.when(_given(pl.col(theirs["call_id"])).not_()).then(
        pl.lit(f"no call_id in column {theirs['call_id']!r}"))]
    turn_problems: list[pl.Expr] = []
    for name in FIELDS:
        if name not in theirs:
            continue
        value, problems = _value(name, pl.col(theirs[name]), spec, bool(day_first.get(name, False)))
        ours.append(value.alias(name))
        (call_problems if name in CALL_FIELDS else turn_problems).extend(problems)
    typed = text.with_row_index("row_number", offset=first_row).select(
        "row_number", *ours, pl.coalesce(call_problems).alias("call_reason"),
        pl.coalesce(turn_problems or [pl.lit(None, pl.String)]).alias("turn_reason"),
        pl.struct(text.columns).struct.json_encode().alias("record"))
    order = {start: pl.when(pl.col(end) < pl.col(start)).then(pl.lit(f"{end} is before {start}"))
             for start, end in _ORDERED if start in theirs and end in theirs}
    call_order = [order[k] for k in order if k in CALL_FIELDS]
    if "duration_s" in theirs:
        call_order.append(pl.when(pl.col("duration_s") < 0).then(pl.lit("duration_s is negative")))
    turn_order = [order[k] for k in order if k not in CALL_FIELDS]
    typed = typed.with_columns(call_reason=pl.coalesce("call_reason", *call_order),
                               turn_reason=pl.coalesce("turn_reason", *turn_order))
    return typed.with_columns(reason=pl.coalesce("call_reason", "turn_reason")).drop("turn_reason")


def _value(name: str, column: pl.Expr, spec: CallLogMapping, day_first: bool) -> tuple[pl.Expr, list[pl.Expr]]:
    """One field typed, and the problems that refuse its row."""
    label = spec.columns[name]
    given = _given(column)
    if name in _NUMBERS:
        value = column.cast(pl.Float64, strict=False).cast(_NUMBERS[name], strict=False)
        return value, [pl.when(given & value.is_null()).then(
            pl.format(f"{name}: {{}} in column {label!r} is not a number", column))]
    if name in _TIMES:
        value = dates.timestamp(column, spec.dates.get(name, dates.DateRule()), day_first)
        return value, [pl.when(given & value.is_null()).then(
            pl.format(f"{name}: {{}} in column {label!r} is not a date and time", column)),
            pl.when(dates.implausible(value)).then(
            pl.format(f"{name}: {{}} in column {label!r} is not between 2000 and 2100", column))]
    if name == "speaker":
        value = column.str.to_lowercase().replace_strict(spec.speakers, default=None, return_dtype=pl.String)
        return value, [pl.when(value.is_null()).then(pl.format(
            f"speaker {{}} in column {label!r} is not in [speakers] ({_speaker_words(spec.speakers)})",
            column.fill_null("(empty)")))]
    if name == "end_reason":
        value = column.map_elements(end_reason, return_dtype=pl.String, skip_nulls=True)
        return value, [pl.when(given & value.is_null()).then(pl.format(
            f"end_reason {{}} in column {label!r} is not one of {', '.join(END_REASONS)}", column))]
    value = pl.when(given).then(column)
    if name == "text":  # a skipped speaker (a tool call) may have no text
        return value, [pl.when(value.is_null() & ~pl.col(spec.columns["speaker"]).str.to_lowercase().is_in(
            [w for w, side in spec.speakers.items() if side in ("skip", "tool")])).then(
            pl.lit(f"no text in column {label!r}"))]
    return value, []


def _given(column: pl.Expr) -> pl.Expr:
    return column.is_not_null() & (column != "")


def _rejects(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select("row_number", pl.format("row {}", "row_number").alias("location"), "reason", "record")


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype).alias(name)


def _calls_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(_column(frame, name, dtype).cast(dtype) for name, dtype in _CALL_COLUMNS.items())


def _dated(frame: pl.DataFrame, undated: datetime, last_turn_end: pl.Expr | None = None) -> pl.DataFrame:
    """Calls with their start (logged, else their first turn's, else the file's date: `untimed`)
    and their end: as logged, else start plus duration, else when the last turn ended, else the start."""
    frame = frame.with_columns(untimed=pl.col("started_at").is_null(),
                               started_at=pl.col("started_at").fill_null(pl.lit(undated, pl.Datetime("us"))))
    ends = [_column(frame, "ended_at", pl.Datetime("us"))]
    if "duration_s" in frame.columns:
        ends.append(pl.col("started_at") + pl.duration(microseconds=(pl.col("duration_s") * 1e6)))
    if last_turn_end is not None:
        ends.append(last_turn_end)
    return frame.with_columns(pl.coalesce(*ends, pl.col("started_at")).alias("ended_at"))


def _from_call_rows(rows: pl.DataFrame, spec: CallLogMapping, undated: datetime
                    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per call: the transcript column (JSON list of turns, or "speaker: text" lines) is
    split into turns and tool events; a call listed twice keeps its first row."""
    rows = rows.with_columns(pl.when(pl.col("reason").is_null() & pl.col("call_id").is_duplicated()
                                     & (pl.int_range(pl.len()).over("call_id") > 0))
                             .then(pl.format("call {} appears on an earlier row too", "call_id"))
                             .otherwise(pl.col("reason")).alias("reason"))
    good = rows.filter(pl.col("reason").is_null())
    if "started_at" not in good.columns:
        good = good.with_columns(started_at=pl.lit(None, pl.Datetime("us")))
    good = _dated(good, undated).with_columns(n_rows=pl.lit(1, pl.Int64))
    turns: list[dict] = []
    tools: list[dict] = []
    reasons: list[str | None] = []
    transcripts = good["transcript"].to_list() if "transcript" in good.columns else [None] * good.height
    for call_id, started_at, transcript in zip(good["call_id"], good["started_at"], transcripts, strict=True):
        try:
            said, used = split_messages(transcript, spec.speakers) if transcript else ([], [])
        except ValueError as error:
            reasons.append(f"transcript in column {spec.columns['transcript']!r}: {error}")
            continue
        reasons.append(None)
        turns.extend({"call_id": call_id, "turn_index": i, "speaker": speaker, "text": text,
                      "started_at": started_at, "ended_at": started_at, "timed": False,
                      "response_latency_ms": None} for i, (speaker, text) in enumerate(said))
        tools.extend({"call_id": call_id, "position": i, "started_at": started_at, **tool}
                     for i, tool in enumerate(used))
    good = good.with_columns(pl.Series("reason", reasons, pl.String))
    unread = good.filter(pl.col("reason").is_not_null())
    unread_ids = set(unread["call_id"])
    calls = _calls_frame(good.filter(pl.col("reason").is_null()))
    turn_frame = pl.DataFrame([t for t in turns if t["call_id"] not in unread_ids], schema=_TURN_COLUMNS)
    tool_frame = pl.DataFrame([t for t in tools if t["call_id"] not in unread_ids], schema=_TOOL_COLUMNS)
    bad = pl.concat([_rejects(rows.filter(pl.col("reason").is_not_null())), _rejects(unread)])
    return calls, turn_frame, tool_frame, bad


def split_transcript(transcript: str, speakers: dict[str, str]) -> list[tuple[str, str]]:
    """(speaker, text) per spoken turn; see `split_messages`."""
    return split_messages(transcript, speakers)[0]


def split_messages(transcript: str, speakers: dict[str, str]) -> tuple[list[tuple[str, str]], list[dict]]:
    """The turns, (speaker, text), and the tool events, from a JSON list of {"speaker" or "role",
    "text" or "message" or "content" or "utterance"} objects (OpenAI-style `tool_calls` and
    `tool` messages become tool events; skipped speakers, like a system prompt, are left out),
    or from lines of "Speaker: text". ValueError says what is wrong."""
    if transcript.startswith("["):
        try:
            items = orjson.loads(transcript)
        except orjson.JSONDecodeError:
            raise ValueError("not valid JSON") from None
        if not isinstance(items, list):
            raise ValueError("not a JSON list of turns")
        return _json_messages(items, speakers)
    said = []
    for number, line in enumerate((ln for ln in transcript.splitlines() if ln.strip()), start=1):
        who, colon, text = line.partition(":")
        if not colon:
            raise ValueError(f"line {number} is not \"speaker: text\"")
        side = _speaker(who, number, speakers)
        if side in ("customer", "agent"):
            said.append((side, _text(text, number)))
    return said, []


def _json_messages(items: list, speakers: dict[str, str]) -> tuple[list[tuple[str, str]], list[dict]]:
    said: list[tuple[str, str]] = []
    tools: list[dict] = []
    by_call_id: dict[str, dict] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"turn {number} is not an object")
        side = _speaker(item.get("speaker", item.get("role")), number, speakers)
        text = next((item[k] for k in ("text", "message", "content", "utterance") if item.get(k) is not None), None)
        for call in item.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, dict) else {}
            event = {"turn_index": len(said), "tool_name": function.get("name"),
                     "input_text": _as_text(function.get("arguments")), "output_text": None}
            tools.append(event)
            by_call_id[str(call.get("id"))] = event
        if side == "tool":
            answered = by_call_id.get(str(item.get("tool_call_id")))
            if answered is not None and answered["output_text"] is None:
                answered["output_text"] = _as_text(text)
            else:
                tools.append({"turn_index": len(said), "tool_name": item.get("name"), "input_text": None,
                              "output_text": _as_text(text)})
        elif side in ("customer", "agent") and not (text is None and item.get("tool_calls")):
            said.append((side, _text(text, number)))
    return said, tools


def _as_text(value: object) -> str | None:
    return value if value is None or isinstance(value, str) else orjson.dumps(value).decode()


def _speaker(who: object, number: int, speakers: dict[str, str]) -> str:
    side = speakers.get(str(who).strip().lower()) if isinstance(who, str) else None
    if side is None:
        raise ValueError(f"turn {number}: speaker {who!r} is not in [speakers] ({_speaker_words(speakers)})")
    return side


def _text(text: object, number: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"turn {number} has no text")
    return text.strip()


def _from_turn_rows(rows: pl.DataFrame, undated: datetime
                    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per turn. A row whose call values cannot be read refuses its whole call; a row
    whose turn cannot be read refuses only the turn, and still gives its call's values. A call's
    values are the first given on any of its rows; its start is logged or its first turn's;
    turns without an index are numbered in file order; skipped speakers are left out, and tool
    rows become tool events."""
    refused = rows.filter(pl.col("call_reason").is_not_null() & pl.col("call_id").is_not_null()).group_by(
        "call_id", maintain_order=True).agg(pl.col("row_number").first().alias("first_refused"),
                                            pl.col("call_reason").first().alias("refused_why"))
    rows = rows.join(refused, on="call_id", how="left", maintain_order="left").with_columns(
        reason=pl.coalesce("reason", pl.when(pl.col("first_refused").is_not_null()).then(pl.format(
            "call {} is refused with its row {} ({})", "call_id", "first_refused", "refused_why"))),
    ).drop("first_refused", "refused_why", "call_reason")
    cols = set(rows.columns)
    per_call = dict.fromkeys(("started_at", "ended_at", "duration_s", *_CALL_COLUMNS))
    rows = rows.with_columns(pl.col(name).drop_nulls().first().over("call_id")
                             for name in per_call if name in cols and name not in ("call_id", "untimed", "n_rows"))
    spoken = pl.col("speaker").is_in(["customer", "agent"])
    good = rows.filter(pl.col("reason").is_null()).with_columns(
        turn_index=pl.col("turn_index") if "turn_index" in cols else spoken.cum_sum().over("call_id") - 1,
        spoken_before=(spoken.cum_sum() - spoken.cast(pl.Int64)).over("call_id"),
        turn_start=_turn_time(cols, "turn_started_at", "turn_start_s"),
        turn_end=_turn_time(cols, "turn_ended_at", "turn_end_s"),
    )
    repeated = good.filter(spoken & (pl.int_range(pl.len()).over("call_id", "turn_index", spoken) > 0))
    repeated = repeated.with_columns(reason=pl.format("turn {} of call {} appears on an earlier row too",
                                                      "turn_index", "call_id"))
    good = good.join(repeated.select("row_number"), on="row_number", how="anti").with_columns(
        started_at=pl.coalesce(*([pl.col("started_at")] if "started_at" in cols else []),
                               pl.col("turn_start").min().over("call_id")),
        last_turn_end=pl.coalesce("turn_end", "turn_start").max().over("call_id"),
        n_rows=pl.len().over("call_id"),
    )
    good = _dated(good, undated, pl.col("last_turn_end"))
    turns = good.filter(spoken).select(
        "call_id", "turn_index", "speaker", "text",
        pl.coalesce("turn_start", "started_at").alias("started_at"),
        pl.coalesce("turn_end", "turn_start", "started_at").alias("ended_at"),
        pl.col("turn_start").is_not_null().alias("timed"),
        _column(good, "response_latency_ms", pl.Float64()),
    ).cast(_TURN_COLUMNS)
    tools = good.filter(pl.col("speaker") == "tool").select(
        "call_id", pl.col("row_number").alias("position"), pl.col("spoken_before").alias("turn_index"),
        pl.lit(None, pl.String).alias("tool_name"), pl.lit(None, pl.String).alias("input_text"),
        pl.col("text").alias("output_text"), pl.coalesce("turn_start", "started_at").alias("started_at"),
    ).cast(_TOOL_COLUMNS)
    calls = _calls_frame(good.unique("call_id", keep="first", maintain_order=True))
    bad = pl.concat([_rejects(rows.filter(pl.col("reason").is_not_null())), _rejects(repeated)])
    return calls, turns, tools, bad


def _turn_time(cols: set[str], logged: str, offset: str) -> pl.Expr:
    """A turn's start or end: as logged, else the call's start plus the offset, else NULL."""
    if logged in cols:
        return pl.col(logged)
    if offset in cols and "started_at" in cols:
        return pl.col("started_at") + pl.duration(microseconds=pl.col(offset) * 1e6)
    return pl.lit(None, pl.Datetime("us"))
