"""Outcome exports through their TOML mappings, and prompt folders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from ingest.prompts import ingest_prompts
from ingest.traces import ingest_traces
from warehouse.ingest_runs import quarantined

FIXTURES = Path(__file__).parent / "fixtures"
OUTCOMES = FIXTURES / "outcomes"


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_crm_export_maps_values_keeps_unmatched_and_quarantines(warehouse_file: Path) -> None:
    ingest_traces([FIXTURES / "traces" / "genai_hex.jsonl"], db_path=warehouse_file)
    summary = ingest_outcomes(OUTCOMES / "crm.csv", OUTCOMES / "crm.toml", db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined, summary.unmatched) == (4, 2, 2, 1)
    assert summary.unmatched_keys == ["call-missing"]
    got = rows(warehouse_file, "SELECT external_key, call_id, source, booked, deal_value_usd, resolved, escalated, "
               "recorded_at, extra->>'$.\"Rep Note\"' FROM outcomes ORDER BY external_key")
    assert got == [
        ("call-genai-1", "call-genai-1", "crm", True, 1250.0, True, False, datetime(2025, 10, 9, 9, 30),
         "called back [phone]"),
        ("call-missing", None, "crm", False, None, False, True, datetime(2025, 10, 9, 10, 0), None),
    ]
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    assert dict(zip(refused["location"], refused["reason"], strict=True)) == {
        "row 3": "booked: Maybe in column 'Outcome' is none of Booked (true), Won (true), Not booked (false), "
                 "Lost (false)",
        "row 4": "no call_id in column 'Call ID'",
    }
    again = ingest_outcomes(OUTCOMES / "crm.csv", OUTCOMES / "crm.toml", db_path=warehouse_file)
    assert (again.loaded, again.updated) == (0, 0)
    assert rows(warehouse_file, "SELECT count(*) FROM outcomes") == [(2,)]


def test_outcomes_before_calls_are_linked_when_the_traces_arrive(warehouse_file: Path) -> None:
    summary = ingest_outcomes(OUTCOMES / "survey.csv", OUTCOMES / "survey.toml", db_path=warehouse_file)
    assert (summary.loaded, summary.unmatched, summary.quarantined) == (1, 1, 1)
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    assert refused["reason"].to_list() == ["nps 11 is outside 0–10"]
    ingest_traces([FIXTURES / "traces" / "openinference_b64.json"], db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT call_id, trace_id, nps, csat FROM outcomes") == [
        ("salon-call-9", "0af7651916cd43dd8448eb211c80319c", 9, 5)]


@pytest.mark.parametrize(("mapping", "message"), [
    ("join_on = \"phone\"", "join_on must be one of call_id, trace_id"),
    ("nps_score = \"NPS\"", "unknown field 'nps_score'"),
])
def test_bad_mapping_is_a_user_mistake(tmp_path: Path, warehouse_file: Path, mapping: str, message: str) -> None:
    text = (OUTCOMES / "survey.toml").read_text()
    text = text.replace('join_on = "trace_id"', mapping) if "join_on" in mapping else text + mapping + "\n"
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(IngestError, match=message):
        ingest_outcomes(OUTCOMES / "survey.csv", bad, db_path=warehouse_file)


def test_prompt_folder_upserts_and_quarantines_bad_files(warehouse_file: Path) -> None:
    summary = ingest_prompts(FIXTURES / "prompts", db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 1, 1)
    assert rows(warehouse_file, "SELECT * FROM prompt_versions") == [
        ("clinic-booking", "v7", "You are the booking assistant of Riverside Clinic.\nOffer two times.",
         "Offer two concrete times up front.", "priya", datetime(2025, 10, 1, 6, 0))]
    assert quarantined(summary.run_id, db_path=warehouse_file)["reason"].to_list() == [
        "no front matter: the file must start with a +++ line"]
    assert ingest_prompts(FIXTURES / "prompts", db_path=warehouse_file).loaded == 0


def test_two_prompt_files_with_one_version_quarantine_the_later(tmp_path: Path, warehouse_file: Path) -> None:
    agent = tmp_path / "clinic-booking"
    agent.mkdir()
    for name, text in (("a.md", "First."), ("b.md", "Second.")):
        (agent / name).write_text(f'+++\nversion = "v7"\n+++\n{text}\n')
    summary = ingest_prompts(tmp_path, db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 1, 1)
    assert rows(warehouse_file, "SELECT version, prompt_text FROM prompt_versions") == [("v7", "First.")]
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    assert refused["reason"].to_list() == ["version 'v7' is already given by a.md"]
    assert refused["source_file"].to_list() == [str((agent / "b.md").resolve())]


@pytest.mark.parametrize("line", ["reason = 5", "author = [\"priya\"]"])
def test_prompt_front_matter_of_the_wrong_type_is_quarantined(tmp_path: Path, warehouse_file: Path,
                                                              line: str) -> None:
    agent = tmp_path / "clinic-booking"
    agent.mkdir()
    (agent / "v1.md").write_text(f'+++\nversion = "v1"\n{line}\n+++\nHello.\n')
    summary = ingest_prompts(tmp_path, db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (1, 0, 1)
    assert quarantined(summary.run_id, db_path=warehouse_file)["reason"].to_list() == [
        f"{line.split()[0]} must be text in quotes"]
    assert rows(warehouse_file, "SELECT count(*) FROM prompt_versions") == [(0,)]
