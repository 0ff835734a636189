"""The same metric definitions on the DuckDB file, DuckDB over the exported lake, and PySpark
local[2] over the lake: equal figures (exact percentiles, equal but for the interpolation's last
bit; floating sums within 1e-9), and an export that rewrites only what changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests import cli, independent
from tests.test_metrics import CASES, assert_same
from warehouse import calibration_queries, engines, explorer, judgements, lake, queries
from warehouse.__main__ import main
from warehouse.db import transaction
from warehouse.drift import queries as drift
from warehouse.drift.measures import SUMMARY_LEVELS
from warehouse.filters import Filters
from warehouse.metric_registry import METRICS
from warehouse.tables import TABLE_NAMES

ENGINES = ("duckdb", "lake", "spark")
SPARK_SETTINGS = Path(__file__).parent / "spark"
# Summed in whatever order the engine likes (a cost, and the spreads the noise tests read):
# equal within 1e-9 relative.
FLOATING_SUMS = ("cost_per_call_usd", "talk_ratio", *(m.spread_key for m in METRICS if m.spread_key))
# Exact percentiles: the same two order statistics, interpolated linearly; DuckDB computes
# lo + (hi - lo) * w and Spark (1 - w) * lo + w * hi, so they may differ in the last bit. An
# approximate percentile returns a stored value instead, and misses by far more than 1e-12.
PERCENTILES = ("latency_p50_ms", "latency_p90_ms", "latency_p95_ms")
CLI_CASES = [f for f in CASES if not (f.prompt_versions or f.models)]  # the CLI filters by agent only
OTHER_CASES = [f for f in CASES if f not in CLI_CASES]


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    """One Spark JVM for the module (it takes ~11 s to start), stopped afterwards; started with the
    tests' JVM settings (tests/spark/spark-defaults.conf)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_CONF_DIR", str(SPARK_SETTINGS))
        engines.spark_session().sparkContext.setLogLevel("ERROR")
    yield
    engines.stop_spark()


def export_with_extras(warehouse: Path, folder: Path) -> None:
    """Add an outcome that matches no call and a review saved in the app to the synthetic
    warehouse, and export it. It has no spans, so an empty table is read too."""
    with transaction(warehouse) as con:
        con.execute("INSERT INTO outcomes (outcome_id, external_key, source, booked) VALUES ('lost', 'x', 'crm', true)")
        con.execute("INSERT INTO reviews (review_id, call_id, reviewer, score, created_at)"
                    " VALUES ('r1', 'call-00001', 'ana', 4, TIMESTAMP '2026-10-01 10:00:00')")
    lake.export(folder)


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory: pytest.TempPathFactory, synthetic_template: Path) -> Iterator[Path]:
    """One synthetic warehouse and its lake for the tests that only read (Spark lists a lake's
    partitions once per export, so sharing it saves seconds); yields the warehouse file."""
    folder = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CALLBOARD_DB", str(folder / "callboard.duckdb"))
        env.setenv("CALLBOARD_LAKE", str(folder / "lake"))
        shutil.copyfile(synthetic_template, folder / "callboard.duckdb")
        export_with_extras(folder / "callboard.duckdb", folder / "lake")
        yield folder / "callboard.duckdb"


