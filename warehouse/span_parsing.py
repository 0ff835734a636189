"""Flatten OTLP/JSON trace exports into span rows, inside a scratch in-memory DuckDB.

Parsing runs before the warehouse file is opened (see docs/architecture.md, "Sharing the
warehouse"), and it runs in DuckDB's JSON functions rather than in Python: a chunk of lines goes
in as one VARCHAR column and comes out as one row per span, so the per-span work is vectorised C++
(Python per-span code would not reach the 100,000 spans/s target). docs/trace-format.md is the
contract for every column computed here.

Each output row is either a good span (`reason` NULL) or a rejected record with its `reason`,
`location` and the `record` text, so one bad line or span never stops the rest of its chunk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

MAX_ATTRIBUTE_BYTES = 64 * 1024
# Spans outside these years are a unit mistake (seconds or millis sent as nanos) or garbage.
EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01
LATEST_NS = 4_102_444_800 * 10**9  # 2100-01-01

# from_json structures: only the skeleton is typed; spans and attribute values stay JSON text.
_ATTRIBUTES = [{"key": "VARCHAR", "value": "JSON"}]
_DOC_TYPE = json.dumps(
    {"resourceSpans": [{"resource": {"attributes": _ATTRIBUTES}, "scopeSpans": [{"spans": ["JSON"]}]}]}
)
_SPAN_TYPE = json.dumps(
    {
        "traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR",
        "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR", "attributes": _ATTRIBUTES,
        "status": {"code": "VARCHAR", "message": "VARCHAR"},
    }
)

# Attributes read into columns, in the order `attr(...)` indexes them; first one present wins.
SPAN_KEYS = (
    "callboard.span.kind", "gen_ai.operation.name", "openinference.span.kind",
    "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system",
    "gen_ai.response.model", "gen_ai.request.model", "llm.model_name",
    "gen_ai.usage.input_tokens", "llm.token_count.prompt",
    "gen_ai.usage.output_tokens", "llm.token_count.completion",
    "gen_ai.tool.name", "tool.name",
    "input.value", "gen_ai.tool.call.arguments",
    "output.value", "gen_ai.tool.call.result",
    "gen_ai.response.finish_reasons", "error.type",
    "callboard.cost_usd", "llm.cost.total",
    "callboard.turn.index", "callboard.turn.speaker", "callboard.turn.text",
    "session.id", "callboard.call.id", "callboard.agent", "callboard.prompt.version",
    "callboard.call.recording_url", "callboard.audio.seconds", "callboard.tts.characters",
)
RESOURCE_KEYS = ("callboard.agent", "service.name", "callboard.prompt.version", "session.id", "callboard.call.id")

# OTLP's AnyValue arrives re-serialised compactly by DuckDB ({"stringValue":"x"}), so the plain
# JSON value is a slice of that text; only string-encoded int64s and arrays need more work.
_MACROS = r"""
CREATE OR REPLACE MACRO otlp_scalar(v) AS CASE
    WHEN starts_with(v, '{"intValue":"') THEN TRY_CAST(v[14:-3] AS BIGINT)::VARCHAR
    WHEN starts_with(v, '{"intValue":') THEN TRY_CAST(v[13:-2] AS BIGINT)::VARCHAR
    WHEN starts_with(v, '{"stringValue":"') THEN pii(v[16:-2])
    WHEN starts_with(v, '{"boolValue":') OR starts_with(v, '{"doubleValue":') OR starts_with(v, '{"bytesValue":"')
      THEN v[strpos(v, ':') + 1:-2]
    WHEN v = '{}' THEN 'null'
END;
CREATE OR REPLACE MACRO otlp_plain(v) AS CASE
    WHEN starts_with(v, '{"arrayValue":') THEN '[' || array_to_string(list_transform(
        json_extract(v, '$.arrayValue.values[*]')::VARCHAR[], lambda e: coalesce(otlp_scalar(e), e)), ',') || ']'
    WHEN starts_with(v, '{"kvlistValue":') THEN v[16:-2]
    ELSE otlp_scalar(v)
END;
CREATE OR REPLACE MACRO object_text(keys, plains) AS
    '{' || array_to_string(list_transform(keys, lambda k, i: k || ':' || plains[i]), ',') || '}';
