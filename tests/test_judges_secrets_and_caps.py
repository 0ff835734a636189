"""Secrets and caps: a provider that echoes the API key in its errors leaves no trace of the key in
the warehouse, on the terminal or in the lake; a dollar cap or price that is not a finite number is
refused before anything is sent, since every comparison with NaN is false."""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

import duckdb
import httpx2
import pytest

from judges import __main__ as cli
from judges.providers import MASK, make_ask, mask_keys
from judges.runner import RunError, Selection, plan_run, run_plan
from judges.spec import load_judge
from tests.judge_calls import DAY, clean_call, store
from tests.test_judges_providers import ok_reply
from warehouse import lake
from warehouse.db import connect

CLAUDE = load_judge("claude")
GPT = load_judge("gpt")
KEY = "sk-ant-api03-Q7vR2mXk9LpZ4tWc8NbY3hJf6Gd1SaEo5Ui0Kq"
PERIOD = ["--start", str(DAY), "--end", str(DAY)]


@pytest.fixture
def four_calls(warehouse_file: Path) -> Path:
    store(warehouse_file, [clean_call(f"call-{n}") for n in range(4)])
    return warehouse_file


def sent_key(request: httpx2.Request) -> str:
    return request.headers.get("x-api-key") or request.headers["authorization"].removeprefix("Bearer ")


def echoing_provider(seen: list[httpx2.Request]):
    """A provider that refuses every request and quotes the key it was sent, in the message, in a
    header-shaped field and as a bearer token (one of them after a retried 500)."""

    def server(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        sent = sent_key(request)
        if "call-0" in request.content.decode():
            message = f"upstream said: Authorization: Bearer {sent}"
            return httpx2.Response(500, json={"type": "error", "error": {"type": "api_error", "message": message}})
        body = {
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key: {sent}"},
            "request": {"headers": {"x-api-key": sent}},
        }
        return httpx2.Response(401, json=body)

    return server


def test_a_provider_echoing_the_key_leaves_it_nowhere(four_calls, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    seen: list[httpx2.Request] = []
    transport = httpx2.MockTransport(echoing_provider(seen))
    monkeypatch.setattr(cli, "make_ask", lambda spec, key: make_ask(spec, key, transport=transport))
    caplog.set_level(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()

    assert cli.main(["run", "--judge", "claude", *PERIOD], out, err) == 0

    assert {sent_key(request) for request in seen} == {KEY}, "the key really went out"
    assert len(seen) == 4 + 3, "three 401s once each, the 500 four times"
    captured = capsys.readouterr()
    printed = out.getvalue() + err.getvalue() + captured.out + captured.err + caplog.text
    assert "4 failed" in printed and f"invalid x-api-key: {MASK}" in printed
    with connect() as con:
        stored = con.execute("SELECT * FROM judgements").fetchall()
        errors = [error for (error,) in con.execute("SELECT error FROM judgements ORDER BY call_id").fetchall()]
    assert len(stored) == 4
    assert errors[0].startswith("InternalServerError") and f"Bearer {MASK}" in errors[0]
    for error in errors[1:]:
        assert error.startswith("AuthenticationError") and f"invalid x-api-key: {MASK}" in error
    lake_folder = tmp_path / "lake"
    lake.export(lake_folder, four_calls)
    with duckdb.connect() as con:
        parquet = str(lake_folder / "judgements" / "**" / "*.parquet")
        exported = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = true)", [parquet]).fetchall()
    assert len(exported) == 4 and MASK in str(exported)
    for where, text in [("terminal", printed), ("judgements", str(stored)), ("lake", str(exported))]:
        assert KEY not in text, where
        assert KEY[-12:] not in text, where
    assert KEY.encode() not in four_calls.read_bytes()
    for file in lake_folder.rglob("*"):
        assert not file.is_file() or KEY.encode() not in file.read_bytes(), file


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Incorrect API key provided: sk-proj-abc123DEF456ghi.", f"Incorrect API key provided: {MASK}."),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30", f"Authorization: Bearer {MASK}"),
        ('{"x-api-key": "zq81-Pk2", "ok": 1}', f'{{"x-api-key": "{MASK}", "ok": 1}}'),
        ("retry with api_key=hunter2hunter2&v=1", f"retry with api_key={MASK}&v=1"),
        ("token 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a rejected", f"token {MASK} rejected"),
        (
            "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
            "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
        ),
    ],
)
def test_anything_shaped_like_a_key_is_masked_and_the_rest_kept(text, masked):
    assert mask_keys(text) == masked


def test_a_configured_key_of_any_shape_is_masked(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "correct horse battery staple")
    assert mask_keys("the key 'correct horse battery staple' was revoked") == f"the key '{MASK}' was revoked"


@pytest.mark.parametrize("cap", ["nan", "inf", "-inf", "-1"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_dollar_cap_that_is_no_finite_amount_is_refused_in_one_line(four_calls, cap, dry_run):
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["run", "--judge", "rules", *PERIOD, f"--max-dollars={cap}", *dry_run], out, err) == 2
    assert err.getvalue().startswith("error: --max-dollars must be a finite number of dollars, zero or more")
    assert err.getvalue().count("\n") == 1 and out.getvalue() == ""
    with connect() as con:
        assert con.execute("SELECT count(*) FROM judgements").fetchone() == (0,)


def test_run_plan_refuses_a_nan_cap_before_sending_anything(four_calls):
    seen: list[httpx2.Request] = []
    ask = make_ask(CLAUDE, "sk-test", transport=httpx2.MockTransport(lambda r: seen.append(r) or ok_reply("anthropic")))
    plan = plan_run(CLAUDE, Selection(start=DAY, end=DAY))
    with pytest.raises(RunError, match="finite number"):
        run_plan(plan, ask, max_dollars=math.nan)
    assert seen == []


@pytest.mark.parametrize("price", ["'NaN'", "'Infinity'"])
def test_a_stored_price_that_is_no_finite_amount_stops_the_run_in_one_line(four_calls, monkeypatch, price):
    """A price stored before `prices set` refused them (or written by hand) is caught when read."""
    with duckdb.connect(str(four_calls)) as con:
        con.execute(f"UPDATE model_prices SET output_usd_per_mtok = {price}::DOUBLE WHERE model = 'gpt-4.1-mini'")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    err = io.StringIO()
    assert cli.main(["run", "--judge", "gpt", *PERIOD, "--dry-run"], io.StringIO(), err) == 2
    assert err.getvalue().startswith("error: The price of openai gpt-4.1-mini in model_prices is not a finite number")
    assert err.getvalue().count("\n") == 1
