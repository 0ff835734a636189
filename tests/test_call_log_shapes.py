"""Call logs in the shapes teams and public datasets really have: no times at all, turn times
without a call start, transcripts as real JSON lists, system prompts and tool messages, semicolons.
Figures are worked out by hand from the inputs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from ingest.call_logs import ingest_call_log
from ingest.errors import IngestError
from ingest.summary import IngestSummary
from tests.export_files import balanced, reasons, rows, write

DIALOGUES = Path(__file__).parent / "fixtures" / "dialogues"
TURNS_HEAD = '[source]\nname = "x"\nlayout = "turns"\n'
CALLS_HEAD = '[source]\nname = "x"\nlayout = "calls"\n'


def load_turns(folder: Path, db: Path, log: str, mapping: str) -> IngestSummary:
    """Write a per-turn log and its mapping (after the [source] lines), and load it."""
    return ingest_call_log(write(folder, "t.csv", log), write(folder, "t.toml", TURNS_HEAD + mapping), db_path=db)


def test_turn_times_without_a_call_start(tmp_path: Path, warehouse_file: Path) -> None:
    log = ("Call,Role,Text,At\nc1,assistant,Hello,2026-03-11T10:00:00Z\n"
           "c1,user,Hi,2026-03-11T10:00:05Z\n")
    mapping = ('[columns]\ncall_id = "Call"\nspeaker = "Role"\ntext = "Text"\n'
               'turn_started_at = "At"\n')
    summary = load_turns(tmp_path, warehouse_file, log, mapping)
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 2, 0)
    assert rows(warehouse_file, "SELECT call_id, started_at, ended_at FROM calls") == [
        ("c1", datetime(2026, 3, 11, 10), datetime(2026, 3, 11, 10, 0, 5))]


def test_a_per_turn_log_with_no_times_loads_in_row_order(tmp_path: Path, warehouse_file: Path) -> None:
    log = ("dialogue,speaker,utterance\nd1,USER,I need a taxi\nd1,SYSTEM,Where to?\n"
           "d2,USER,Book a table\nd1,USER,The station\n")
    mapping = ('[columns]\ncall_id = "dialogue"\nspeaker = "speaker"\n'
               'text = "utterance"\n[speakers]\nagent = ["system"]\n')
    summary = load_turns(tmp_path, warehouse_file, log, mapping)
    assert balanced(summary) and (summary.read, summary.loaded, summary.untimed_calls) == (4, 4, 2)
    assert rows(warehouse_file, "SELECT call_id, turn_index, speaker, text, response_latency_ms FROM turns "
                "ORDER BY call_id, turn_index") == [
        ("d1", 0, "customer", "I need a taxi", None), ("d1", 1, "agent", "Where to?", None),
        ("d1", 2, "customer", "The station", None), ("d2", 0, "customer", "Book a table", None)]
    again = load_turns(tmp_path, warehouse_file, log, mapping)
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, 4)


def test_system_prompts_are_skipped_and_tool_messages_kept_as_tool_events(tmp_path: Path,
                                                                         warehouse_file: Path) -> None:
    transcript = [
        {"role": "system", "content": "You are the booking assistant."},
        {"role": "assistant", "content": "Riverside Clinic, hello."},
        {"role": "user", "content": "Is Dr Patel free on Friday?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "find_slot", "arguments": "{\"day\": \"Fri\"}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "{\"slots\": [\"10:00\"]}"},
        {"role": "assistant", "content": "Yes, at 10:00."},
    ]
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps({"id": "c1", "start": "2026-03-11T10:00:00Z", "messages": transcript}) + "\n")
    mapping = write(tmp_path, "c.toml", CALLS_HEAD + '[columns]\ncall_id = "id"\nstarted_at = "start"\n'
                    'transcript = "messages"\n')
    summary = ingest_call_log(log, mapping, db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (1, 0)
    assert rows(warehouse_file, "SELECT turn_index, speaker, text FROM turns ORDER BY turn_index") == [
        (0, "agent", "Riverside Clinic, hello."), (1, "customer", "Is Dr Patel free on Friday?"),
        (2, "agent", "Yes, at 10:00.")]
    assert rows(warehouse_file, "SELECT call_id, kind, tool_name, turn_index, input_text, output_text FROM spans") == [
        ("c1", "tool", "find_slot", 2, '{"day": "Fri"}', '{"slots": ["10:00"]}')]
    assert rows(warehouse_file, "SELECT span_count, turn_count FROM calls") == [(1, 3)]


def test_skip_can_name_other_speakers(tmp_path: Path, warehouse_file: Path) -> None:
    log = ("Call,Role,Text,Start\nc1,narrator,(music),2026-03-11T10:00:00Z\n"
           "c1,agent,Hello,2026-03-11T10:00:00Z\n")
    mapping = ('[columns]\ncall_id = "Call"\nspeaker = "Role"\n'
               'text = "Text"\nstarted_at = "Start"\n[speakers]\nskip = ["narrator"]\n')
    summary = load_turns(tmp_path, warehouse_file, log, mapping)
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 2, 0)
    assert rows(warehouse_file, "SELECT turn_index, speaker, text FROM turns") == [(0, "agent", "Hello")]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_transcript_given_as_a_real_list(tmp_path: Path, warehouse_file: Path, suffix: str) -> None:
    record = {"id": "c1", "start": "2026-03-11T10:00:00Z",
              "transcript": [{"speaker": "agent", "text": "Hello"}, {"speaker": "customer", "text": "Hi"}]}
    log = tmp_path / f"calls{suffix}"
    if suffix == ".parquet":
        pl.DataFrame([record]).write_parquet(log)
    else:
        log.write_text(json.dumps(record) + "\n")
    mapping = write(tmp_path, "c.toml", CALLS_HEAD + '[columns]\ncall_id = "id"\nstarted_at = "start"\n'
                    'transcript = "transcript"\n')
    assert ingest_call_log(log, mapping, db_path=warehouse_file).loaded == 1
    assert rows(warehouse_file, "SELECT speaker, text FROM turns ORDER BY turn_index") == [
        ("agent", "Hello"), ("customer", "Hi")]


def test_semicolons_crlf_and_a_bom(tmp_path: Path, warehouse_file: Path) -> None:
    log = tmp_path / "t.csv"
    log.write_bytes(b'\xef\xbb\xbfCall;Role;Text\r\nc1;Agent;"Hello; how can I help?"\r\n')
    mapping = write(tmp_path, "t.toml", TURNS_HEAD + '[columns]\ncall_id = "Call"\nspeaker = "Role"\ntext = "Text"\n')
    ingest_call_log(log, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT call_id, speaker, text FROM turns") == [
        ("c1", "agent", "Hello; how can I help?")]


def test_a_call_whose_call_fields_are_refused_is_refused_whole(tmp_path: Path, warehouse_file: Path) -> None:
    log = ("Call,Agent,Start,Role,Text\nc1,salon-bot,yesterday,agent,Hello\n"
           "c1,,,user,Hi\nc2,salon-bot,2026-03-11T10:00:00Z,dog,Woof\nc2,,,agent,Hello\n")
    mapping = ('[columns]\ncall_id = "Call"\nagent = "Agent"\n'
               'started_at = "Start"\nspeaker = "Role"\ntext = "Text"\n')
    summary = load_turns(tmp_path, warehouse_file, log, mapping)
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (4, 1, 3)
    # c2's first row is refused for its speaker, but the call keeps the agent that row gives
    assert rows(warehouse_file, "SELECT call_id, agent, started_at FROM calls") == [
        ("c2", "salon-bot", datetime(2026, 3, 11, 10))]
    assert reasons(warehouse_file, summary.run_id) == [
        ("row 1", "started_at: yesterday in column 'Start' is not a date and time"),
        ("row 2", "call c1 is refused with its row 1 (started_at: yesterday in column 'Start' is not a date and time)"),
        ("row 3", "speaker dog in column 'Role' is not in [speakers] (customer: customer, user, caller, human, "
                  "client; agent: agent, assistant, bot, ai; skip: system, developer, tool, function)")]


def test_the_delimiter_in_the_mapping_is_used(tmp_path: Path, warehouse_file: Path) -> None:
    log = "Call|Role|Text\nc1|agent|Hello, there\n"
    mapping = ('delimiter = "|"\n[columns]\ncall_id = "Call"\n'
               'speaker = "Role"\ntext = "Text"\n')
    load_turns(tmp_path, warehouse_file, log, mapping)
    assert rows(warehouse_file, "SELECT text FROM turns") == [("Hello, there",)]


def test_an_empty_log_is_one_sentence(tmp_path: Path, warehouse_file: Path) -> None:
    mapping = write(tmp_path, "t.toml", TURNS_HEAD + '[columns]\ncall_id = "Call"\nspeaker = "Role"\ntext = "Text"\n')
    with pytest.raises(IngestError, match="is empty"):
        ingest_call_log(write(tmp_path, "t.csv", ""), mapping, db_path=warehouse_file)


@pytest.mark.parametrize(("name", "calls", "turns"), [("taskmaster", 3, 9), ("multiwoz", 2, 6)])
def test_public_dialogue_datasets_load_by_the_docs(warehouse_file: Path, name: str, calls: int, turns: int) -> None:
    """The fixtures are shaped like the datasets' own files; the mappings are the ones
    docs/call-logs.md gives for them."""
    summary = ingest_call_log(DIALOGUES / f"{name}.json", DIALOGUES / f"{name}.toml", db_path=warehouse_file)
    dialogues = json.loads((DIALOGUES / f"{name}.json").read_text())
    spoken = [(str(d.get("conversation_id", d.get("dialogue_id"))), i, t.get("text", t.get("utterance")))
              for d in dialogues for i, t in enumerate(d.get("utterances", d.get("turns")))]
    assert (summary.read, summary.loaded, summary.quarantined, summary.untimed_calls) == (calls, calls, 0, calls)
    assert rows(warehouse_file, "SELECT call_id, turn_index, text FROM turns ORDER BY call_id, turn_index") == sorted(
        spoken)
    assert len(spoken) == turns
    assert {s for (s,) in rows(warehouse_file, "SELECT DISTINCT speaker FROM turns")} == {"customer", "agent"}
    docs = (Path(__file__).resolve().parent.parent / "docs" / "call-logs.md").read_text()
    assert (DIALOGUES / f"{name}.toml").read_text().split("\n", 1)[1] in docs


def test_tool_rows_of_a_per_turn_log_are_tool_events(tmp_path: Path, warehouse_file: Path) -> None:
    log = ("Call,Role,Text\nc1,system,You are a booking bot.\nc1,user,Any slot Friday?\n"
           'c1,tool,"{""slots"": [""10:00""]}"\nc1,assistant,Yes: 10:00.\n')
    mapping = '[columns]\ncall_id = "Call"\nspeaker = "Role"\ntext = "Text"\n'
    summary = load_turns(tmp_path, warehouse_file, log, mapping)
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (4, 4, 0)
    assert rows(warehouse_file, "SELECT turn_index, speaker, text FROM turns ORDER BY turn_index") == [
        (0, "customer", "Any slot Friday?"), (1, "agent", "Yes: 10:00.")]
    assert rows(warehouse_file, "SELECT kind, turn_index, output_text FROM spans") == [
        ("tool", 1, '{"slots": ["10:00"]}')]
