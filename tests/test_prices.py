"""Model prices: listed and set from the command line; ingest prices spans from them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.traces import ingest_traces
from tests import cli
from tests.fixtures.otlp_calls import write_calls
from warehouse import __main__ as warehouse_cli
from warehouse.db import connect
from warehouse.judgements import model_price
from warehouse.prices import model_prices, price_for, set_price


def test_a_changed_price_is_used_for_spans_ingested_after_it(
    warehouse_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = cli.run(warehouse_cli.main, ["prices", "set", "openai", "gpt-4.1-mini", "--input-per-mtok", "2",
                                        "--output-per-mtok", "10", "--taken-on", "2026-11-24", "--source", "contract"],
                   capsys)
    assert done.returncode == 0, done.stderr
    assert "gpt-4.1-mini  2.0  10.0" in done.stdout and "2026-11-24  contract" in done.stdout
    traces = tmp_path / "calls.jsonl"
    write_calls(traces, 3)
    ingest_traces([traces], db_path=warehouse_file)
    with connect(warehouse_file) as con:
        spans = con.execute(
            "SELECT input_tokens, output_tokens, cost_usd FROM spans WHERE model = 'gpt-4.1-mini'"
        ).fetchall()
    assert spans
    for input_tokens, output_tokens, cost in spans:
        assert cost == pytest.approx(input_tokens * 2 / 1e6 + output_tokens * 10 / 1e6)


def test_setting_one_unit_keeps_the_others(warehouse_file: Path) -> None:
    before = model_prices().filter(model="gpt-4.1").row(0, named=True)
    set_price("openai", "gpt-4.1", {"output_usd_per_mtok": 9.0}, date(2026, 11, 24))
    after = model_prices().filter(model="gpt-4.1").row(0, named=True)
    assert after["input_usd_per_mtok"] == before["input_usd_per_mtok"]
    assert after["output_usd_per_mtok"] == 9.0 and after["taken_on"] == date(2026, 11, 24)
    assert after["source"] == before["source"]


@pytest.mark.parametrize("args, message", [
    (("set", "openai", "x"), "Give at least one price."),
    (("set", "openai", "x", "--input-per-mtok", "-1"), "cannot be negative"),
    (("set", "openai", "x", "--input-per-mtok", "nan"), "must be a finite number"),
    (("set", "openai", "x", "--output-per-mtok", "inf"), "must be a finite number"),
])
def test_mistakes_are_one_line_and_exit_2(
    warehouse_file: Path, args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert warehouse_cli.main(["prices", *args]) == 2
    stderr = capsys.readouterr().err
    assert message in stderr and stderr.startswith("error: ") and stderr.count("\n") == 1
    assert model_prices().filter(model="x").is_empty(), "nothing was stored"


def test_a_dated_model_is_priced_the_same_by_ingest_and_by_lookup(warehouse_file: Path, tmp_path: Path) -> None:
    set_price("azure", "gpt-4.1-mini", {"input_usd_per_mtok": 7.0, "output_usd_per_mtok": 70.0}, date(2026, 11, 24))
    traces = tmp_path / "calls.jsonl"
    write_calls(traces, 2)
    traces.write_text(traces.read_text().replace('"gpt-4.1-mini"', '"gpt-4.1-mini-2025-04-14"'))
    ingest_traces([traces], db_path=warehouse_file)
    with connect(warehouse_file) as con:
        spans = con.execute("SELECT input_tokens, output_tokens, cost_usd FROM spans "
                            "WHERE model = 'gpt-4.1-mini-2025-04-14'").fetchall()
        looked_up = price_for(con, "openai", "gpt-4.1-mini-2025-04-14")
        assert model_price(con, "openai", "gpt-4.1-mini-2025-04-14") == (0.40, 1.60)
        assert model_price(con, "azure", "gpt-4.1-mini-2025-04-14") == (7.0, 70.0)
        assert model_price(con, "openai", "gpt-9") is None
    assert (looked_up["provider"], looked_up["model"]) == ("openai", "gpt-4.1-mini")
    assert spans
    for input_tokens, output_tokens, cost in spans:
        assert cost == pytest.approx(input_tokens * 0.40 / 1e6 + output_tokens * 1.60 / 1e6)
