"""The demo warehouse: built through the real pipeline, its metrics match an independent
computation, and the patterns the generator planted are visible through the metric definitions."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from data import demo
from data.scenario import DEMO_END_DAY
from tests import independent
from tests.conftest import DEMO_CALLS
from tests.test_metrics import assert_same
from warehouse import queries
from warehouse.filters import Filters
from warehouse.ingest_runs import recent_runs
from warehouse.metric_registry import KEYS as METRIC_KEYS

FIRST_DAY = DEMO_END_DAY - timedelta(days=89)
WHOLE = Filters(FIRST_DAY, DEMO_END_DAY)


def scalar(db: Path, sql: str) -> object:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_the_demo_is_built_by_the_real_ingest_and_judge(demo_warehouse: Path) -> None:
    assert scalar(demo_warehouse, "SELECT count(*) FROM calls") == DEMO_CALLS
    assert scalar(demo_warehouse, "SELECT count(DISTINCT agent) FROM calls") == 3
    kinds = scalar(demo_warehouse, "SELECT list(DISTINCT kind ORDER BY kind) FROM ingest_runs")
    assert kinds == ["outcomes", "prompts", "traces"]
    assert scalar(demo_warehouse, "SELECT count(DISTINCT call_id) FROM judgements WHERE status = 'ok'") == DEMO_CALLS
    assert scalar(demo_warehouse, "SELECT count(*) FROM prompt_versions WHERE reason IS NULL OR reason = ''") == 0
    assert scalar(demo_warehouse, "SELECT count(*) FROM outcomes WHERE call_id IS NULL") > 0  # orphans kept


def test_every_owned_metric_on_the_demo_matches_an_independent_computation(demo_warehouse: Path) -> None:
    for f in (WHOLE, Filters(DEMO_END_DAY - timedelta(days=27), DEMO_END_DAY, agents=("salon-booker",))):
        ours = queries.period_metrics(f)
        assert_same(ours, independent.owned_metrics(demo_warehouse, f))
        assert all(ours[key] is not None for key in METRIC_KEYS)


def test_the_clinic_prompt_change_lifts_conversion(demo_warehouse: Path) -> None:
    clinic = ("clinic-scheduler",)
    before = queries.period_metrics(Filters(FIRST_DAY, DEMO_END_DAY, agents=clinic, prompt_versions=("v1",)))
    after = queries.period_metrics(Filters(FIRST_DAY, DEMO_END_DAY, agents=clinic, prompt_versions=("v2",)))
    assert after["conversion_rate"] - before["conversion_rate"] > 0.07


def test_the_salon_model_switch_cuts_cost_and_raises_p95(demo_warehouse: Path) -> None:
    salon = ("salon-booker",)
    switch = date(2026, 10, 28)
    old = queries.period_metrics(Filters(switch - timedelta(days=21), switch - timedelta(days=1), agents=salon))
    new = queries.period_metrics(Filters(switch, switch + timedelta(days=3), agents=salon, models=("gpt-4.1-mini",)))
    assert new["cost_per_call_usd"] < 0.6 * old["cost_per_call_usd"]
    assert new["latency_p95_ms"] > 1.1 * old["latency_p95_ms"]


def test_the_one_week_regression_shows_in_p95_and_then_recovers(demo_warehouse: Path) -> None:
    week = Filters(date(2026, 11, 2), date(2026, 11, 8), agents=("clinic-scheduler", "estate-qualifier"))
    during = queries.period_metrics(week)["latency_p95_ms"]
    before = queries.period_metrics(week.previous())["latency_p95_ms"]
    after = queries.period_metrics(Filters(date(2026, 11, 9), date(2026, 11, 15), agents=week.agents))["latency_p95_ms"]
    assert during > 1.15 * before and during > 1.15 * after
    assert after == pytest.approx(before, rel=0.1)


def test_the_hallucination_rate_reflects_what_was_planted(demo_build: tuple[Path, Path], demo_warehouse: Path) -> None:
    truth = [json.loads(line) for line in (demo_build[1] / "ground_truth.jsonl").read_text().splitlines()]
    planted = sum(1 for record in truth if record["hallucination"]) / len(truth)
    assert queries.period_metrics(WHOLE)["hallucination_rate"] == pytest.approx(planted, abs=0.01)


def test_the_demo_cli_does_not_overwrite_an_existing_warehouse(tmp_path: Path, capsys) -> None:
    existing = tmp_path / "callboard.duckdb"
    existing.write_bytes(b"keep me")
    assert demo.main(["--db", str(existing)]) == 0
    assert existing.read_bytes() == b"keep me"
    assert "--rebuild" in capsys.readouterr().out


def test_the_ingest_page_does_not_list_the_demos_deleted_temporary_folder(tmp_path: Path) -> None:
    demo.build(tmp_path / "small.duckdb", calls=40)
    sources = recent_runs(db_path=tmp_path / "small.duckdb")["sources"].to_list()
    assert len(sources) == 4 and set(sources) == {"the demo's generated files (not kept; --files keeps them)"}
