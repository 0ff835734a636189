"""Write prompt versions: one row per (agent, version), replaced when the file changes."""

from __future__ import annotations

import duckdb
import pyarrow as pa

_COUNT = """
SELECT count(*) FILTER (WHERE p.agent IS NULL),
       count(*) FILTER (WHERE p.agent IS NOT NULL AND (i.prompt_text, i.reason, i.author, i.deployed_at)
                        IS DISTINCT FROM (p.prompt_text, p.reason, p.author, p.deployed_at))
FROM prompts_arrow i LEFT JOIN prompt_versions p USING (agent, version)
"""


def upsert_prompts(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> tuple[int, int]:
    """Insert or replace `rows` (agent, version, prompt_text, reason, author, deployed_at);
    returns (new, changed) counts."""
    con.register("prompts_arrow", rows)
    new, changed = con.execute(_COUNT).fetchall()[0]
    con.execute("INSERT OR REPLACE INTO prompt_versions "
                "SELECT agent, version, prompt_text, reason, author, deployed_at FROM prompts_arrow")
    con.unregister("prompts_arrow")
    return int(new), int(changed)
