"""Compile once, run many (warehouse/prepared.py): a read compiles its SQL once per shape and only
binds new values after, its figures stay those of an independent computation whatever values it
runs with, and a value picked in the sidebar is bound, never written into the SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import ibis
import pytest

from tests import independent
from tests.test_metrics import assert_same
from warehouse import engines, prepared, queries
from warehouse.filters import Filters

HOSTILE_AGENT = "salon'); DROP TABLE calls; --"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL each compilation made, in order."""
    made: list[str] = []
    compile_once = prepared._compile

    def counted(*args, **kwargs):
        compiled = compile_once(*args, **kwargs)
        made.append(compiled.sql)
        return compiled

    monkeypatch.setattr(prepared, "_compile", counted)
    monkeypatch.setattr(prepared, "_compiled", {})
    return made


def test_filter_changes_of_one_shape_compile_once_and_each_gives_its_own_figures(
        synthetic_warehouse: Path, compiles: list[str]) -> None:
    changes = [Filters(date(2026, 9, 1), date(2026, 10, 30), agents=("salon-booker",)),
               Filters(date(2026, 9, 10), date(2026, 9, 24), agents=("clinic-scheduler",)),
               Filters(date(2026, 10, 1), date(2026, 10, 14), agents=("clinic-scheduler", "estate-qualifier"))]
    for f in changes:
        assert_same(queries.period_metrics(f), independent.owned_metrics(synthetic_warehouse, f))
    assert len(compiles) == 4  # the first change's four expressions, and none after


def test_a_new_shape_compiles_anew(synthetic_warehouse: Path, compiles: list[str]) -> None:
    f = Filters(date(2026, 9, 1), date(2026, 10, 30))
    queries.period_metrics(f)
    picked = Filters(f.start, f.end, models=("gpt-4.1",))
    assert_same(queries.period_metrics(picked), independent.owned_metrics(synthetic_warehouse, picked))
    assert len(compiles) == 8


def test_a_picked_name_is_bound_not_written_into_the_sql(synthetic_warehouse: Path, compiles: list[str]) -> None:
    with duckdb.connect(str(synthetic_warehouse)) as con:
        con.execute("UPDATE calls SET agent = ? WHERE agent = 'salon-booker'", [HOSTILE_AGENT])
    f = Filters(date(2026, 9, 1), date(2026, 10, 30), agents=(HOSTILE_AGENT,))
    figures = queries.period_metrics(f)
    assert figures["calls"] > 0
    assert_same(figures, independent.owned_metrics(synthetic_warehouse, f))
    assert compiles and not any("salon" in sql or "2026" in sql for sql in compiles)


def test_a_read_over_an_in_memory_table_runs_through_ibis_each_time_and_keeps_no_sql(
        synthetic_warehouse: Path, compiles: list[str]) -> None:
    def over_memory(t, params: prepared.Params) -> list[ibis.Table]:
        names = ibis.memtable({"name": ["ana", "bo", "cy"]})
        return [names.filter(names.name.isin(params["picked"]))]

    for picked in (("ana",), ("bo", "cy")):
        with engines.source() as opened:
            (frame,) = prepared.frames(opened, over_memory, (), {"picked": picked})
        assert sorted(frame["name"]) == sorted(picked)
    assert compiles == [] and prepared._compiled == {}


def test_a_named_value_is_bound_not_written_into_the_sql(synthetic_warehouse: Path, compiles: list[str]) -> None:
    def named(t, params: prepared.Params) -> list[ibis.Table]:
        return [t.calls.filter(t.calls.agent == params["agent"]).count().name("calls").as_table()]

    with duckdb.connect(str(synthetic_warehouse)) as con:
        con.execute("UPDATE calls SET agent = ? WHERE agent = 'salon-booker'", [HOSTILE_AGENT])
        expected = con.execute("SELECT count(*) FROM calls WHERE agent = ?", [HOSTILE_AGENT]).fetchone()[0]
    with engines.source() as opened:
        (frame,) = prepared.frames(opened, named, (), {"agent": HOSTILE_AGENT})
    assert expected > 0 and frame["calls"].to_list() == [expected]
    assert len(compiles) == 1 and "salon" not in compiles[0]
