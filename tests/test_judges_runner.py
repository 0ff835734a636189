"""Batch runs: selection, skip/resume, the dollar cap, failures that do not stop the batch, the CLI
(dry run, list, errors) and the query functions the app reads judgements with."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import httpx2
import polars as pl
import pytest

from judges import __main__ as cli
from judges import eval_cli, runner
from judges.providers import make_ask
from judges.runner import (
    ESTIMATED_OUTPUT_TOKENS,
    RunError,
    Selection,
    estimated_input_tokens,
    plan_run,
    run_plan,
)
from judges.spec import JUDGES_DIR, load_judge, load_judge_file
from tests.judge_calls import DAY, call, clean_call, store
from tests.test_judges_providers import VERDICT, ok_reply
from warehouse.db import connect, transaction
from warehouse.judgements import judge_run_history, judge_runs_summary, latest_judgement

RULES = load_judge("rules")
CLAUDE = load_judge("claude")
PERIOD = Selection(start=DAY, end=DAY)


@pytest.fixture
def five_calls(warehouse_file):
    calls = [clean_call(f"call-{n}") for n in range(4)]
    calls.insert(2, call("call-bad", [("agent", "Hi."), ("customer", "Price?"), ("agent", "It's $10.")],
                         [(2, "get_price", "{}", '{"price": 30}')]))  # fmt: skip
    calls.append(clean_call("call-other-day", day=date(2026, 11, 3)))
    store(warehouse_file, calls)
    return warehouse_file


def rows(sql, params=()):
    with connect() as con:
        return con.execute(sql, params).fetchall()


def scripted_claude(failing_call=None):
    """The real Anthropic SDK against a mock server that answers 500 for one call's prompt."""
    seen = []

    def server(request):
        seen.append(request)
        if failing_call and failing_call in request.content.decode():
            return httpx2.Response(500, json={"type": "error", "error": {"type": "api_error", "message": "x"}})
        return ok_reply("anthropic")

    return make_ask(CLAUDE, "sk-test", transport=httpx2.MockTransport(server)), seen


def test_rules_run_stores_judgements_and_a_rerun_skips_them(five_calls):
    plan = plan_run(RULES, PERIOD)
    assert [c.call_id for c in plan.calls] == ["call-0", "call-1", "call-2", "call-3", "call-bad"]
    summary = run_plan(plan, None, concurrency=2)
    assert (summary.judged, summary.failed, summary.skipped) == (5, 0, 0)
    stored = dict(rows("SELECT call_id, hallucination FROM judgements WHERE judge_version = ?", [RULES.version]))
    assert stored == {"call-0": False, "call-1": False, "call-bad": True, "call-2": False, "call-3": False}
    (evidence,) = rows("SELECT evidence FROM judgements WHERE call_id = 'call-bad'")[0]
    assert json.loads(evidence)[1]["quote"] == 'get_price returned {"price": 30}'
    again = plan_run(RULES, PERIOD)
    assert (again.selected, again.skipped, again.calls) == (5, 5, [])
    assert run_plan(again, None).judged == 0
    assert rows("SELECT count(*) FROM judgements")[0][0] == 5


def test_limit_takes_the_next_unjudged_calls_so_runs_resume(five_calls):
    run_plan(plan_run(RULES, PERIOD, limit=2), None)
    second = plan_run(RULES, PERIOD, limit=2)
    assert second.skipped == 2 and [c.call_id for c in second.calls] == ["call-2", "call-3"]


def test_a_new_judge_version_judges_again(five_calls, tmp_path):
    run_plan(plan_run(RULES, PERIOD), None)
    edited = tmp_path / "rules.toml"
    edited.write_text((JUDGES_DIR / "rules.toml").read_text().replace("slow_turn_ms = 3000", "slow_turn_ms = 2500"))
    newer = load_judge_file(edited)
    assert newer.version != RULES.version
    assert len(plan_run(newer, PERIOD).calls) == 5


def test_the_rules_judge_version_covers_its_code_too():
    from judges.spec import judge_version

    assert RULES.version != judge_version((JUDGES_DIR / "rules.toml").read_bytes())


