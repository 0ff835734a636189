"""Flatten OTLP trace exports (OTLP/JSON text, or protobuf decoded into Arrow columns by
`ingest.otlp_protobuf`) into span rows, inside a scratch in-memory DuckDB.

Parsing runs before the warehouse file is opened (see docs/architecture.md, "Sharing the
warehouse"), and it runs in DuckDB's JSON functions rather than in Python: a chunk of lines goes
in as one VARCHAR column and comes out as one row per span, so the per-span work is vectorised C++
(Python per-span code would not reach the 100,000 spans/s target). Each line is read once, by one
`from_json` with explicit types down to the attribute values; nothing is re-serialised and parsed
again except the rare rejected span. Protobuf arrives already typed and goes through the same
query from the point where a span's fields are read (`_Front`), so one mapping serves both.
docs/trace-format.md is the contract for every column.

Each output row is either a good span (`reason` NULL) or a rejected record with its `reason`,
`location` and the `record` text, so one bad line or span never stops the rest of its chunk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest import otlp_protobuf
from ingest.lines import bytes_array, int64_array
from warehouse import trace_mapping
from warehouse.db import set_session
from warehouse.end_reasons import end_reason_sql

MAX_ATTRIBUTE_BYTES = 64 * 1024
# Spans outside these years are a unit mistake (seconds or millis sent as nanos) or garbage.
EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01
LATEST_NS = 4_102_444_800 * 10**9  # 2100-01-01

# The from_json structure of an export. OTLP's AnyValue is typed field by field (scalars as text,
# so an int64 written as a string or a number reads the same); arrays and key-value lists, rare in
# practice, stay JSON. A field of the wrong JSON type reads as NULL and is judged below.
_ANY_VALUE = {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "VARCHAR",
              "bytesValue": "VARCHAR", "arrayValue": "JSON", "kvlistValue": "JSON"}
_ATTRIBUTES = [{"key": "VARCHAR", "value": _ANY_VALUE}]
_SPAN = {"traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR",
         "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR", "attributes": _ATTRIBUTES,
         "status": {"code": "VARCHAR", "message": "VARCHAR"}}
_DOC_TYPE = json.dumps(
    {"resourceSpans": [{"resource": {"attributes": _ATTRIBUTES}, "scopeSpans": [{"spans": [_SPAN]}]}]}
)

# Attributes read into columns, in the order `_attr(...)` indexes them: every name the mapping
# table (warehouse/trace_mapping.py) reads, so one json_extract_string pulls them all.
SPAN_KEYS = trace_mapping.span_keys()
RESOURCE_KEYS = trace_mapping.resource_keys()

# An AnyValue as JSON text. A value with no field set is OTLP's empty value (JSON null); arrays and
# key-value lists become JSON arrays and objects, and anything nested deeper is kept as a JSON
# string of its OTLP form. NULL means the value could not be read.
_MACROS = r"""
CREATE OR REPLACE MACRO otlp_scalar(v) AS CASE
    WHEN v.stringValue IS NOT NULL THEN to_json(pii(v.stringValue))::VARCHAR
    WHEN v.intValue IS NOT NULL THEN TRY_CAST(v.intValue AS BIGINT)::VARCHAR
    WHEN v.doubleValue IS NOT NULL THEN CASE WHEN isfinite(TRY_CAST(v.doubleValue AS DOUBLE))
        THEN TRY_CAST(v.doubleValue AS DOUBLE)::VARCHAR ELSE to_json(v.doubleValue)::VARCHAR END
    WHEN v.boolValue IS NOT NULL THEN TRY_CAST(v.boolValue AS BOOLEAN)::VARCHAR
    WHEN v.bytesValue IS NOT NULL THEN to_json(v.bytesValue)::VARCHAR
    WHEN v.arrayValue IS NOT NULL THEN to_json(pii(v.arrayValue::VARCHAR))::VARCHAR
    WHEN v.kvlistValue IS NOT NULL THEN to_json(pii(v.kvlistValue::VARCHAR))::VARCHAR
    ELSE 'null'
