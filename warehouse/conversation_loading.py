"""Each call's conversation columns (`metrics.CONVERSATION_COLUMNS`), written by ingest in the same
transaction as the call's turns: the figures of `metrics.call_conversation`, the one definition,
compiled to DuckDB SQL over the table that holds the turns being written. The span loader and the
call-log loader join it into the calls they write; `store_conversation` recomputes calls already
stored (a warehouse written straight into its tables, as the benchmarks and test fixtures do)."""

from __future__ import annotations

from functools import cache

import duckdb
import ibis

from warehouse import metrics

# What `metrics.call_conversation` reads of a turn; the table it is compiled over may hold more.
_TURN_COLUMNS = {"call_id": "string", "turn_index": "int32", "speaker": "string", "started_at": "timestamp",
                 "ended_at": "timestamp", "response_latency_ms": "int32"}


@cache
def conversation_sql(turns_table: str) -> str:
    """`metrics.call_conversation` as DuckDB SQL over the table (or temp table) `turns_table`:
    one row per call, `call_id` and `metrics.CONVERSATION_COLUMNS`."""
    turns = ibis.table(_TURN_COLUMNS, name=turns_table)
    return str(ibis.to_sql(metrics.call_conversation(turns), dialect="duckdb"))


def store_conversation(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every call's conversation columns from the turns stored (calls without turns get NULL)."""
    columns = metrics.CONVERSATION_COLUMNS
    con.execute(f"UPDATE calls SET {', '.join(f'{c} = NULL' for c in columns)}")
    con.execute(f"UPDATE calls SET {', '.join(f'{c} = v.{c}' for c in columns)} "
                f"FROM ({conversation_sql('turns')}) v WHERE calls.call_id = v.call_id")
