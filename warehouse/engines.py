"""Which engine answers the read side: one setting, the metric definitions stay the same.

    CALLBOARD_ENGINE=duckdb   the DuckDB file (default)
    CALLBOARD_ENGINE=lake     DuckDB in memory over the Parquet lake at CALLBOARD_LAKE
    CALLBOARD_ENGINE=spark    PySpark over the lake at CALLBOARD_LAKE; master CALLBOARD_SPARK_MASTER
                              (default local[2]); other Spark settings come from Spark's own files

Every engine yields the same `Tables`, so `warehouse/metrics.py` and the query functions run
unchanged (FACTS.md: ibis gave identical exact results on DuckDB and PySpark). On the lake engines
the facts come from the lake while the writes people make in the app (reviews) are read from the
DuckDB file and joined in, so a score saved a second ago counts.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
import pyarrow as pa

from warehouse import db, lake
from warehouse.errors import CallboardError
from warehouse.tables import Tables, duckdb_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "lake", "spark")


def _known(engine: str) -> str:
    if engine not in ENGINES:
        raise CallboardError(
            f"'{engine}' is not an engine Callboard knows; CALLBOARD_ENGINE takes {', '.join(ENGINES)}."
        )
    return engine


def configured_engine() -> str:
    """`CALLBOARD_ENGINE`, default duckdb."""
    return _known(os.environ.get("CALLBOARD_ENGINE") or "duckdb")


def lake_root() -> Path:
    """`CALLBOARD_LAKE`: the lake folder the lake and spark engines read."""
    path = os.environ.get("CALLBOARD_LAKE")
    if not path:
        raise CallboardError("The lake and spark engines read a Parquet lake: set CALLBOARD_LAKE to its folder.")
    return Path(path).resolve()


def _reviews_from_file() -> ibis.Table:
    """The reviews saved in the app, read from the DuckDB file in one short visit; reviews are few
    next to the facts, so they travel to the lake's engine as an in-memory table."""
    with db.connect() as con:
        reviews: pa.Table = con.cursor().sql("SELECT * FROM reviews").to_arrow_table()
    return ibis.memtable(reviews)


def _lake_tables(root: Path, read: Callable[[lake.LakeTable, bool], ibis.Table]) -> Tables:
    """The named tables over the lake, given how an engine reads one lake table (whether it has
    rows decides between its partitions and its schema file). Lake-only partition columns are
    dropped, so every engine shows the same columns."""
    manifest = lake.read_manifest(root)
    facts = {}
    for table in lake.LAKE_TABLES:
        facts[table.name] = read(table, lake.has_rows(manifest, table))
        if table.partition_is_derived:
            facts[table.name] = facts[table.name].drop(table.partition)
    return Tables.made(**facts, reviews=_reviews_from_file())


@contextmanager
def _duckdb_lake_tables(root: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, Tables]]:
    """The lake's tables as views of an in-memory DuckDB, with that connection."""
    con = duckdb.connect()
    db.set_session(con)
    backend = ibis.duckdb.from_connection(con)

    def read(table: lake.LakeTable, has_rows: bool) -> ibis.Table:
        if has_rows:
            files = lake.sql_string(root / table.name / "*" / "*.parquet")
            source = f"read_parquet({files}, hive_partitioning = true, hive_types = {{'{table.partition}': 'DATE'}})"
        else:
            source = f"read_parquet({lake.sql_string(lake.schema_file(root, table))})"
        con.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")
        return backend.table(table.name)

    try:
        yield con, _lake_tables(root, read)
    finally:
        con.close()