END;
CREATE OR REPLACE MACRO otlp_array(a) AS CASE WHEN json_type(a) = 'OBJECT' THEN '[' || array_to_string(
    list_transform(coalesce(from_json(a, '__ARRAY__').values, []), lambda e: otlp_scalar(e)), ',') || ']' END;
CREATE OR REPLACE MACRO otlp_kvlist(kv) AS CASE WHEN json_type(kv) = 'OBJECT' THEN '{' || array_to_string(
    list_transform(coalesce(from_json(kv, '__KVLIST__').values, []),
                   lambda e: to_json(e.key) || ':' || otlp_scalar(e.value)), ',') || '}' END;
CREATE OR REPLACE MACRO otlp_json(v) AS CASE
    WHEN v.arrayValue IS NOT NULL THEN otlp_array(v.arrayValue)
    WHEN v.kvlistValue IS NOT NULL THEN otlp_kvlist(v.kvlistValue)
    ELSE otlp_scalar(v)
END;
CREATE OR REPLACE MACRO attribute_problem(attributes, plains) AS list_filter(list_transform(attributes,
    lambda a, i: CASE
        WHEN a.key IS NULL THEN 'an attribute has no key'
        WHEN strlen(plains[i]) > __MAX__ THEN 'attribute ' || to_json(a.key) || ' is over 64 KiB'
        WHEN plains[i] IS NULL THEN 'attribute ' || to_json(a.key) || ' has a value of an unknown type'
    END), lambda p: p IS NOT NULL)[1];
CREATE OR REPLACE MACRO object_text(attributes, plains) AS '{' || coalesce(array_to_string(
    list_transform(attributes, lambda a, i: to_json(a.key) || ':' || plains[i]), ','), '') || '}';
CREATE OR REPLACE MACRO otlp_id(x, nbytes) AS CASE
    WHEN x IS NULL OR x = '' THEN NULL
    WHEN length(x) = 2 * nbytes AND ltrim(lower(x), '0123456789abcdef') = '' THEN lower(x)
    WHEN length(x) = 4 * ceil(nbytes / 3) THEN TRY(CASE WHEN octet_length(from_base64(x)) = nbytes
                                                  THEN lower(hex(from_base64(x))) END)
END;
CREATE OR REPLACE MACRO valid_id(id) AS id IS NOT NULL AND ltrim(id, '0') <> '';
CREATE OR REPLACE MACRO pb_id(x, nbytes) AS CASE WHEN octet_length(x) = nbytes THEN lower(hex(x)) END;
CREATE OR REPLACE MACRO pb_json(v) AS CASE
    WHEN v.string_value IS NOT NULL THEN to_json(pii(v.string_value))::VARCHAR
    WHEN v.int_value IS NOT NULL THEN v.int_value::VARCHAR
    WHEN v.double_value IS NOT NULL THEN CASE WHEN isfinite(v.double_value) THEN v.double_value::VARCHAR
        WHEN isnan(v.double_value) THEN '"NaN"' WHEN v.double_value > 0 THEN '"Infinity"' ELSE '"-Infinity"' END
    WHEN v.bool_value IS NOT NULL THEN v.bool_value::VARCHAR
    WHEN v.bytes_value IS NOT NULL THEN to_json(to_base64(v.bytes_value))::VARCHAR
    WHEN v.array_value IS NOT NULL THEN otlp_array(otlp_array_json(v.array_value."values")::JSON)
    WHEN v.kvlist_value IS NOT NULL THEN otlp_kvlist(otlp_kvlist_json(v.kvlist_value."values")::JSON)
    ELSE 'null'
END;
""".replace("__MAX__", str(MAX_ATTRIBUTE_BYTES)).replace(
    "__ARRAY__", json.dumps({"values": [_ANY_VALUE]})).replace("__KVLIST__", json.dumps({"values": _ATTRIBUTES}))


def _paths(keys: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'$.\"{key}\"'" for key in keys) + "]"


def _attr(key: str) -> str:
    """The span's attribute `key` as text (1-based index into the extracted list)."""
    return f"x[{SPAN_KEYS.index(key) + 1}]"


def _resource(key: str) -> str:
    return f"rx[{RESOURCE_KEYS.index(key) + 1}]"


def _field(name: str) -> str:
    return trace_mapping.field(name, _attr, _resource)