def test_session_selects_its_sample_in_order(five_calls):
    with transaction() as con:
        con.execute(
            "INSERT INTO review_sessions (session_id, name, created_at, period_start, period_end, strategy,"
            " sample_size, seed) VALUES ('s1', 'Week 45', now()::TIMESTAMP, ?, ?, 'random', 2, 1)",
            [DAY, DAY],
        )
        con.execute("INSERT INTO review_samples (session_id, position, call_id, weight) "
                    "VALUES ('s1', 1, 'call-3', 1.0), ('s1', 2, 'call-bad', 1.0)")
    plan = plan_run(RULES, Selection(session_id="s1"))
    assert [c.call_id for c in plan.calls] == ["call-3", "call-bad"]
    with pytest.raises(RunError, match="no review session 'nope'"):
        plan_run(RULES, Selection(session_id="nope"))


def test_one_failing_call_does_not_stop_the_batch(five_calls):
    ask, seen = scripted_claude(failing_call="call-bad")
    summary = run_plan(plan_run(CLAUDE, PERIOD), ask, concurrency=3, max_dollars=5)
    assert (summary.judged, summary.failed) == (4, 1)
    assert summary.errors == ["call-bad: InternalServerError: Error code: 500 - {'type': 'error', "
                              "'error': {'type': 'api_error', 'message': 'x'}}"]  # fmt: skip
    assert len(seen) == 4 + 4  # four successes, one call tried four times
    status = dict(rows("SELECT call_id, status FROM judgements"))
    assert status["call-bad"] == "failed" and list(status.values()).count("ok") == 4
    retry = plan_run(CLAUDE, PERIOD)
    assert [c.call_id for c in retry.calls] == ["call-bad"], "a failed call is tried again by the next run"


def test_dollar_cap_stops_cleanly_before_the_next_call_could_pass_it(five_calls):
    plan = plan_run(CLAUDE, PERIOD)
    price_in, price_out = plan.price
    assert (price_in, price_out) == (1.0, 5.0)  # claude-haiku-4-5 as seeded in migration 0002
    spent_per_call = (1200 * price_in + 90 * price_out) / 1e6  # the mock's usage
    worst = [
        (estimated_input_tokens(CLAUDE, c) * price_in + CLAUDE.max_output_tokens * price_out) / 1e6 for c in plan.calls
    ]
    cap = 2 * spent_per_call + worst[2] + 0.0001  # room for exactly three calls, one at a time
    ask, seen = scripted_claude()
    summary = run_plan(plan, ask, concurrency=1, max_dollars=cap)
    assert summary.stopped_at_cap and summary.judged == 3 and len(seen) == 3
    assert 3 * spent_per_call + worst[3] > cap
    assert [runner.worst_case_dollars(CLAUDE, c, plan.price) for c in plan.calls] == pytest.approx(worst)
    assert runner.worst_case_dollars(RULES, plan.calls[0], (0.0, 0.0)) == 0.0
    assert summary.cost_usd == pytest.approx(3 * spent_per_call) and summary.cost_usd <= cap
    assert rows("SELECT count(*) FROM judgements")[0][0] == 3
    rest = plan_run(CLAUDE, PERIOD)
    assert rest.skipped == 3 and len(rest.calls) == 2


def test_cli_dry_run_prints_calls_tokens_and_dollars_and_sends_nothing(five_calls):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["run", "--judge", "claude", "--start", str(DAY), "--end", str(DAY), "--dry-run"], out, err)
    assert code == 0, err.getvalue()
    plan = plan_run(CLAUDE, PERIOD)
    tokens_in = sum(estimated_input_tokens(CLAUDE, c) for c in plan.calls)
    tokens_out = ESTIMATED_OUTPUT_TOKENS * 5
    dollars = (tokens_in * 1.0 + tokens_out * 5.0) / 1e6
    ceiling = (tokens_in * 1.0 + CLAUDE.max_output_tokens * 5 * 5.0) / 1e6
    assert out.getvalue().splitlines() == [
        f"Judge claude (version {CLAUDE.version}, anthropic claude-haiku-4-5)",
        "Calls selected: 5; already judged: 0; to judge now: 5",
        f"Estimated tokens: {tokens_in:,} input + {tokens_out:,} output",
        f"Estimated cost: ${dollars:,.4f} (at most ${ceiling:,.4f} if every reply used 1,024 output tokens)",
        "Dry run: nothing was sent and nothing was written.",
    ]
    assert 500 < tokens_in / 5 < 3000  # a transcript of five turns and three tool calls, plus instructions
    assert rows("SELECT count(*) FROM judgements")[0][0] == 0


