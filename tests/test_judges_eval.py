"""`python -m judges eval`: a judge scored against a small dataset (figures against a hand count and
scikit-learn), the LLM path through the real SDK on a mocked transport with the dollar cap, the CLI,
and the demo end to end (export reviewed test cases, then score the rules judge on them)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import duckdb
import httpx2
import pytest
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

from ingest.complaints import ingest_complaints
from judges import __main__ as cli
from judges.dataset import export_dataset, read_dataset
from judges.evaluate import judge_records, score
from judges.providers import make_ask
from judges.spec import load_judge
from tests.judge_calls import call, clean_call, store
from tests.review_fixture import without_reviews
from tests.test_judges_providers import ok_reply
from warehouse import reviews

RULES = load_judge("rules")
CLAUDE = load_judge("claude")

# Each call: what the reviewer said (labels, score; None = no review, a complaint instead) and what
# the rules judge will say about it, written out by hand.
HAND = {
    "e-clean": ((), 5, ()),
    "e-bad": (("hallucinated_fact",), 2, ("hallucinated_fact",)),
    "e-missed": (("hallucinated_fact",), 2, ()),
    "e-false-alarm": ((), 5, ("hallucinated_fact",)),
    "e-complaint": (("wrong_booking",), None, ()),
    "e-tool": (("failed_tool_call",), 4, ("failed_tool_call",)),
}


def wrong_price(call_id: str):
    return call(call_id, [("agent", "Hi."), ("customer", "Price?"), ("agent", "It's $10.")],
                [(2, "get_price", "{}", '{"price": 30}')])  # fmt: skip


def failed_tool(call_id: str):
    return call(call_id, [("agent", "Hi."), ("customer", "Book me."), ("agent", "Sorry, one moment.")],
                [(2, "book_appointment", "{}", None, "timeout")])  # fmt: skip


@pytest.fixture
def dataset(warehouse_file: Path, tmp_path: Path) -> Path:
    store(warehouse_file, [clean_call("e-clean"), wrong_price("e-bad"), clean_call("e-missed"),
                           wrong_price("e-false-alarm"), clean_call("e-complaint"), failed_tool("e-tool")])  # fmt: skip
    for call_id, (labels, given, _) in HAND.items():
        if given is not None:
            reviews.save_review(reviews.Review(None, call_id, "Priya", given, given >= 4, labels, test_case=True))
    complaints = tmp_path / "complaints.csv"
    complaints.write_text("call_id,complaint,reported_label\ne-complaint,They booked the wrong day,wrong_booking\n")
    ingest_complaints(complaints, db_path=warehouse_file)
    out = tmp_path / "dataset.jsonl"
    export_dataset(out)
    return out


def hand_vectors(label: str) -> tuple[list[bool], list[bool]]:
    """Human and judge yes/no for `label` on the records that count for it: every reviewed call,
    and a complaint only for the label it reports."""
    counted = [(label in h, label in j) for h, given, j in HAND.values() if given is not None or label in h]
    return [h for h, _ in counted], [j for _, j in counted]


def test_rules_judge_figures_match_a_hand_count_and_scikit_learn(dataset: Path) -> None:
    records = read_dataset(dataset)
    rows, left = judge_records(RULES, records, None, (0.0, 0.0))
    assert left == 0 and {r.call_id: tuple(r.labels) for r in rows} == {c: j for c, (_, _, j) in HAND.items()}
    evaluation = score(RULES, records, rows)
    figures = {s.label: s for s in evaluation.labels}
    hallucinated = figures["hallucinated_fact"]
    assert (hallucinated.counts.tp, hallucinated.counts.fp, hallucinated.counts.fn, hallucinated.counts.tn) == (
        1, 1, 1, 2)
    assert (hallucinated.precision, hallucinated.recall, hallucinated.support) == (0.5, 0.5, 2)
    assert hallucinated.counts.kappa == pytest.approx((0.6 - 0.52) / 0.48)
    wrong_booking = figures["wrong_booking"]
    assert (wrong_booking.judge_knows, wrong_booking.counts.n, wrong_booking.support, wrong_booking.recall) == (
        False, 6, 1, 0.0)
    assert figures["escalation_loop"].support == 0 and figures["escalation_loop"].precision is None
    for label in ("hallucinated_fact", "failed_tool_call", "wrong_booking"):
        human, judge = hand_vectors(label)
        s = figures[label]
        assert s.recall == pytest.approx(recall_score(human, judge))
        assert s.counts.kappa == pytest.approx(cohen_kappa_score(human, judge))
        if any(judge):
            assert s.precision == pytest.approx(precision_score(human, judge))
    # pass/fail, failing as the positive: reviewed calls only
    human_fail = [given < 4 for _, given, _ in HAND.values() if given is not None]
    passed = {r.call_id: r.passed for r in rows}
    judge_fail = [not passed[c] for c, (_, given, _) in HAND.items() if given is not None]
    assert evaluation.pass_fail_agreement == pytest.approx(0.6)
    assert evaluation.pass_fail.kappa == pytest.approx(cohen_kappa_score(human_fail, judge_fail))


def test_eval_command_prints_a_table_and_json(dataset: Path) -> None:
    out = io.StringIO()
    assert cli.main(["eval", "--dataset", str(dataset), "--judge", "rules"], out, io.StringIO()) == 0
    table = out.getvalue().splitlines()
    assert table[0].split() == ["label", "precision", "recall", "kappa", "support", "n"]
    assert next(line for line in table if line.startswith("hallucinated_fact")).split() == [
        "hallucinated_fact", "0.50", "0.50", "0.17", "2", "5"]
    assert next(line for line in table if line.startswith("wrong_booking")).split()[:2] == ["wrong_booking", "*"]
    assert any(line.startswith("pass/fail agreement 0.60") for line in table)
    out = io.StringIO()
    assert cli.main(["eval", "--dataset", str(dataset), "--judge", "rules", "--json"], out, io.StringIO()) == 0
    figures = json.loads(out.getvalue())
    assert (figures["records"], figures["judged"], figures["failed"]) == (6, 6, 0)
    assert figures["pass_fail"]["agreement"] == pytest.approx(0.6)
    assert {f["label"]: (f["tp"], f["fp"], f["fn"], f["tn"]) for f in figures["labels"]}["failed_tool_call"] == (
        1, 0, 0, 4)


def test_an_llm_judge_goes_through_the_provider_and_keeps_the_dollar_cap(dataset: Path) -> None:
    records = read_dataset(dataset)
    sent = []

    def server(request):
        sent.append(json.loads(request.content))
        return ok_reply("anthropic")

    ask = make_ask(CLAUDE, "sk-test", transport=httpx2.MockTransport(server))
    price = (1.0, 5.0)
    rows, left = judge_records(CLAUDE, records, ask, price)
    assert (len(sent), left) == (6, 0) and all(r.status == "ok" for r in rows)
    assert "<transcript>" in sent[0]["messages"][0]["content"]
    evaluation = score(CLAUDE, records, rows)
    assert evaluation.cost_usd == pytest.approx(6 * (1200 * 1.0 + 90 * 5.0) / 1e6)
    sent.clear()
    rows, left = judge_records(CLAUDE, records, ask, price, max_dollars=0.01)
    assert len(sent) == len(rows) < 6 and left == 6 - len(rows)
    assert score(CLAUDE, records, rows).not_judged == left


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "--dataset", "{missing}", "--judge", "rules"], "error: Could not read the dataset"),
    (["eval", "--dataset", "{dataset}", "--judge", "nobody"], "error: There is no judge called 'nobody'"),
    (["eval", "--dataset", "{dataset}", "--judge", "claude"], "error: The claude judge needs ANTHROPIC_API_KEY"),
    *[(["eval", "--dataset", "{dataset}", "--judge", "rules", "--max-dollars", cap],
       "error: --max-dollars must be a finite number of dollars, zero or more") for cap in ("-1", "nan", "inf")],
])  # fmt: skip
def test_eval_mistakes_exit_2_with_one_line(dataset: Path, tmp_path: Path, argv: list[str], message: str) -> None:
    err = io.StringIO()
    argv = [a.format(missing=tmp_path / "nope.jsonl", dataset=dataset) for a in argv]
    assert cli.main(argv, io.StringIO(), err) == 2
    assert err.getvalue().startswith(message) and err.getvalue().count("\n") == 1


def test_demo_reviews_marked_as_test_cases_score_the_rules_judge_as_it_judged_them(
    demo_build: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """People agree with the rules judge on 40 demo calls (most with findings) and mark them as
    test cases: exported (redacted) and judged again from the file alone, the judge must say what it
    said from the warehouse, so every figure on its labels is perfect."""
    db = without_reviews(Path(shutil.copy(demo_build[0], tmp_path / "demo.duckdb")))
    monkeypatch.setenv("CALLBOARD_DB", str(db))
    with duckdb.connect(str(db), read_only=True) as con:
        judged = con.execute(
            """SELECT call_id, score, passed, labels FROM judgements WHERE judge_version = ? AND status = 'ok'
               ORDER BY len(labels) = 0, call_id LIMIT 40""", [RULES.version]
        ).fetchall()  # fmt: skip
    assert len(judged) == 40 and sum(bool(labels) for *_, labels in judged) >= 25
    for call_id, given, passed, labels in judged:
        reviews.save_review(reviews.Review(None, call_id, "Priya", given, passed, tuple(labels), test_case=True))
    out = tmp_path / "demo.jsonl"
    assert export_dataset(out).records == 40
    printed = io.StringIO()
    assert cli.main(["eval", "--dataset", str(out), "--judge", "rules", "--json"], printed, io.StringIO()) == 0
    figures = json.loads(printed.getvalue())
    assert figures["judged"] == 40
    assert figures["pass_fail"]["agreement"] == 1.0
    with_support = [f for f in figures["labels"] if f["support"]]
    assert len(with_support) >= 3
    assert all((f["precision"], f["recall"], f["kappa"]) == (1.0, 1.0, 1.0) for f in with_support)


def test_a_model_with_no_price_stops_eval_and_run_in_one_line(
    dataset: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs and evals read the judge's price the same way: without one the dollar cap cannot be kept."""
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute("DELETE FROM model_prices WHERE starts_with('claude-haiku-4-5', model)")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    for argv in (["eval", "--dataset", str(dataset), "--judge", "claude"],
                 ["run", "--judge", "claude", "--start", "2026-11-02", "--end", "2026-11-02", "--dry-run"]):
        err = io.StringIO()
        assert cli.main(argv, io.StringIO(), err) == 2
        assert err.getvalue().startswith("error: model_prices has no price for anthropic claude-haiku-4-5")
        assert err.getvalue().count("\n") == 1
    assert cli.main(["eval", "--dataset", str(dataset), "--judge", "rules"], io.StringIO(), io.StringIO()) == 0