_AGENT, _AGENT_RANK = trace_mapping.agent(_attr, _resource)
_UTTERANCE = trace_mapping.utterance(_attr, "f.name")


@dataclass(frozen=True)
class _Front:
    """How one input form (OTLP/JSON text, or protobuf decoded into Arrow structs) reaches the
    shared rows: where its requests come from, and how a span's fields read."""

    requests: str  # a query: line, piece (its row), doc, line_reason, resource_list, the bases (see Piece)
    value_json: str  # an attribute's value (`a.value`) as JSON text
    scope_spans: str  # the resource's list of scope spans
    trace_id: str
    span_id: str
    parent_span_id: str
    parent_given: str  # whether the span names a parent at all (so an unreadable one is refused)
    start_ns: str
    end_ns: str
    status_error: str
    record: str  # a refused span as text (NULL: filled in afterwards from the request)


# A line that is not an export keeps one row (its list replaced by [NULL]) to carry its reason.
_JSON = _Front(
    requests=f"""
    SELECT line, line AS piece, doc, resource_list, resource_base, scope_base, span_base,
           CASE WHEN resource_list IS NOT NULL THEN NULL WHEN json_valid(doc) THEN
               'not an OTLP trace export (no "resourceSpans" list)' ELSE 'not valid JSON' END AS line_reason
    FROM (SELECT *, TRY(from_json(doc, '{_DOC_TYPE}')).resourceSpans AS resource_list FROM chunk
          WHERE starts_with(doc, '{{') OR trim(doc, ' \t\r\n') <> '')  -- blank lines are nothing, not a record
    """,
    value_json="otlp_json(a.value)", scope_spans="r.scopeSpans",
    trace_id="otlp_id(f.traceId, 16)", span_id="otlp_id(f.spanId, 8)", parent_span_id="otlp_id(f.parentSpanId, 8)",
    parent_given="coalesce(f.parentSpanId, '') <> ''",
    start_ns="TRY_CAST(f.startTimeUnixNano AS HUGEINT)", end_ns="TRY_CAST(f.endTimeUnixNano AS HUGEINT)",
    status_error="coalesce(f.status.code IN ('2', 'STATUS_CODE_ERROR'), false)",
    record="json_extract(doc, '$.resourceSpans[' || (ri0 - 1) || '].scopeSpans[' || (si0 - 1) || '].spans[' "
           "|| (k0 - 1) || ']')::VARCHAR",
)
_PROTOBUF = _Front(
    requests="""
    SELECT line, piece, NULL AS doc, resource_spans AS resource_list, resource_base, scope_base, span_base,
           NULL::VARCHAR AS line_reason
    FROM chunk
    """,
    value_json="pb_json(a.value)", scope_spans="r.scope_spans",
    trace_id="pb_id(f.trace_id, 16)", span_id="pb_id(f.span_id, 8)", parent_span_id="pb_id(f.parent_span_id, 8)",
    parent_given="octet_length(f.parent_span_id) > 0",
    start_ns="f.start_time_unix_nano::HUGEINT", end_ns="f.end_time_unix_nano::HUGEINT",
    status_error="coalesce(f.status.code = 2, false)",
    record="NULL",
)