@pytest.fixture
def lake_folder(synthetic_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lake of its own, for tests that change the warehouse."""
    folder = tmp_path / "lake"
    export_with_extras(synthetic_warehouse, folder)
    monkeypatch.setenv("CALLBOARD_LAKE", str(folder))
    return folder


def on_each_engine(monkeypatch: pytest.MonkeyPatch, compute: Callable[[], object]) -> dict[str, object]:
    results = {}
    for engine in ENGINES:
        monkeypatch.setenv("CALLBOARD_ENGINE", engine)
        results[engine] = compute()
    return results


def metrics_cli(capsys: pytest.CaptureFixture, f: Filters) -> dict:
    """The full `python -m warehouse metrics --json` output, run in this process (one Spark JVM)."""
    argv = ["metrics", "--start", str(f.start), "--end", str(f.end), "--json"]
    for agent in f.agents:
        argv += ["--agent", agent]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_frame(theirs: pl.DataFrame, ours: pl.DataFrame) -> None:
    """Equal frames: exact but for percentiles' last bit and floating sums' rounding."""
    exact = [c for c in ours.columns if c not in FLOATING_SUMS + PERCENTILES]
    assert_frame_equal(theirs.select(exact), ours.select(exact), check_exact=True)
    for columns, tolerance in ((PERCENTILES, 1e-12), (FLOATING_SUMS, 1e-9)):
        present = [c for c in columns if c in ours.columns]
        assert_frame_equal(theirs.select(present), ours.select(present), check_exact=False, rel_tol=tolerance)


def ids(f: Filters) -> str:
    return f"{f.start}..{f.end} {f.agents} {f.prompt_versions} {f.models}"


@pytest.mark.parametrize("filters", CLI_CASES, ids=ids)
def test_metrics_cli_gives_the_same_figures_on_every_engine(
    spark: None, shared_lake: Path, filters: Filters, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    results = on_each_engine(monkeypatch, lambda: metrics_cli(capsys, filters))
    assert_same(results["duckdb"], independent.owned_metrics(shared_lake, filters))
    for engine in ("lake", "spark"):
        assert_same_frame(pl.DataFrame([results["duckdb"]]), pl.DataFrame([results[engine]]))


@pytest.mark.parametrize("filters", OTHER_CASES, ids=ids)
def test_every_filter_gives_the_same_figures_on_every_engine(
    spark: None, shared_lake: Path, filters: Filters, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = on_each_engine(monkeypatch, lambda: queries.period_metrics(filters))
    for engine in ("lake", "spark"):
        assert_same_frame(pl.DataFrame([results["duckdb"]]), pl.DataFrame([results[engine]]))


def test_overview_frames_are_equal_on_every_engine(
    spark: None, shared_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = on_each_engine(monkeypatch, lambda: queries.overview(Filters(date(2026, 9, 20), date(2026, 10, 19))))
    assert results["duckdb"].by_day.height == 30
    for engine in ("lake", "spark"):
        assert_same_frame(results["duckdb"].by_period, results[engine].by_period)
        assert_same_frame(results["duckdb"].by_day, results[engine].by_day)


def test_every_engine_shows_the_same_tables_with_the_same_rows(
    spark: None, shared_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shape() -> dict[str, tuple[list[str], int]]:
        with engines.tables_for() as t:
            return {name: (sorted(getattr(t, name).columns), getattr(t, name).count().execute())
                    for name in TABLE_NAMES}

    results = on_each_engine(monkeypatch, shape)
    assert results["duckdb"]["outcomes"][1] > 0 and results["duckdb"]["spans"][1] == 0
    assert results["duckdb"]["reviews"][1] == 1
    assert results["lake"] == results["duckdb"]
    assert results["spark"] == results["duckdb"]


def test_reviews_saved_after_the_export_count_on_the_lake_engines(
    spark: None, lake_folder: Path, synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(synthetic_warehouse) as con:
        con.execute("INSERT INTO reviews (review_id, call_id, reviewer, score, created_at)"
                    " VALUES ('r2', 'call-00002', 'ben', 2, TIMESTAMP '2026-10-02 10:00:00')")

    def reviewed_calls() -> list[str]:
        with engines.tables_for() as t:
            joined = t.reviews.inner_join(t.calls, "call_id")
            return sorted(joined.call_id.execute())

    assert on_each_engine(monkeypatch, reviewed_calls) == {e: ["call-00001", "call-00002"] for e in ENGINES}


def test_the_judges_page_reads_judgements_on_the_configured_engine(
    lake_folder: Path, synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A judgement written after the export is in the file, not yet in the lake: on the lake engine
    the Judges page's summary leaves it out, exactly as the Overview's figures do."""
    with transaction(synthetic_warehouse) as con:
        con.execute("INSERT INTO judgements (judgement_id, call_id, judge_name, judge_version, provider, status,"
                    " score, created_at) VALUES ('late', 'call-00003', 'rules', 'late-v1', 'rules', 'ok', 5, now())")

    def versions() -> tuple[set[str], set[str]]:
        with engines.tables_for() as t:
            in_tables = set(t.judgements.judge_version.execute())
        return set(judgements.judge_runs_summary()["judge_version"]), in_tables

    for engine, late_shown in (("duckdb", True), ("lake", False)):
        monkeypatch.setenv("CALLBOARD_ENGINE", engine)
        summary, in_tables = versions()
        assert summary == in_tables
        assert ("late-v1" in summary) is late_shown
        assert set(judgements.judge_run_history()["judge_version"]) == in_tables


def files_on_disk(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of the lake with its inode and modification time: a rewrite changes them."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*.parquet")}


def written(report: dict[str, lake.TableExport]) -> dict[str, list[str]]:
    return {table: done.written for table, done in report.items() if done.written}


def test_a_second_export_with_no_change_rewrites_nothing(lake_folder: Path) -> None:
    before = files_on_disk(lake_folder)
    report = lake.export(lake_folder)
    assert written(report) == {}
    assert report["calls"].unchanged == 60
    assert files_on_disk(lake_folder) == before