def test_cli_run_with_no_judge_named_uses_rules_when_no_key_is_set(five_calls):
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["run", "--start", str(DAY), "--end", str(DAY)], out, err) == 0
    summary = out.getvalue().splitlines()[-1]
    assert summary.startswith("Run ") and f"judge rules (version {RULES.version}): 5 judged, 0 failed" in summary
    assert "5/5" in err.getvalue().splitlines()[-1]
    assert rows("SELECT DISTINCT judge_name FROM judgements") == [("rules",)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--judge", "nobody", "--start", "2026-11-02", "--end", "2026-11-02"],
            "There is no judge called 'nobody'",
        ),
        (["run", "--judge", "claude", "--start", "2026-11-02", "--end", "2026-11-02"], "needs ANTHROPIC_API_KEY"),
        (["run", "--judge", "rules", "--session", "missing"], "There is no review session 'missing'"),
    ],
)
def test_cli_user_mistakes_print_one_line_and_exit_2(five_calls, argv, message):
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(argv, out, err) == 2
    assert out.getvalue() == "" and err.getvalue().startswith("error: ") and message in err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--start", "2026-11-02"],
        ["run", "--start", "2026-11-05", "--end", "2026-11-02"],
        ["run", "--start", "2026-11-01", "--end", "2026-11-02", "--limit", "-1"],
        ["run", "--start", "2026-11-01", "--end", "2026-11-02", "--concurrency", "0"],
    ],
)
def test_cli_refuses_a_bad_period_or_number_in_one_line(warehouse_file, argv):
    err = io.StringIO()
    assert cli.main(argv, io.StringIO(), err) == 2
    assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1


def test_cli_without_a_selection_is_an_argparse_error(warehouse_file, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--end", "2026-11-02"])
    assert exit_.value.code == 2 and "error:" in capsys.readouterr().err


def test_cli_list_shows_every_judge_with_its_version(warehouse_file):
    out = io.StringIO()
    assert cli.main(["list"], out) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["claude", CLAUDE.version], ["gpt", load_judge("gpt").version], ["rules", RULES.version]
    ]  # fmt: skip
    assert "[no key (ANTHROPIC_API_KEY)]" in lines[0] and "[no key needed]" in lines[2]


def test_judges_never_touch_reviews(five_calls):
    with transaction() as con:
        con.execute(
            "INSERT INTO reviews (review_id, call_id, reviewer, score, passed, labels, created_at)"
            " VALUES ('r1', 'call-bad', 'pm', 5, true, [], now()::TIMESTAMP)"
        )
    before = rows("SELECT * FROM reviews")
    run_plan(plan_run(RULES, PERIOD), None)
    assert rows("SELECT * FROM reviews") == before


def test_shipped_judges_only_emit_seeded_failure_modes(warehouse_file):
    seeded = {name for (name,) in rows("SELECT name FROM failure_modes")}
    for name in ("rules", "claude", "gpt"):
        assert set(load_judge(name).labels) <= seeded


