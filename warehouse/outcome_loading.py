"""Write business outcomes: one row per record (the export's own id, else its call or trace),
keyed by `outcome_id` (a hash of source and record), linked to calls.

Several rows of one export for one record are combined, never dropped: any booking (or
resolution, or escalation) counts, the highest survey answer and deal value are kept, and the
stage, link and unmapped columns are the latest row's (by `recorded_at`, then file order).

An export is merged piece by piece (ingest/pieces.py: every row of a record in one piece), each
in its own short transaction, so the grouping's memory is a piece's, not the file's. This is the
table's one writer, and it keeps `outcome_id` unique itself (a changed record's row is deleted and
inserted again in the caller's transaction): the table has no key index, which DuckDB would hold
in memory, unspillable, for every row (migration 0007).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.db import hold_memory, set_session

# The latest row of a record: by recorded_at (a row without one is the oldest), then file order.
# A plain arg_max, not an ordered aggregate, so a large export's grouping can spill to disk.
_NEWEST = "(coalesce(recorded_at, '-infinity'::TIMESTAMP), row_number)"

# Incoming records with their call: by call id, or by any trace of a call. `n_rows` is how many
# rows of the file each record combines, so the run's counts are in rows.
_STAGE = f"""
CREATE OR REPLACE TEMP TABLE incoming AS
WITH records AS (
    SELECT record_key, count(*) AS n_rows,
           arg_max(external_key, {_NEWEST}) AS external_key,
           arg_max(record_id, {_NEWEST}) AS record_id,
           max(recorded_at) AS recorded_at, max(booked) AS booked, max(deal_value_usd) AS deal_value_usd,
           max(nps) AS nps, max(csat) AS csat, max(resolved) AS resolved, max(escalated) AS escalated,
           arg_max(stage, {_NEWEST}) FILTER (WHERE stage IS NOT NULL) AS stage,
           arg_max(extra, {_NEWEST}) AS extra
    FROM read_parquet($rows) GROUP BY record_key
), by_trace AS (
    SELECT DISTINCT trace_id, call_id FROM spans
    WHERE trace_id IN (SELECT lower(external_key) FROM records) AND $join_on = 'trace_id'
)
SELECT md5($source || '|' || r.record_key) AS outcome_id,
       CASE WHEN $join_on = 'call_id' THEN c.call_id ELSE t.call_id END AS call_id,
       CASE WHEN $join_on = 'trace_id' THEN lower(r.external_key) END AS trace_id,
       r.external_key, $source AS source, r.recorded_at, r.booked, r.deal_value_usd, r.nps, r.csat,
       r.resolved, r.escalated, r.extra::JSON AS extra, $source_file AS source_file, r.record_id, r.stage,
       r.n_rows
FROM records r
LEFT JOIN calls c ON c.call_id = r.external_key AND $join_on = 'call_id'
LEFT JOIN by_trace t ON t.trace_id = lower(r.external_key)
"""

# What each record is to the warehouse: new, changed or unchanged (the file it came from aside,
# so the same content under another name is unchanged).
_STATUS = """
CREATE OR REPLACE TEMP TABLE statuses AS
SELECT i.outcome_id, i.n_rows,
       CASE WHEN o.outcome_id IS NULL THEN 'new'
            WHEN (i.call_id, i.external_key, i.recorded_at, i.booked, i.deal_value_usd, i.nps, i.csat, i.resolved,
                  i.escalated, i.extra::VARCHAR, i.record_id, i.stage)
                 IS DISTINCT FROM
                 (o.call_id, o.external_key, o.recorded_at, o.booked, o.deal_value_usd, o.nps, o.csat, o.resolved,
                  o.escalated, o.extra::VARCHAR, o.record_id, o.stage) THEN 'changed'
            ELSE 'unchanged' END AS status
FROM incoming i LEFT JOIN outcomes o USING (outcome_id)
"""

# The run's unmatched keys are counted within this much (DuckDB spills the rest): at 512 MB,
# counting 9.9M keys took 480 MB, more than the whole load of a piece.
COUNT_MEMORY = "128MB"
UNMATCHED_SHOWN = 10  # keys of records matching no call, in the run's report

_COLUMNS = ("outcome_id, call_id, trace_id, external_key, source, recorded_at, booked, deal_value_usd, nps, csat, "
            "resolved, escalated, extra, source_file, record_id, stage")


@dataclass(frozen=True)
class OutcomeLoad:
    read: int  # rows of the piece
    loaded: int  # rows of records new to the warehouse
    updated: int  # rows of records that replaced a different stored one
    unchanged: int  # rows of records stored already as they are


def load_outcomes(
    con: duckdb.DuckDBPyConnection, rows: str, *, source: str, join_on: str, source_file: str, unmatched: Path
) -> OutcomeLoad:
    """Upsert one piece of an export inside the caller's transaction: `rows` is the glob of its
    Parquet files (our columns, `record_key`, `external_key`, `row_number`, `extra` as JSON text),
    which hold every row of their records, so combining the piece's rows is combining the file's.
    Records matching no call are kept with call_id NULL, and their keys written to `unmatched`."""
    hold_memory(con)  # a piece of an export is grouped and merged within db.LOAD_MEMORY
    con.execute("SET preserve_insertion_order = false")  # the rows' order is in row_number; keeping it costs memory
    con.execute(_STAGE, {"rows": rows, "source": source, "join_on": join_on, "source_file": source_file})
    con.execute(_STATUS)
    counts = dict(con.execute("SELECT status, sum(n_rows) FROM statuses GROUP BY status").fetchall())
    con.execute("DELETE FROM outcomes WHERE outcome_id IN (SELECT outcome_id FROM statuses WHERE status = 'changed')")
    con.execute(f"INSERT INTO outcomes ({_COLUMNS}) SELECT {_COLUMNS} FROM incoming "
                "SEMI JOIN (SELECT outcome_id FROM statuses WHERE status <> 'unchanged') USING (outcome_id)")
    con.execute(f"COPY (SELECT DISTINCT external_key FROM incoming WHERE call_id IS NULL) TO '{_quoted(unmatched)}' "
                "(FORMAT parquet)")
    loaded, updated, unchanged = (int(counts.get(s, 0)) for s in ("new", "changed", "unchanged"))
    return OutcomeLoad(loaded + updated + unchanged, loaded, updated, unchanged)


def unmatched_keys(files: list[Path]) -> tuple[int, list[str]]:
    """How many distinct keys the `unmatched` files of a run's pieces hold (a key may be in
    several: records of one call can land in different pieces), and the first few to show.
    Counted in a scratch database, not the warehouse: a 10M-row export may match nothing."""
    if not files:
        return 0, []
    with duckdb.connect() as con:
        set_session(con)
        hold_memory(con, COUNT_MEMORY)
        con.execute(f"SET temp_directory = '{_quoted(files[0].parent / 'spill')}'")  # beside the files, not in .tmp
        names = [str(f) for f in files]
        (count,) = con.execute("SELECT count(DISTINCT external_key) FROM read_parquet($files)",
                               {"files": names}).fetchall()[0]
        shown = con.execute("SELECT DISTINCT external_key FROM read_parquet($files) ORDER BY 1 LIMIT $n",
                            {"files": names, "n": UNMATCHED_SHOWN}).fetchall()
    return int(count), [key for (key,) in shown]


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