def _parse_sql(front: _Front) -> str:
    """One row per span of the chunk, in order (or per unreadable line), with its reason if refused.
    `ri0`/`si0`/`k0` count within the request as it is; `ri`/`si`/`k` from its message's start."""
    return f"""
WITH checked AS (
    SELECT line, piece, doc, line_reason, resource_base, scope_base, span_base,
           CASE WHEN line_reason IS NULL THEN resource_list ELSE [NULL] END AS resource_list
    FROM ({front.requests})
), resources AS (
    SELECT * EXCLUDE (resource_list), unnest(resource_list) AS r, generate_subscripts(resource_list, 1) AS ri0
    FROM checked
), resource_plain AS (
    SELECT *, list_transform(r.resource.attributes, lambda a: {front.value_json}) AS rp FROM resources
), resource_objects AS (
    SELECT line, piece, doc, line_reason, scope_base, span_base, ri0, ri0 + resource_base AS ri,
           object_text(r.resource.attributes, rp) AS ro,
           'resource ' || attribute_problem(r.resource.attributes, rp) AS resource_problem,
           CASE WHEN line_reason IS NULL THEN {front.scope_spans} ELSE [NULL] END AS scope_list
    FROM resource_plain
), resource_values AS (
    SELECT *, json_extract_string(ro, {_paths(RESOURCE_KEYS)}) AS rx FROM resource_objects
), scopes AS (
    SELECT * EXCLUDE (scope_list), unnest(scope_list) AS sc, generate_subscripts(scope_list, 1) AS si0
    FROM resource_values
), spans AS (
    SELECT * EXCLUDE (sc), si0 + CASE WHEN ri0 = 1 THEN scope_base ELSE 0 END AS si,
           unnest(CASE WHEN line_reason IS NULL THEN sc.spans ELSE [NULL] END) AS f,
           generate_subscripts(CASE WHEN line_reason IS NULL THEN sc.spans ELSE [NULL] END, 1) AS k0
    FROM scopes
), span_plain AS (
    SELECT *, k0 + CASE WHEN ri0 = 1 AND si0 = 1 THEN span_base ELSE 0 END AS k,
           list_transform(f.attributes, lambda a: {front.value_json}) AS sp FROM spans
), span_objects AS (
    SELECT *, object_text(f.attributes, sp) AS so, attribute_problem(f.attributes, sp) AS attr_problem
    FROM span_plain
), extracted AS (
    SELECT *, json_extract_string(so, {_paths(SPAN_KEYS)}) AS x,
           {front.trace_id} AS trace_id, {front.span_id} AS span_id, {front.parent_span_id} AS parent_span_id,
           {front.start_ns} AS start_ns, {front.end_ns} AS end_ns, {front.status_error} AS status_error
    FROM span_objects
), judged AS (
    SELECT *, coalesce(
        line_reason,
        CASE WHEN f IS NULL THEN 'span is not a JSON object' END,
        CASE WHEN NOT valid_id(trace_id) THEN 'missing or malformed traceId' END,
        CASE WHEN NOT valid_id(span_id) THEN 'missing or malformed spanId' END,
        CASE WHEN parent_span_id IS NULL AND {front.parent_given} THEN 'malformed parentSpanId' END,
        CASE WHEN start_ns IS NULL OR end_ns IS NULL
             THEN 'missing or unreadable startTimeUnixNano/endTimeUnixNano' END,
        CASE WHEN start_ns NOT BETWEEN {EARLIEST_NS} AND {LATEST_NS} OR end_ns NOT BETWEEN {EARLIEST_NS} AND {LATEST_NS}
             THEN 'absurd timestamp (not between 2000 and 2100)' END,
        CASE WHEN end_ns < start_ns THEN 'absurd timestamp (the span ends before it starts)' END,
        attr_problem, resource_problem
    ) AS reason
    FROM extracted
), kinded AS (
    SELECT *, {trace_mapping.kind(_attr, "f.name")} AS kind FROM judged
)
SELECT
    CASE WHEN reason IS NOT NULL THEN 'line ' || line || CASE WHEN line_reason IS NOT NULL THEN '' ELSE
        CASE WHEN ri > 1 THEN ', resource ' || ri ELSE '' END || CASE WHEN si > 1 THEN ', scope ' || si ELSE '' END
        || ', span ' || k END END AS location,
    reason,
    CASE WHEN line_reason IS NOT NULL THEN rtrim(doc, chr(13) || chr(10)) WHEN reason IS NOT NULL THEN {front.record}
    END AS record,
    CASE WHEN reason IS NOT NULL THEN [piece, ri0, si0, k0] END AS request_place,
    trace_id, span_id, parent_span_id,
    f.name AS name,
    kind,
    {_field("turn_index")} AS turn_index,
    CASE WHEN reason IS NULL THEN make_timestamp((start_ns // 1000)::BIGINT) END AS started_at,
    CASE WHEN reason IS NULL THEN make_timestamp((end_ns // 1000)::BIGINT) END AS ended_at,
    CASE WHEN reason IS NULL THEN ((end_ns - start_ns) / 1e6)::DOUBLE END AS duration_ms,
    {_field("provider")} AS provider,
    {_field("model")} AS model,
    {_field("operation")} AS operation,
    {_field("tool_name")} AS tool_name,
    {_field("input_tokens")} AS input_tokens,
    {_field("output_tokens")} AS output_tokens,
    {_field("span_cost_usd")} AS span_cost_usd,
    status_error OR {_field("error_type")} IS NOT NULL OR coalesce({_field("tool_failed")}, false) AS is_error,
    coalesce({_field("error_type")}, CASE WHEN status_error THEN pii(f.status.message) END) AS error_type,
    CASE WHEN starts_with({_field("finish_reasons")}, '[')
         THEN array_to_string(TRY_CAST({_field("finish_reasons")}::JSON AS VARCHAR[]), ',')
         ELSE {_field("finish_reasons")} END AS finish_reasons,
    {_field("input_text")} AS input_text,
    {_field("output_text")} AS output_text,
    CASE WHEN ro = '{{}}' THEN so
         ELSE so[:-2] || CASE WHEN so = '{{}}' THEN '' ELSE ',' END || '"resource":' || ro || '}}' END AS attributes,
    {_field("input_audio_tokens")} AS input_audio_tokens,
    {_field("output_audio_tokens")} AS output_audio_tokens,
    CASE WHEN kind IN ('llm', 'tts') THEN {_field("first_output_s")} * 1000 END AS first_output_ms,
    {_field("end_of_turn_delay_s")} * 1000 AS end_of_turn_delay_ms,
    {_field("transcription_delay_s")} * 1000 AS transcription_delay_ms,
    {_field("declared_call_id")} AS declared_call_id,
    {_AGENT} AS agent,
    {_AGENT_RANK} AS agent_rank,
    {_field("prompt_version")} AS prompt_version,
    {_field("recording_url")} AS recording_url,
    {end_reason_sql(_field("end_reason"))} AS end_reason,
    lower({_field("speaker")}) AS speaker,
    {_field("turn_text")} AS turn_text,
    {_field("audio_seconds")} AS audio_seconds,
    {_field("tts_characters")} AS tts_characters,
    {_UTTERANCE["utter_speaker"]} AS utter_speaker,
    {_UTTERANCE["utter_text"]} AS utter_text,
    {_UTTERANCE["utter_lead_s"]} AS utter_lead_s,
    {_UTTERANCE["utter_trail_s"]} AS utter_trail_s,
    {_field("reply_wait_s")} AS reply_wait_s,
    {_field("cut_off")} AS cut_off,
    {_field("reply_text")} AS reply_text
FROM kinded
"""