@functools.cache
def spark_session() -> SparkSession:
    """The process's one Spark session (starting the JVM takes ~11 s), with its clock in UTC like
    the warehouse's timestamps. On a local master, shuffles use one partition per core rather
    than Spark's 200, which halves the time of a small query there; a cluster keeps its own
    settings (spark-defaults.conf)."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise CallboardError("CALLBOARD_ENGINE=spark needs PySpark, which `make run` leaves out: install it with "
                             "`.venv/bin/pip install -e '.[spark]'` (`make test` installs it).") from None

    session = (
        SparkSession.builder.master(os.environ.get("CALLBOARD_SPARK_MASTER") or "local[2]")
        .appName("callboard")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    if (session.sparkContext.master or "").startswith("local"):
        session.conf.set("spark.sql.shuffle.partitions", str(session.sparkContext.defaultParallelism))
    return session


def stop_spark() -> None:
    """Stop the process's Spark session and forget its views, to give the JVM's memory back."""
    if spark_session.cache_info().currsize:
        spark_session().stop()
    for cached in (spark_session, _spark_backend, _spark_view):
        cached.cache_clear()


@functools.cache
def _spark_backend() -> ibis.BaseBackend:
    return ibis.pyspark.connect(spark_session())


@functools.lru_cache(maxsize=64)
def _spark_view(root: Path, stamp: tuple[int, int], table: lake.LakeTable, has_rows: bool) -> str:
    """A temporary view over one lake table as of one export (`stamp`: the manifest's inode and
    mtime, which every export replaces), made once: listing the partitions and reading the schema
    takes Spark seconds, too slow for every page render. A new export gets new view names, so
    readings in flight keep theirs."""
    session = spark_session()
    schema_file = str(lake.schema_file(root, table))
    schema = session.read.parquet(schema_file).schema
    frame = session.read.schema(schema).parquet(str(root / table.name) if has_rows else schema_file)
    name = f"callboard_{abs(hash((root, stamp))):x}_{table.name}"
    frame.createOrReplaceTempView(name)
    return name


@contextmanager
def _spark_lake_tables(root: Path) -> Iterator[Tables]:
    manifest = root / lake.MANIFEST
    stamp = (manifest.stat().st_ino, manifest.stat().st_mtime_ns) if manifest.exists() else (0, 0)
    backend = _spark_backend()
    yield _lake_tables(root, lambda table, has_rows: backend.table(_spark_view(root, stamp, table, has_rows)))


def data_version() -> tuple[int, ...]:
    """Changes whenever what the pages read may have changed: a write to the warehouse file (the
    app's own tables are read from it on every engine) and, on the lake engines, a new lake manifest."""
    stamp = db.write_stamp()
    if configured_engine() == "duckdb":
        return stamp
    manifest = lake_root() / lake.MANIFEST
    found = manifest.stat() if manifest.exists() else None
    return (*stamp, found.st_ino, found.st_mtime_ns) if found else (*stamp, 0, 0)


@dataclass(frozen=True)
class Source:
    """One unit of reading on an engine: where it reads (`place`: the warehouse file or the lake
    folder), its named tables (the file's are made on first use, `Tables`: a read whose SQL is
    compiled already reads no schema), and on the DuckDB engines the connection they are read
    through, on which SQL compiled from them runs (`warehouse/prepared.py`); None on Spark."""

    engine: str
    place: Path
    con: duckdb.DuckDBPyConnection | None
    tables: Tables


@contextmanager
def source(engine: str | None = None) -> Iterator[Source]:
    """`engine` (default: `CALLBOARD_ENGINE`) for one unit of reading."""
    engine = _known(engine) if engine else configured_engine()
    if engine == "duckdb":
        with db.connect() as con:
            yield Source(engine, db.warehouse_path(), con, duckdb_tables(con))
        return
    root = lake_root()
    if engine == "lake":
        with _duckdb_lake_tables(root) as (con, tables):
            yield Source(engine, root, con, tables)
        return
    with _spark_lake_tables(root) as tables:
        yield Source(engine, root, None, tables)


@contextmanager
def warehouse_file(opened: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse file, for the app's own tables a read needs beside the facts (the taxonomy,
    the review sessions): the source's own connection when it reads the file, which spares opening
    it again (~17 ms of CPU: `duckdb.connect` builds a database instance), else the file opened."""
    if opened.engine == "duckdb":
        assert opened.con is not None
        yield opened.con
        return
    with db.connect() as con:
        yield con


@contextmanager
def tables_for(engine: str | None = None) -> Iterator[Tables]:
    """The named tables on `engine` (default: `CALLBOARD_ENGINE`), for one unit of reading."""
    with source(engine) as opened:
        yield opened.tables
