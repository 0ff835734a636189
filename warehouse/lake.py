"""The Parquet lake: the fact tables as Hive-partitioned Parquet, so any engine can read them.

    PATH/_callboard_lake.json            manifest: per table, its columns and each partition's fingerprint
    PATH/_schema/<table>.parquet         zero rows, the table's schema (readers need it when a table is empty)
    PATH/calls/day=2026-10-01/*.parquet  (spans, turns alike)
    PATH/outcomes/call_day=2026-10-01/*.parquet  (judgements alike; call_day=__HIVE_DEFAULT_PARTITION__
                                          holds outcomes that match no call yet)

Exports are incremental because a year of spans is too much to rewrite every night: each partition's
fingerprint (row count and the sum of its rows' hashes) is compared with the manifest, and only
partitions whose fingerprint changed are rewritten. A hash rather than `max(updated_at)` because
spans, turns and outcomes carry no update time. See docs/scaling.md.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.errors import CallboardError

MANIFEST = "_callboard_lake.json"
SCHEMA_FOLDER = "_schema"
STAGING_FOLDER = "_staging"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # what DuckDB, Spark and Hive write for a NULL key
FORMAT = 1


class LakeError(CallboardError):
    """The lake folder cannot be read or written as asked; the message says why."""


@dataclass(frozen=True)
class LakeTable:
    """One table of the lake: where its rows come from and which column partitions it."""

    name: str
    partition: str
    source: str  # SQL over the warehouse; the partition column comes last, where Hive readers put it

    @property
    def partition_is_derived(self) -> bool:
        """Whether the partition column exists only in the lake (the warehouse table lacks it)."""
        return self.partition != "day"


def _by_own_day(name: str) -> LakeTable:
    return LakeTable(name, "day", f"SELECT * EXCLUDE (day), day FROM {name}")


def _by_call_day(name: str) -> LakeTable:
    """Outcomes and judgements have no day of their own; they go with their call's day, so a
    day's facts sit together and a late verdict rewrites one small partition."""
    return LakeTable(
        name,
        "call_day",
        f"SELECT t.*, c.day AS call_day FROM {name} t LEFT JOIN calls c ON t.call_id = c.call_id",
    )


LAKE_TABLES = (
    _by_own_day("calls"),
    _by_own_day("spans"),
    _by_own_day("turns"),
    _by_call_day("outcomes"),
    _by_call_day("judgements"),
)


def schema_file(root: Path, table: LakeTable) -> Path:
    return root / SCHEMA_FOLDER / f"{table.name}.parquet"


def partition_name(table: LakeTable, key: str) -> str:
    """A partition's folder name, Hive style: `day=2026-10-01`."""
    return f"{table.partition}={key}"


def read_manifest(root: Path) -> dict:
    """The lake's manifest; a clear error when `root` holds no lake."""
    path = root / MANIFEST
    if not path.is_file():
        raise LakeError(f"{root} holds no Callboard lake (no {MANIFEST}): first run "
                        f"`python -m warehouse export-lake {root}`.")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise LakeError(f"{root} was written by another version of Callboard: export it again to a new folder.")
    return manifest


def has_rows(manifest: dict, table: LakeTable) -> bool:
    """Whether the table has any partition (engines read its schema file when it has none)."""
    return bool(manifest["tables"].get(table.name, {}).get("partitions"))


@dataclass(frozen=True)
class TableExport:
    """What one export did to one table: partition keys written and removed, and how many stayed."""

    written: list[str]
    removed: list[str]
    unchanged: int


def _key_sql(table: LakeTable) -> str:
    """The partition key as the folder name spells it: ISO date, or Hive's NULL marker."""
    return f"coalesce(CAST({table.partition} AS VARCHAR), '{NULL_PARTITION}')"


def _columns(con: duckdb.DuckDBPyConnection, table: LakeTable) -> list[str]:
    """The table's columns as `name TYPE`: when they change, every partition is rewritten."""
    return [f"{name} {kind}" for name, kind, *_ in con.execute(f"DESCRIBE {table.source}").fetchall()]