_PARSE_JSON, _PARSE_PROTOBUF = _parse_sql(_JSON), _parse_sql(_PROTOBUF)

_REJECT_COLUMNS = ("location", "reason", "record")
_BLOBS = duckdb.list_type(duckdb.sqltype("BLOB"))


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk's spans that can be loaded, and its records that cannot (with their reasons)."""

    spans: pa.Table  # may hold a span twice; `warehouse.span_loading` keeps the first
    rejects: pa.Table  # location, reason, record
    records: int  # every span and unreadable line, duplicates included


def open_scratch(redactions: tuple[tuple[str, str], ...] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the parsing macros: parsing never touches the warehouse file.

    `redactions` are (regex, mask) pairs applied to every string attribute value and status
    message before anything leaves the scratch database."""
    con = duckdb.connect(":memory:")
    set_session(con)
    masked = "t"
    for pattern, mask in redactions:
        masked = f"regexp_replace({masked}, {_literal(pattern)}, {_literal(mask)}, 'g')"
    con.execute(f"CREATE MACRO pii(t) AS {masked}")
    varchar = duckdb.sqltype("VARCHAR")
    con.create_function("otlp_array_json", otlp_protobuf.array_json, [_BLOBS], varchar)
    con.create_function("otlp_kvlist_json", otlp_protobuf.kvlist_json, [_BLOBS], varchar)
    con.execute(_MACROS)
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_spans(scratch: duckdb.DuckDBPyConnection, chunk: pa.Table) -> ParsedChunk:
    """Flatten `chunk` into span rows, in order: either OTLP/JSON text (columns `line` BIGINT,
    `doc` VARCHAR: one export per row, and for pieces of a larger export the bases of
    `otlp_protobuf.Piece`) or decoded protobuf (`otlp_protobuf.requests_table`).
    Safe to call from several threads at once: each call binds the query on a cursor of its own."""
    chunk = _with_bases(chunk)
    cursor = scratch.cursor()
    try:
        cursor.register("chunk", chunk)
        rows = cursor.sql(_PARSE_PROTOBUF if _is_protobuf(chunk) else _PARSE_JSON).to_arrow_table()
    finally:
        cursor.close()
    return _split(rows, chunk)


class SpanParser:
    """`parse_spans` for a caller that parses chunk after chunk on one thread (the receiver's
    loader): one cursor of the scratch database with the query prepared once for each shape of
    chunk. `parse_spans` binds the query for every chunk, and a relation binds it twice (once to
    describe it, once to run it): about 30 ms of CPU a chunk, a third of a small chunk's parse and
    part of what the receiver's last spans wait for. Not for two threads at once."""

    def __init__(self, scratch: duckdb.DuckDBPyConnection) -> None:
        self._cursor = scratch.cursor()
        self._prepared: dict[pa.Schema, str] = {}

    def __call__(self, chunk: pa.Table) -> ParsedChunk:
        chunk = _with_bases(chunk)
        self._cursor.register("chunk", chunk)
        try:
            rows = self._cursor.sql(f"EXECUTE {self._statement(chunk)}").to_arrow_table()
        finally:
            self._cursor.unregister("chunk")  # the chunk's memory is not held until the next one
        return _split(rows, chunk)

    def _statement(self, chunk: pa.Table) -> str:
        """The prepared statement for chunks of this schema (protobuf and JSON differ; the view
        `chunk` is bound again at each run, so it reads the chunk registered now)."""
        name = self._prepared.get(chunk.schema)
        if name is None:
            name = f"parse_{len(self._prepared)}"
            self._cursor.execute(f"PREPARE {name} AS {_PARSE_PROTOBUF if _is_protobuf(chunk) else _PARSE_JSON}")
            self._prepared[chunk.schema] = name
        return name

    def close(self) -> None:
        self._cursor.close()


def _is_protobuf(chunk: pa.Table) -> bool:
    return "resource_spans" in chunk.column_names


def _with_bases(chunk: pa.Table) -> pa.Table:
    """`chunk` with the bases of `otlp_protobuf.Piece` (zeros when each line is a whole export)."""
    if "resource_base" in chunk.column_names:
        return chunk
    zeros = int64_array(np.zeros(chunk.num_rows, np.int64))
    return chunk.append_column("resource_base", zeros).append_column("scope_base", zeros) \
        .append_column("span_base", zeros)


def _split(rows: pa.Table, chunk: pa.Table) -> ParsedChunk:
    """The parse's rows as spans to load and refused records (a refused protobuf span with its
    record read again from its request)."""
    good = pc.is_null(rows.column("reason"))
    refused = rows.column("reason").null_count < rows.num_rows
    rejects = rows.filter(pc.invert(good)) if refused else rows.slice(0, 0)
    if _is_protobuf(chunk) and rejects.num_rows:
        rejects = _with_span_records(rejects, chunk)
    spans = rows if not rejects.num_rows else rows.filter(good)
    return ParsedChunk(spans.drop_columns([*_REJECT_COLUMNS, "request_place"]), rejects.select(list(_REJECT_COLUMNS)),
                       rows.num_rows)


def _with_span_records(rejects: pa.Table, chunk: pa.Table) -> pa.Table:
    """Refused protobuf spans with their record: the span as OTLP/JSON, read again from its request."""
    bodies = chunk.column("body")
    requests: dict[int, ExportTraceServiceRequest | None] = {}
    records = []
    for piece, resource, scope, span in rejects.column("request_place").to_pylist():
        if piece not in requests:
            requests[piece] = otlp_protobuf.parse_request(bodies[piece].as_py())
        request = requests[piece]
        records.append(b"" if request is None else otlp_protobuf.span_json(request, resource, scope, span).encode())
    return rejects.set_column(rejects.schema.get_field_index("record"), "record", bytes_array(records, pa.string()))