CREATE OR REPLACE MACRO attribute_problem(keys, raws, plains) AS list_filter(list_transform(keys,
    lambda k, i: CASE
        WHEN k IS NULL THEN 'an attribute has no key'
        WHEN length(raws[i]) > __MAX__ THEN 'attribute ' || k || ' is over 64 KiB'
        WHEN plains[i] IS NULL THEN 'attribute ' || k || ' has a value of an unknown type'
    END), lambda p: p IS NOT NULL)[1];
CREATE OR REPLACE MACRO otlp_id(x, nbytes) AS CASE
    WHEN x IS NULL OR x = '' THEN NULL
    WHEN length(x) = 2 * nbytes AND regexp_full_match(x, '[0-9a-fA-F]+') THEN lower(x)
    WHEN length(x) = 4 * ceil(nbytes / 3) THEN TRY(CASE WHEN octet_length(from_base64(x)) = nbytes
                                                  THEN lower(hex(from_base64(x))) END)
END;
CREATE OR REPLACE MACRO valid_id(id) AS id IS NOT NULL AND NOT regexp_full_match(id, '0+');
""".replace("__MAX__", str(MAX_ATTRIBUTE_BYTES))


def _paths(keys: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'$.\"{key}\"'" for key in keys) + "]"


def _attr(*keys: str) -> str:
    """The first of `keys` the span carries, as text (1-based index into the extracted list)."""
    return "coalesce(" + ", ".join(f"x[{SPAN_KEYS.index(key) + 1}]" for key in keys) + ")"


def _resource(key: str) -> str:
    return f"rx[{RESOURCE_KEYS.index(key) + 1}]"


_PARSE = f"""
WITH docs AS (
    SELECT line, doc, json_valid(doc) AS valid FROM chunk
    WHERE strlen(doc) > 2 OR trim(doc, ' \t\r\n') <> ''
), typed AS (
    SELECT line, doc, CASE WHEN valid THEN from_json(doc, '{_DOC_TYPE}').resourceSpans END AS rl,
           CASE WHEN NOT valid THEN 'not valid JSON' END AS bad_json
    FROM docs
), checked AS (
    SELECT line,
           coalesce(bad_json, CASE WHEN rl IS NULL
               THEN 'not an OTLP trace export (no "resourceSpans" list)' END) AS line_reason,
           CASE WHEN line_reason IS NULL THEN rl ELSE [NULL] END AS resource_list,
           CASE WHEN line_reason IS NOT NULL THEN doc END AS line_record
    FROM typed
), resources AS (
    SELECT line, line_reason, line_record, unnest(resource_list) AS r,
           generate_subscripts(resource_list, 1) AS ri
    FROM checked
), resource_lists AS (
    SELECT line, ri, line_reason, line_record,
           list_transform(r.resource.attributes, lambda a: to_json(a.key)) AS rk,
           list_transform(r.resource.attributes, lambda a: a.value::VARCHAR) AS rv,
           CASE WHEN line_reason IS NULL THEN flatten(list_transform(r.scopeSpans, lambda s: s.spans))
                ELSE [NULL] END AS spl
    FROM resources
), resource_plain AS (
    SELECT *, list_transform(rv, lambda v: otlp_plain(v)) AS rp FROM resource_lists
), resource_objects AS (
    SELECT line, ri, line_reason, line_record, spl, object_text(rk, rp) AS ro,
           'resource ' || attribute_problem(rk, rv, rp) AS resource_problem
    FROM resource_plain
), resource_values AS (
    SELECT *, json_extract_string(ro, {_paths(RESOURCE_KEYS)}) AS rx FROM resource_objects
), spans AS (
    SELECT line, ri, line_reason, line_record, ro, rx, resource_problem,
           unnest(spl) AS s, generate_subscripts(spl, 1) AS k
    FROM resource_values
), fields AS (
    SELECT *, from_json(s, '{_SPAN_TYPE}') AS f FROM spans
), attribute_lists AS (
    SELECT *, list_transform(f.attributes, lambda a: to_json(a.key)) AS sk,
           list_transform(f.attributes, lambda a: a.value::VARCHAR) AS sv
    FROM fields
), attribute_plain AS (
    SELECT *, list_transform(sv, lambda v: otlp_plain(v)) AS sp FROM attribute_lists
), attribute_objects AS (
    SELECT *, object_text(sk, sp) AS so, attribute_problem(sk, sv, sp) AS attr_problem FROM attribute_plain
), extracted AS (
    SELECT *, json_extract_string(so, {_paths(SPAN_KEYS)}) AS x,
           otlp_id(f.traceId, 16) AS trace_id, otlp_id(f.spanId, 8) AS span_id,
           otlp_id(f.parentSpanId, 8) AS parent_span_id,
           TRY_CAST(f.startTimeUnixNano AS HUGEINT) AS start_ns,
           TRY_CAST(f.endTimeUnixNano AS HUGEINT) AS end_ns,
           coalesce(f.status.code IN ('2', 'STATUS_CODE_ERROR'), false) AS status_error
    FROM attribute_objects
), judged AS (
    SELECT *, coalesce(
        line_reason,
        CASE WHEN NOT starts_with(s, '{{') THEN 'span is not a JSON object' END,
        CASE WHEN NOT valid_id(trace_id) THEN 'missing or malformed traceId' END,
        CASE WHEN NOT valid_id(span_id) THEN 'missing or malformed spanId' END,
        CASE WHEN parent_span_id IS NULL AND coalesce(f.parentSpanId, '') <> ''
             THEN 'malformed parentSpanId' END,
        CASE WHEN start_ns IS NULL OR end_ns IS NULL
             THEN 'missing or unreadable startTimeUnixNano/endTimeUnixNano' END,
        CASE WHEN start_ns NOT BETWEEN {EARLIEST_NS} AND {LATEST_NS} OR end_ns NOT BETWEEN {EARLIEST_NS} AND {LATEST_NS}
             THEN 'absurd timestamp (not between 2000 and 2100)' END,
        CASE WHEN end_ns < start_ns THEN 'absurd timestamp (the span ends before it starts)' END,
        CASE WHEN f.attributes IS NULL AND json_exists(s, '$.attributes')
             AND json_type(s, '$.attributes') NOT IN ('ARRAY', 'NULL') THEN 'attributes is not a list' END,
        attr_problem, resource_problem
    ) AS reason
    FROM extracted
)
SELECT
    line,
    'line ' || line || CASE WHEN s IS NULL THEN ''
        ELSE CASE WHEN ri > 1 THEN ', resource ' || ri ELSE '' END || ', span ' || k END AS location,
    reason,
    coalesce(line_record, s::VARCHAR) AS record,
    trace_id, span_id, parent_span_id,
    f.name AS name,
    CASE
        WHEN lower({_attr("callboard.span.kind")}) IN ('call', 'turn', 'stt', 'llm', 'tool', 'tts', 'other')
            THEN lower({_attr("callboard.span.kind")})
        WHEN {_attr("gen_ai.operation.name")} IN ('chat', 'text_completion', 'generate_content') THEN 'llm'
        WHEN {_attr("gen_ai.operation.name")} = 'execute_tool' THEN 'tool'
        WHEN {_attr("openinference.span.kind")} = 'LLM' THEN 'llm'
        WHEN {_attr("openinference.span.kind")} = 'TOOL' THEN 'tool'
        WHEN lower(f.name) IN ('call', 'turn', 'stt', 'tts') THEN lower(f.name)
        WHEN lower(f.name) = 'speech_to_text' THEN 'stt'
        WHEN lower(f.name) = 'text_to_speech' THEN 'tts'
        ELSE 'other'
    END AS kind,
    TRY_CAST({_attr("callboard.turn.index")} AS INTEGER) AS turn_index,
    CASE WHEN reason IS NULL THEN make_timestamp((start_ns // 1000)::BIGINT) END AS started_at,
    CASE WHEN reason IS NULL THEN make_timestamp((end_ns // 1000)::BIGINT) END AS ended_at,
    CASE WHEN reason IS NULL THEN ((end_ns - start_ns) / 1e6)::DOUBLE END AS duration_ms,
    {_attr("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")} AS provider,
    {_attr("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")} AS model,
    {_attr("gen_ai.operation.name", "openinference.span.kind")} AS operation,
    {_attr("gen_ai.tool.name", "tool.name")} AS tool_name,
    TRY_CAST({_attr("gen_ai.usage.input_tokens", "llm.token_count.prompt")} AS BIGINT) AS input_tokens,
    TRY_CAST({_attr("gen_ai.usage.output_tokens", "llm.token_count.completion")} AS BIGINT) AS output_tokens,
    TRY_CAST({_attr("callboard.cost_usd", "llm.cost.total")} AS DOUBLE) AS span_cost_usd,
    status_error OR {_attr("error.type")} IS NOT NULL AS is_error,
    coalesce({_attr("error.type")}, CASE WHEN status_error THEN pii(f.status.message) END) AS error_type,
    CASE WHEN starts_with({_attr("gen_ai.response.finish_reasons")}, '[')
         THEN array_to_string(TRY_CAST({_attr("gen_ai.response.finish_reasons")}::JSON AS VARCHAR[]), ',')
         ELSE {_attr("gen_ai.response.finish_reasons")} END AS finish_reasons,
    {_attr("input.value", "gen_ai.tool.call.arguments")} AS input_text,
    {_attr("output.value", "gen_ai.tool.call.result")} AS output_text,
    CASE WHEN ro = '{{}}' THEN so
         ELSE so[:-2] || CASE WHEN so = '{{}}' THEN '' ELSE ',' END || '"resource":' || ro || '}}' END AS attributes,
    coalesce({_attr("session.id", "callboard.call.id")}, {_resource("session.id")},
             {_resource("callboard.call.id")}) AS declared_call_id,
    coalesce({_attr("callboard.agent")}, {_resource("callboard.agent")}, {_resource("service.name")}) AS agent,
    CASE WHEN {_attr("callboard.agent")} IS NOT NULL THEN 1
         WHEN {_resource("callboard.agent")} IS NOT NULL THEN 2 ELSE 3 END AS agent_rank,
    coalesce({_attr("callboard.prompt.version")}, {_resource("callboard.prompt.version")}) AS prompt_version,
    {_attr("callboard.call.recording_url")} AS recording_url,
    lower({_attr("callboard.turn.speaker")}) AS speaker,
    coalesce({_attr("callboard.turn.text")}, {_attr("output.value")}) AS turn_text,
    TRY_CAST({_attr("callboard.audio.seconds")} AS DOUBLE) AS audio_seconds,
    TRY_CAST({_attr("callboard.tts.characters")} AS DOUBLE) AS tts_characters
FROM judged
"""


# A span sent twice in one chunk counts once; a trace's call id, when any of its spans in the
# chunk declares one, is known to all of them.
_GOOD_SPANS = """
SELECT * EXCLUDE (location, reason, record),
       min(declared_call_id) OVER (PARTITION BY trace_id) AS trace_call_id
FROM parsed WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY line) = 1
"""


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk's spans that can be loaded, and its records that cannot (with their reasons)."""

    spans: pa.Table
    rejects: pa.Table  # line, location, reason, record
    records: int  # every span and unreadable line, duplicates included


def open_scratch(redactions: tuple[tuple[str, str], ...] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the parsing macros: parsing never touches the warehouse file.

    `redactions` are (regex, mask) pairs applied to every string attribute and status message
    before anything leaves the scratch database. They apply inside JSON strings only, so the
    attributes object stays valid JSON whatever they match."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    masked = "t"
    for pattern, mask in redactions:
        masked = f"regexp_replace({masked}, {_literal(pattern)}, {_literal(mask)}, 'g')"
    con.execute(f"CREATE MACRO pii(t) AS {masked}")
    con.execute(_MACROS)
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_spans(scratch: duckdb.DuckDBPyConnection, chunk: pa.Table) -> ParsedChunk:
    """Flatten `chunk` (columns `line` BIGINT, `doc` VARCHAR: one OTLP/JSON export per row) into
    span rows. Safe to call from several threads, each with its own `scratch.cursor()`."""
    cursor = scratch.cursor()
    try:
        cursor.register("chunk", chunk)
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {_PARSE}")
        rejects = cursor.sql("SELECT line, location, reason, record FROM parsed WHERE reason IS NOT NULL")
        spans = cursor.sql(_GOOD_SPANS)
        records = cursor.execute("SELECT count(*) FROM parsed").fetchall()[0][0]
        return ParsedChunk(spans.to_arrow_table(), rejects.to_arrow_table(), records)
    finally:
        cursor.execute("DROP TABLE IF EXISTS parsed")
        cursor.close()
