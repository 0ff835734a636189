"""Customer complaints: good rows load, unknown call ids are kept and reported, bad rows are
quarantined with their reason, re-import adds nothing, mappings and redaction, and the CLI."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.cli import main
from ingest.complaints import ingest_complaints
from ingest.errors import IngestError
from tests.judge_calls import clean_call, store
from warehouse.ingest_runs import quarantined, recent_runs
from warehouse.taxonomy import rename_mode

CSV = """call_id,complaint,reported_label
call-1,"The agent quoted $60, not $45. Call me on +1 415 555 0100",Hallucinated fact
call-2,I asked for a person three times,escalation-loop
call-404,Nobody called me back,goal_not_met
,No call id here,slow_turn
call-1,,slow_turn
call-2,The robot invented things,made_up_mode
call-2,Mail me at jo@example.com,
"""


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def two_calls(warehouse_file: Path) -> Path:
    store(warehouse_file, [clean_call("call-1"), clean_call("call-2")])
    return warehouse_file


def write(folder: Path, text: str, name: str = "complaints.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_keeps_good_and_unmatched_rows_and_quarantines_bad_ones(two_calls: Path, tmp_path: Path) -> None:
    source = write(tmp_path, CSV)
    summary = ingest_complaints(source, db_path=two_calls)
    assert (summary.read, summary.loaded, summary.quarantined, summary.unmatched) == (7, 3, 4, 1)
    assert summary.unmatched_keys == ["call-404"]
    assert rows(two_calls, "SELECT call_id, reported_label, complaint FROM complaints ORDER BY call_id") == [
        ("call-1", "hallucinated_fact", "The agent quoted $60, not $45. Call me on +1 415 555 0100"),
        ("call-2", "escalation_loop", "I asked for a person three times"),
        ("call-404", "goal_not_met", "Nobody called me back"),
    ]
    refused = quarantined(summary.run_id, db_path=two_calls)
    assert dict(zip(refused["location"], refused["reason"], strict=True)) == {
        "row 4": "no call id in column 'call_id'",
        "row 5": "no complaint text in column 'complaint'",
        "row 6": "reported label made_up_mode is not in the failure-mode list",
        "row 7": "no reported label in column 'reported_label'",
    }
    assert "Mail me at jo@example.com" in refused.filter(refused["location"] == "row 7")["record"].item()
    run = recent_runs(1, db_path=two_calls).row(0, named=True)
    assert (run["kind"], run["status"], run["records_read"], run["records_loaded"], run["records_quarantined"]) == (
        "complaints", "ok", 7, 3, 4)

    again = ingest_complaints(source, db_path=two_calls)
    assert (again.read, again.loaded, again.quarantined) == (7, 0, 4)
    assert rows(two_calls, "SELECT count(*) FROM complaints") == [(3,)]


def test_old_names_of_renamed_modes_are_accepted(two_calls: Path, tmp_path: Path) -> None:
    rename_mode("slow_turn", "slow_reply", two_calls)
    source = write(tmp_path, "call_id,complaint,reported_label\ncall-1,It hung,slow turn\ncall-1,Silence,slow_reply\n")
    assert ingest_complaints(source, db_path=two_calls).loaded == 2


def test_a_mapping_names_their_columns_and_can_ask_for_redaction(two_calls: Path, tmp_path: Path) -> None:
    source = write(tmp_path, "Ticket,Call,What they said,Category\n"
                             "T-1,call-1,Call 020 7946 0958 or jo@example.com,wrong booking\n"
                             "T-2,call-2,Card 4111 1111 1111 1111 charged twice,nope\n")  # fmt: skip
    mapping = write(tmp_path, '[source]\nname = "zendesk"\njoin_on = "call_id"\nredact = true\n'
                              '[columns]\ncall_id = "Call"\ncomplaint = "What they said"\n'
                              'reported_label = "Category"\n', "zendesk.toml")  # fmt: skip
    summary = ingest_complaints(source, mapping, db_path=two_calls)
    assert (summary.loaded, summary.quarantined) == (1, 1)
    assert rows(two_calls, "SELECT complaint, reported_label FROM complaints") == [
        ("Call [phone] or [email]", "wrong_booking")]
    record = quarantined(summary.run_id, db_path=two_calls)["record"].item()
    assert "[card]" in record and "4111" not in record


def test_the_redact_flag_masks_without_a_mapping(two_calls: Path, tmp_path: Path) -> None:
    source = write(tmp_path, "call_id,complaint,reported_label\ncall-1,Ring +44 20 7946 0958,slow_turn\n")
    ingest_complaints(source, redact=True, db_path=two_calls)
    assert rows(two_calls, "SELECT complaint FROM complaints") == [("Ring [phone]",)]


@pytest.mark.parametrize(("text", "mapping", "message"), [
    (None, None, "No such file"),
    ("call,complaint,reported_label\nc,x,slow_turn\n", None,
     "has no column 'call_id'; a complaints file has the columns call_id, complaint, reported_label"),
    ("Call,Text\nc,x\n", '[source]\nname = "z"\njoin_on = "call_id"\n[columns]\ncall_id = "Call"\ncomplaint = "Text"\n',
     "[columns] must name the column of reported_label"),
    ("Call,Text,Label\nc,x,slow_turn\n", '[source]\nname = "z"\njoin_on = "trace_id"\n[columns]\ncall_id = "Call"\n',
     "join_on must be one of call_id"),
])  # fmt: skip
def test_user_mistakes_raise_one_sentence(warehouse_file: Path, tmp_path: Path, text, mapping, message) -> None:
    source = tmp_path / "missing.csv" if text is None else write(tmp_path, text)
    mapping_path = None if mapping is None else write(tmp_path, mapping, "m.toml")
    with pytest.raises(IngestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ingest_complaints(source, mapping_path, db_path=warehouse_file)


def test_cli_prints_the_summary_and_exits_2_on_a_mistake(two_calls: Path, tmp_path: Path, capsys) -> None:
    source = write(tmp_path, CSV)
    assert main(["--db", str(two_calls), "complaints", str(source), "--redact"]) == 0
    printed = capsys.readouterr().out
    assert "kind         complaints" in printed and "matching no call yet: call-404" in printed
    assert "refused records: python -m ingest quarantine" in printed
    assert rows(two_calls, "SELECT complaint FROM complaints WHERE call_id = 'call-1'") == [
        ("The agent quoted $60, not $45. Call me on [phone]",)]

    assert main(["--db", str(two_calls), "complaints", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No such file") and err.count("\n") == 1 and "Traceback" not in err