def test_summary_and_latest_judgement_for_the_app(five_calls):
    run_plan(plan_run(RULES, PERIOD), None)
    ask, _ = scripted_claude(failing_call="call-bad")
    run_plan(plan_run(CLAUDE, PERIOD), ask)
    run_plan(plan_run(CLAUDE, PERIOD), ask)  # the failed call fails again in a second run
    summary = judge_runs_summary()
    assert set(summary["judge_name"]) == {"rules", "claude"}
    stored = pl.DataFrame(
        rows("SELECT judge_name, run_id, call_id, status, cost_usd FROM judgements"),
        schema=["judge_name", "run_id", "call_id", "status", "cost_usd"],
        orient="row",
    )
    for judge in ("rules", "claude"):
        mine = stored.filter(pl.col("judge_name") == judge)
        row = summary.filter(pl.col("judge_name") == judge).row(0, named=True)
        assert row["runs"] == mine["run_id"].n_unique()
        assert row["calls_judged"] == mine.filter(pl.col("status") == "ok")["call_id"].n_unique()
        assert row["failures"] == mine.filter(pl.col("status") == "failed").height
        assert row["cost_usd"] == pytest.approx(mine["cost_usd"].sum())
    claude = summary.filter(pl.col("judge_name") == "claude").row(0, named=True)
    assert (claude["runs"], claude["calls_judged"], claude["failures"]) == (2, 4, 2)
    assert isinstance(claude["last_run"], datetime)
    assert judge_run_history().height == 3

    newest = latest_judgement("call-1")
    assert newest["judge_name"] == "claude" and newest["status"] == "ok"
    assert newest["labels"] == VERDICT["labels"] and newest["evidence"] == VERDICT["evidence"]
    assert latest_judgement("call-1", judge_name="rules")["labels"] == []
    assert latest_judgement("call-bad")["judge_name"] == "rules", "a successful judgement wins over a newer failure"
    only_failed = latest_judgement("call-bad", judge_name="claude")
    assert only_failed["status"] == "failed" and "InternalServerError" in only_failed["error"]
    assert latest_judgement("call-other-day") is None


def test_results_are_written_in_small_transactions_and_an_interrupted_run_resumes(five_calls, monkeypatch):
    opened = []

    def counting_transaction(path=None):
        opened.append(path)
        return transaction(path)

    monkeypatch.setattr(runner, "transaction", counting_transaction)
    monkeypatch.setattr(runner, "WRITE_BATCH_MAX", 2)
    monkeypatch.setattr(runner, "WRITE_EVERY_S", 3600)

    def interrupt_after_three(summary):
        if summary.judged == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_plan(plan_run(RULES, PERIOD), None, concurrency=1, progress=interrupt_after_three)
    assert len(opened) == 2  # two rows at the batch size, then the third on the way out
    assert rows("SELECT count(*) FROM judgements")[0][0] == 3
    rest = plan_run(RULES, PERIOD)
    assert rest.skipped == 3 and [c.call_id for c in rest.calls] == ["call-3", "call-bad"]


def test_cli_with_a_key_set_uses_that_provider_by_default(five_calls, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    seen = []

    def server(request):
        seen.append(request)
        return ok_reply("anthropic")

    mocked = httpx2.MockTransport(server)
    monkeypatch.setattr(cli, "make_ask", lambda spec, key: make_ask(spec, key, transport=mocked))
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["run", "--start", str(DAY), "--end", str(DAY), "--max-dollars", "1"], out, err) == 0
    assert f"judge claude (version {CLAUDE.version}): 5 judged, 0 failed" in out.getvalue()
    sent_keys = {r.headers.get("x-api-key") or r.headers["authorization"].removeprefix("Bearer ") for r in seen}
    assert len(seen) == 5 and sent_keys == {"sk-ant-test-key"}
    assert "sk-ant-test-key" not in out.getvalue() + err.getvalue()
    assert rows("SELECT DISTINCT provider, model FROM judgements") == [("anthropic", "claude-haiku-4-5")]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Judge this call.", "Judge this call; a refund costs a $5 fee.", "has a `$` that is not a placeholder"),
        ("Judge this call.", "Judge $caller's call.", "uses $caller; a prompt can only use $call, $transcript"),
        ("max_output_tokens = 1024", 'max_output_tokens = "lots"', "max_output_tokens in claude.toml must be"),
    ],
)
def test_cli_refuses_a_bad_judge_file_in_one_line(five_calls, tmp_path, monkeypatch, old, new, message):
    """A judge file whose prompt cannot be filled in is refused when it loads, not mid-run."""
    text = (JUDGES_DIR / "claude.toml").read_text()
    assert old in text
    (tmp_path / "claude.toml").write_text(text.replace(old, new))
    for module in (cli, eval_cli):
        monkeypatch.setattr(module, "load_judge", lambda name: load_judge(name, tmp_path))
    for argv in (["run", "--judge", "claude", "--start", str(DAY), "--end", str(DAY), "--dry-run"],
                 ["eval", "--dataset", str(tmp_path / "unread.jsonl"), "--judge", "claude"]):  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        assert cli.main(argv, out, err) == 2
        assert err.getvalue().startswith("error: ") and message in err.getvalue()
        assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