def _fingerprints(con: duckdb.DuckDBPyConnection, table: LakeTable) -> dict[str, str]:
    """Each partition's row count and sum of row hashes: any changed, added or removed row changes it."""
    fingerprint = "count(*) || ':' || sum(hash(s)::HUGEINT)"
    rows = con.execute(f"SELECT {_key_sql(table)} AS key, {fingerprint} FROM ({table.source}) s GROUP BY key")
    return dict(rows.fetchall())


def sql_string(value: object) -> str:
    """`value` as an SQL string literal (paths go into COPY and read_parquet, which take no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def _replace_folder(new: Path, old: Path, retired: Path) -> None:
    """Swap a rewritten partition in with two renames, so readers miss it for an instant at most
    (the retired copy waits outside the table's folder, where no reader looks)."""
    if old.exists():
        retired.parent.mkdir(parents=True, exist_ok=True)
        old.rename(retired)
    old.parent.mkdir(parents=True, exist_ok=True)
    new.rename(old)


def _export_table(
    con: duckdb.DuckDBPyConnection, root: Path, table: LakeTable, known: dict
) -> tuple[dict, TableExport]:
    """Rewrite the table's changed partitions; returns its new manifest entry and what was done."""
    columns = _columns(con, table)
    previous = known.get("partitions", {}) if known.get("columns") == columns else {}
    if known.get("columns") != columns or not schema_file(root, table).exists():
        schema_file(root, table).parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({table.source} LIMIT 0) TO {sql_string(schema_file(root, table))} (FORMAT parquet)")
    current = _fingerprints(con, table)
    changed = sorted(key for key, print_ in current.items() if previous.get(key) != print_)
    done = TableExport(changed, sorted(previous.keys() - current.keys()), len(current) - len(changed))
    staging = root / STAGING_FOLDER / table.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if changed:
        con.execute(
            f"COPY (SELECT * FROM ({table.source}) s WHERE list_contains(?, {_key_sql(table)}))"
            f" TO {sql_string(staging / 'new')} (FORMAT parquet, PARTITION_BY ({table.partition}))",
            [changed],
        )
    for key in changed:
        name = partition_name(table, key)
        _replace_folder(staging / "new" / name, root / table.name / name, staging / "retired" / name)
    for key in done.removed:
        shutil.rmtree(root / table.name / partition_name(table, key))
    shutil.rmtree(staging, ignore_errors=True)
    return {"partition": table.partition, "columns": columns, "partitions": current}, done


def _write_manifest(root: Path, manifest: dict) -> None:
    temporary = root / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(temporary, root / MANIFEST)


def _start_manifest(root: Path) -> dict:
    """The manifest to update; refuses a folder that holds something other than a lake, so an
    export never deletes files it did not write."""
    if root.exists() and not root.is_dir():
        raise LakeError(f"{root} is a file; give a folder for the lake.")
    if (root / MANIFEST).exists():
        return read_manifest(root)
    if root.exists() and any(root.iterdir()):
        raise LakeError(f"{root} is not empty and holds no Callboard lake; give a new or empty folder.")
    root.mkdir(parents=True, exist_ok=True)
    return {"format": FORMAT, "tables": {}}


def export(root: Path, warehouse: Path | None = None) -> dict[str, TableExport]:
    """Bring the lake at `root` up to date with the warehouse file, rewriting only the partitions
    that changed. Opens the warehouse once per table so ingest and the app wait one table at most."""
    root = root.resolve()
    manifest = _start_manifest(root)
    report = {}
    for table in LAKE_TABLES:
        with db.connect(warehouse) as con:
            entry, report[table.name] = _export_table(con, root, table, manifest["tables"].get(table.name, {}))
        manifest["tables"][table.name] = entry
        _write_manifest(root, manifest)
    shutil.rmtree(root / STAGING_FOLDER, ignore_errors=True)
    return report
