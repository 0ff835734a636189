"""Outcome exports as CRMs and survey tools really write them: several rows for one call, the
export's own record id, US and European dates, decimal commas, semicolons, other encodings, open
stages, words in any case. Each test feeds the shape in and checks every value against what the
file says, worked out by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from ingest.summary import format_table
from tests.export_files import balanced, reasons, rows, write
from warehouse.ingest_runs import recent_runs

CRM_HEAD = '[source]\nname = "crm"\njoin_on = "call_id"\n'
STAGES = '[values]\nbooked = { true = ["Closed Won"], false = ["Closed Lost"] }\n'


def test_several_rows_for_one_call_are_combined_not_replaced(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "deals.csv", "Call,Stage,Amount,NPS,Closed\n"
                   'c1,Closed Won,"$1,250",10,2026-03-01T10:00:00Z\n'
                   "c1,Closed Lost,,7,2026-03-05T10:00:00Z\n"
                   "c2,Closed Lost,,3,2026-03-02T10:00:00Z\n")
    mapping = write(tmp_path, "deals.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nbooked = "Stage"\n'
                    'stage = "Stage"\ndeal_value_usd = "Amount"\nnps = "NPS"\nrecorded_at = "Closed"\n' + STAGES)
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    # any booking counts, the highest survey answer, the latest stage and time
    assert rows(warehouse_file, "SELECT external_key, booked, deal_value_usd, nps, stage, recorded_at FROM outcomes "
                "ORDER BY external_key") == [
        ("c1", True, 1250.0, 10, "Closed Lost", datetime(2026, 3, 5, 10)),
        ("c2", False, None, 3, "Closed Lost", datetime(2026, 3, 2, 10))]
    assert (summary.read, summary.loaded, summary.updated, summary.unchanged, summary.quarantined) == (3, 3, 0, 0, 0)


def test_the_exports_own_record_id_keys_its_rows(tmp_path: Path, warehouse_file: Path) -> None:
    text = ("Record ID,Call,Stage,Amount\n"
            "d-1,c1,Closed Won,900\n"
            "d-2,c1,Closed Lost,\n")
    mapping = write(tmp_path, "deals.toml", CRM_HEAD + '[columns]\nrecord_id = "Record ID"\ncall_id = "Call"\n'
                    'booked = "Stage"\ndeal_value_usd = "Amount"\n' + STAGES)
    first = ingest_outcomes(write(tmp_path, "a.csv", text), mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT record_id, external_key, booked, deal_value_usd FROM outcomes "
                "ORDER BY record_id") == [("d-1", "c1", True, 900.0), ("d-2", "c1", False, None)]
    assert (first.loaded, first.updated, first.unchanged) == (2, 0, 0)
    # the same content under another file name changes nothing
    again = ingest_outcomes(write(tmp_path, "b.csv", text), mapping, db_path=warehouse_file)
    assert (again.read, again.loaded, again.updated, again.unchanged) == (2, 0, 0, 2)
    edited = ingest_outcomes(write(tmp_path, "c.csv", text.replace("900", "950")), mapping, db_path=warehouse_file)
    assert (edited.loaded, edited.updated, edited.unchanged) == (0, 1, 1)
    assert rows(warehouse_file, "SELECT record_id, deal_value_usd FROM outcomes ORDER BY record_id") == [
        ("d-1", 950.0), ("d-2", None)]  # the changed record replaced, not stored twice


def test_a_report_counts_every_unmatched_key_but_lists_only_the_first_few(tmp_path: Path,
                                                                           warehouse_file: Path) -> None:
    """A large export matching no call yet must not carry millions of keys through memory to print ten."""
    calls = [f"c{i:02d}" for i in range(25)]
    export = write(tmp_path, "many.csv", "Call,NPS\n" + "".join(f"{c},7\n{c},8\n" for c in calls))
    mapping = write(tmp_path, "many.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nnps = "NPS"\n')
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert (summary.unmatched, summary.unmatched_keys) == (25, calls[:10])
    assert format_table(summary).endswith("matching no call yet: " + ", ".join(calls[:10]) + " and 15 more")


def test_us_dates_follow_the_evidence_in_the_column(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "us.csv", "Call,NPS,Closed\nc1,9,11/03/2026\nc2,8,11/13/2026 2:05 PM\n")
    mapping = write(tmp_path, "us.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nnps = "NPS"\n'
                    'recorded_at = "Closed"\n')
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert summary.quarantined == 0
    assert rows(warehouse_file, "SELECT external_key, recorded_at FROM outcomes ORDER BY 1") == [
        ("c1", datetime(2026, 11, 3)), ("c2", datetime(2026, 11, 13, 14, 5))]


def test_ambiguous_day_month_dates_need_the_mapping_to_say(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "eu.csv", "Call,Closed\nc1,11/03/2026\nc2,01/02/2026\n")
    columns = '[columns]\ncall_id = "Call"\nrecorded_at = "Closed"\n'
    with pytest.raises(IngestError, match=r"could be day/month or month/day.*day_first"):
        ingest_outcomes(export, write(tmp_path, "a.toml", CRM_HEAD + columns), db_path=warehouse_file)
    day_first = CRM_HEAD + columns + "[dates]\nrecorded_at = { day_first = true }\n"
    ingest_outcomes(export, write(tmp_path, "b.toml", day_first), db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, recorded_at FROM outcomes ORDER BY 1") == [
        ("c1", datetime(2026, 3, 11)), ("c2", datetime(2026, 2, 1))]
    explicit = CRM_HEAD.replace('"crm"', '"crm2"') + columns + '[dates]\nrecorded_at = { format = "%m/%d/%Y" }\n'
    ingest_outcomes(export, write(tmp_path, "c.toml", explicit), db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, recorded_at FROM outcomes WHERE source = 'crm2' ORDER BY 1") == [
        ("c1", datetime(2026, 11, 3)), ("c2", datetime(2026, 1, 2))]


def test_a_column_mixing_iso_offsets_and_unix_times_is_read_value_by_value(tmp_path: Path,
                                                                           warehouse_file: Path) -> None:
    export = write(tmp_path, "mixed.csv", "Call,Closed\nc1,2026-03-11T10:00:00Z\nc2,2026-03-11 12:00:00+02:00\n"
                   "c3,1773223200\nc4,1773223200000\nc5,2026-03-11\n")
    mapping = write(tmp_path, "m.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nrecorded_at = "Closed"\n')
    assert ingest_outcomes(export, mapping, db_path=warehouse_file).quarantined == 0
    assert rows(warehouse_file, "SELECT external_key, recorded_at FROM outcomes ORDER BY 1") == [
        ("c1", datetime(2026, 3, 11, 10)), ("c2", datetime(2026, 3, 11, 10)), ("c3", datetime(2026, 3, 11, 10)),
        ("c4", datetime(2026, 3, 11, 10)), ("c5", datetime(2026, 3, 11))]


def test_semicolons_and_decimal_commas_are_sniffed(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "eu.csv", 'Call;Stage;Amount;CSAT\nc1;Closed Won;"1.250,00";4\nc2;Closed Won;99,5;5\n')
    mapping = write(tmp_path, "eu.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nbooked = "Stage"\n'
                    'deal_value_usd = "Amount"\ncsat = "CSAT"\n' + STAGES)
    ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, deal_value_usd, csat FROM outcomes ORDER BY 1") == [
        ("c1", 1250.0, 4), ("c2", 99.5, 5)]


def test_delimiter_and_decimal_can_be_given(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "pipe.txt.csv", "Call|Amount\nc1|1,5\n")
    mapping = write(tmp_path, "p.toml", CRM_HEAD + 'delimiter = "|"\ndecimal = ","\n'
                    '[columns]\ncall_id = "Call"\ndeal_value_usd = "Amount"\n')
    ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, deal_value_usd FROM outcomes") == [("c1", 1.5)]


def test_a_csat_that_is_not_a_whole_number_is_refused_not_truncated(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "s.csv", "Call,CSAT\nc1,4.5\nc2,4\n")
    mapping = write(tmp_path, "s.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\ncsat = "CSAT"\n')
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, csat FROM outcomes") == [("c2", 4)]
    assert reasons(warehouse_file, summary.run_id) == [("row 1", "csat 4.5 in column 'CSAT' is not a whole number")]


def test_value_words_ignore_case_pending_stages_load_and_errors_list_the_words(tmp_path: Path,
                                                                              warehouse_file: Path) -> None:
    export = write(tmp_path, "d.csv", "Call,Stage,NPS\nc1,closed won,9\nc2,Appointment Scheduled,8\nc3,Maybe,7\n")
    mapping = write(tmp_path, "d.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nbooked = "Stage"\nnps = "NPS"\n'
                    '[values]\nbooked = { true = ["Closed Won"], false = ["Closed Lost"], '
                    'pending = ["Appointment Scheduled"] }\n')
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, booked, nps FROM outcomes ORDER BY 1") == [
        ("c1", True, 9), ("c2", None, 8)]
    assert reasons(warehouse_file, summary.run_id) == [
        ("row 3", "booked: Maybe in column 'Stage' is none of Closed Won (true), Closed Lost (false), "
                  "Appointment Scheduled (pending)")]


def test_json_and_ndjson_exports_load(tmp_path: Path, warehouse_file: Path) -> None:
    mapping = write(tmp_path, "j.toml", CRM_HEAD + '[columns]\ncall_id = "call"\nnps = "nps"\n')
    ingest_outcomes(write(tmp_path, "a.json", '[{"call": "c1", "nps": 9}]'), mapping, db_path=warehouse_file)
    ingest_outcomes(write(tmp_path, "b.ndjson", '{"call": "c2", "nps": 10}\n'), mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT external_key, nps FROM outcomes ORDER BY 1") == [("c1", 9), ("c2", 10)]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    ("Call,Note\nc1,caf\xe9\n".encode("latin-1"), r"not UTF-8 \(line 2\).*encoding = \"latin-1\""),
])
def test_unreadable_files_are_one_sentence(tmp_path: Path, warehouse_file: Path, content: bytes,
                                            message: str) -> None:
    mapping = write(tmp_path, "m.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\n')
    with pytest.raises(IngestError, match=message):
        ingest_outcomes(write(tmp_path, "x.csv", content), mapping, db_path=warehouse_file)


def test_latin1_loads_when_the_mapping_says_so(tmp_path: Path, warehouse_file: Path) -> None:
    export = write(tmp_path, "x.csv", "Call,Note\nc1,caf\xe9\n".encode("latin-1"))
    mapping = write(tmp_path, "m.toml", CRM_HEAD + 'encoding = "latin-1"\n[columns]\ncall_id = "Call"\n')
    ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT extra->>'Note' FROM outcomes") == [("café",)]


def test_an_unknown_source_option_is_a_user_mistake(tmp_path: Path, warehouse_file: Path) -> None:
    mapping = write(tmp_path, "m.toml", CRM_HEAD + 'delimeter = ";"\n[columns]\ncall_id = "Call"\n')
    with pytest.raises(IngestError, match="unknown key 'delimeter' in \\[source\\]"):
        ingest_outcomes(write(tmp_path, "x.csv", "Call\nc1\n"), mapping, db_path=warehouse_file)


def test_refused_rows_are_listed_in_row_order_and_the_run_balances(tmp_path: Path, warehouse_file: Path) -> None:
    lines = ["Call,NPS"] + [f"c{i},{11 if i in (3, 10) else 5}" for i in range(1, 12)]
    export = write(tmp_path, "n.csv", "\n".join(lines) + "\n")
    mapping = write(tmp_path, "n.toml", CRM_HEAD + '[columns]\ncall_id = "Call"\nnps = "NPS"\n')
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert [location for location, _ in reasons(warehouse_file, summary.run_id)] == ["row 3", "row 10"]
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (11, 9, 2)
    run = recent_runs(db_path=warehouse_file).row(0, named=True)
    assert run["records_read"] == (run["records_loaded"] + run["records_updated"] + run["records_unchanged"]
                                   + run["records_quarantined"])