def test_calls_on_a_new_day_write_only_that_day(lake_folder: Path, synthetic_warehouse: Path) -> None:
    before = files_on_disk(lake_folder)
    with transaction(synthetic_warehouse) as con:
        con.execute("""INSERT INTO calls SELECT * REPLACE ('new-' || call_id AS call_id, DATE '2026-11-02' AS day)
                       FROM calls WHERE day = DATE '2026-09-01'""")
        con.execute("""INSERT INTO turns SELECT * REPLACE ('new-' || call_id AS call_id, DATE '2026-11-02' AS day)
                       FROM turns WHERE day = DATE '2026-09-01'""")
    report = lake.export(lake_folder)
    assert written(report) == {"calls": ["2026-11-02"], "turns": ["2026-11-02"]}
    after = files_on_disk(lake_folder)
    assert {name: after[name] for name in before} == before
    assert {name for name in after if name not in before} == {
        f"{table}/day=2026-11-02/data_0.parquet" for table in ("calls", "turns")}


def test_a_late_update_rewrites_its_day_and_every_engine_shows_it(
    spark: None, lake_folder: Path, synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cost() -> list[float]:
        with engines.tables_for() as t:
            return t.calls.filter(t.calls.call_id == "call-00007").cost_usd.execute().tolist()

    assert on_each_engine(monkeypatch, cost)["spark"] != [99]  # Spark has now listed the lake once
    with transaction(synthetic_warehouse) as con:
        day = con.execute("SELECT day FROM calls WHERE call_id = 'call-00007'").fetchone()[0]
        con.execute("UPDATE calls SET cost_usd = 99, updated_at = ? WHERE call_id = 'call-00007'",
                    [datetime(2026, 11, 20)])
        con.execute("INSERT INTO judgements (judgement_id, call_id, judge_name, judge_version, provider, status,"
                    " score, created_at) VALUES ('late', 'call-00007', 'rules', 'b', 'rules', 'ok', 5, now())")
    report = lake.export(lake_folder)
    assert written(report) == {"calls": [str(day)], "judgements": [str(day)]}
    assert on_each_engine(monkeypatch, cost) == {engine: [99] for engine in ENGINES}


def test_a_day_that_is_gone_from_the_warehouse_is_removed_from_the_lake(
    lake_folder: Path, synthetic_warehouse: Path
) -> None:
    with transaction(synthetic_warehouse) as con:
        con.execute("DELETE FROM turns WHERE day = DATE '2026-09-03'")
    report = lake.export(lake_folder)
    assert report["turns"].removed == ["2026-09-03"] and written(report) == {}
    assert not (lake_folder / "turns" / "day=2026-09-03").exists()
    assert (lake_folder / "calls" / "day=2026-09-03").exists()


def test_a_new_column_rewrites_every_partition_of_its_table(lake_folder: Path, synthetic_warehouse: Path) -> None:
    with transaction(synthetic_warehouse) as con:
        con.execute("ALTER TABLE turns ADD COLUMN sentiment VARCHAR")
    report = lake.export(lake_folder)
    assert written(report).keys() == {"turns"} and len(report["turns"].written) == 60
    assert "sentiment VARCHAR" in lake.read_manifest(lake_folder)["tables"]["turns"]["columns"]


def test_outcomes_and_judgements_sit_with_their_calls_day(lake_folder: Path) -> None:
    outcomes = lake_folder / "outcomes"
    assert (outcomes / "call_day=2026-09-01").is_dir() and (lake_folder / "judgements" / "call_day=2026-09-01").is_dir()
    assert (outcomes / f"call_day={lake.NULL_PARTITION}").is_dir()  # the outcome that matches no call


def test_export_refuses_a_folder_it_did_not_write(
    synthetic_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    done = cli.run(main, ["export-lake", str(folder)], capsys)
    assert done.returncode == 2 and "not empty" in done.stderr
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]


def test_cli_exports_and_reads_the_lake_by_one_setting(
    synthetic_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "lake"
    exported = cli.run(main, ["export-lake", str(folder)], capsys)
    assert exported.returncode == 0
    assert "calls: 60 partitions written, 0 removed, 0 unchanged" in exported.stdout
    argv = ["metrics", "--start", "2026-09-01", "--end", "2026-09-30", "--json"]
    on_file = cli.run(main, argv, capsys)
    monkeypatch.setenv("CALLBOARD_ENGINE", "lake")
    monkeypatch.setenv("CALLBOARD_LAKE", str(folder))
    on_lake = cli.run(main, argv, capsys)
    assert on_lake.returncode == on_file.returncode == 0
    assert json.loads(on_lake.stdout)["calls"] == json.loads(on_file.stdout)["calls"] > 0


@pytest.mark.parametrize(("setting", "message"), [
    ({"CALLBOARD_ENGINE": "snowflake"}, "'snowflake' is not an engine"),
    ({"CALLBOARD_ENGINE": "lake"}, "set CALLBOARD_LAKE"),
    ({"CALLBOARD_ENGINE": "lake", "CALLBOARD_LAKE": "/nowhere"}, "holds no Callboard lake"),
])
def test_a_wrong_engine_setting_is_one_readable_line(
    synthetic_warehouse: Path, setting: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("CALLBOARD_LAKE", raising=False)
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    done = cli.run(main, ["metrics", "--start", "2026-09-01", "--end", "2026-09-30"], capsys)
    assert done.returncode == 2 and message in done.stderr


def test_drift_summaries_are_equal_on_every_engine(
    spark: None, shared_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drift flags' summaries (per day and week: counts, sums, variances, exact percentiles),
    the change markers and the wait's stages per week come out the same on every engine, so the
    flags and the trends made from them do too."""
    end = date(2026, 10, 19)

    def summaries() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        s = drift.drift_summaries(Filters(end, end), "agent", end, 105, 84)
        quantiles = s.quantiles.with_columns(level=pl.lit(list(SUMMARY_LEVELS))).explode("q", "level")
        key = ["measure", "group", "back"]
        return (s.moments.sort(key), quantiles.sort([*key, "unit", "level"]),
                drift.change_markers().sort("day", "agent", "kind"),
                drift.wait_stages_by_week(Filters(date(2026, 9, 10), end)))

    results = on_each_engine(monkeypatch, summaries)
    moments, quantiles, markers, stages = results["duckdb"]
    assert stages.height == 6 and stages["replies"].min() > 0  # 40 days: six weeks to 19 Oct
    assert moments["measure"].unique().sort().to_list() == ["cost", "interruptions", "tokens"]
    assert set(quantiles["unit"]) == {"day", "week"} and quantiles.height > 0
    for engine in ("lake", "spark"):
        theirs = results[engine]
        assert_frame_equal(theirs[0].drop("total", "var"), moments.drop("total", "var"), check_dtypes=False)
        assert_frame_equal(theirs[0].select("total", "var"), moments.select("total", "var"), check_exact=False,
                           rel_tol=1e-9)
        assert_frame_equal(theirs[1].drop("q"), quantiles.drop("q"), check_dtypes=False)
        assert_frame_equal(theirs[1].select("q"), quantiles.select("q"), check_exact=False, rel_tol=1e-12)
        assert_frame_equal(theirs[2], markers, check_dtypes=False)
        assert_frame_equal(theirs[3], stages, check_dtypes=False, check_exact=False, rel_tol=1e-12)


def test_failure_mode_and_calibration_reads_are_equal_on_every_engine(
    spark: None, shared_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure-mode explorer's calls and the judge calibration read the reviews with the
    facts: from the file's table on DuckDB, in memory on the lake engines (warehouse/prepared.py
    runs those through ibis); the same rows everywhere, for a period and for a picked agent."""
    periods = [Filters(date(2026, 1, 1), date(2026, 12, 31)),
               Filters(date(2026, 9, 1), date(2026, 10, 30), agents=("salon-booker",))]

    def reads() -> list[pl.DataFrame]:
        version = calibration_queries.versions_to_calibrate()
        found = [version]
        for f in periods:
            pairs = calibration_queries.labelled_pairs(version["judge_version"][0])
            in_scope = calibration_queries.judged_in_scope(f, version["judge_version"][0])
            found += [explorer.call_frame(f).sort("call_id"), pairs.sort("call_id"), in_scope.sort("call_id")]
        return found

    results = on_each_engine(monkeypatch, reads)
    ours = results["duckdb"]
    assert ours[0]["calls_judged"].sum() > 0 and ours[1]["reviewed"].sum() == 1
    assert 0 < ours[4].height < ours[1].height and 0 < ours[6].height < ours[3].height
    for engine in ("lake", "spark"):
        for theirs, mine in zip(results[engine], ours, strict=True):
            # Known, and older than prepared reads: Spark reads a missing text (notes, session) of the
            # in-memory reviews as "NaN" (pandas' conversion); every other column is equal.
            unequal = [c for c in ("notes", "review_session", "session_id") if engine == "spark" and c in mine.columns]
            assert_frame_equal(theirs.drop(unequal), mine.drop(unequal), check_dtypes=False, check_exact=False,
                               rel_tol=1e-9)
