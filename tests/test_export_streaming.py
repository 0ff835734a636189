"""Large exports are read chunk by chunk and combined piece by piece (ingest/tables.py,
ingest/pieces.py). Cutting a file into many small chunks and pieces must give exactly the
warehouse one piece gives: rows of one record or one call far apart in the file, a quoted value
with line ends and delimiters across a chunk's edge, JSON lines and Parquet in batches. And a
file of a few hundred MB must load in memory that does not grow with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest import outcomes, pieces, tables
from ingest.call_logs import ingest_call_log
from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from tests.export_files import balanced, reasons, rows, write

ROOT = Path(__file__).resolve().parent.parent
CRM = ('[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\ncall_id = "Call"\nbooked = "Stage"\nstage = "Stage"\n'
       'deal_value_usd = "Amount"\nnps = "NPS"\nrecorded_at = "Closed"\n'
       '[values]\nbooked = { true = ["Closed Won"], false = ["Closed Lost"], pending = ["Open"] }\n')
OUTCOME_TABLE = ("SELECT external_key, booked, stage, deal_value_usd, nps, recorded_at, extra::VARCHAR, n "
                 "FROM outcomes JOIN (SELECT count(*) AS n FROM outcomes) ON true ORDER BY external_key")
CALL_TABLES = ("SELECT call_id, agent, started_at, ended_at, turn_count, span_count FROM calls ORDER BY call_id",
               "SELECT call_id, turn_index, speaker, text, started_at FROM turns ORDER BY call_id, turn_index",
               "SELECT call_id, turn_index, output_text FROM spans ORDER BY call_id, span_id")


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Chunks of about 200 bytes and pieces of about 300 bytes of frames; yields the (chunk,
    pieces) of every chunk staged, to show the file really was cut."""
    monkeypatch.setattr(tables, "CHUNK_BYTES", 200)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 300)
    staged: list[tuple[int, int]] = []
    real = pieces.stage

    def recording(frame: pl.DataFrame, key: str, count: int, folder: Path, chunk: int) -> None:
        staged.append((chunk, count))
        real(frame, key, count, folder, chunk)

    monkeypatch.setattr(pieces, "stage", recording)
    monkeypatch.setattr(outcomes, "stage", recording)
    monkeypatch.setattr("ingest.call_logs.stage", recording)
    yield staged


def _deals() -> str:
    """Call c-1's rows at the start, the middle and the end; a quoted note with a line end and
    delimiters; bad rows between."""
    lines = ["Call;Stage;Amount;NPS;Closed;Note",
             'c-1;Closed Won;"1.250,00";10;01.03.2026 10:00;"first; won\nwith a line end"']
    for i in range(2, 40):
        lines.append(f"c-{i};{'Closed Lost' if i % 3 else 'open'};{i},50;{i % 11};{i % 28 + 1:02d}.03.2026 09:00;"
                     f'"note {i}; ""quoted"", and long enough to cross a chunk\'s edge"')
        if i == 20:
            lines.append("c-1;Closed Lost;;7;05.03.2026 10:00;later row for c-1")
    lines += ["c-40;Maybe;1;1;01.03.2026;an unknown word", "c-1;Open;;3;02.03.2026 10:00;an open stage, earlier"]
    return "\r\n".join(lines) + "\r\n"


def test_an_outcome_export_cut_small_gives_what_it_gives_whole(tmp_path: Path, small_pieces: list) -> None:
    export, mapping = write(tmp_path, "deals.csv", _deals()), write(tmp_path, "deals.toml", CRM)
    cut = ingest_outcomes(export, mapping, db_path=tmp_path / "cut.duckdb")
    chunks, counts = {c for c, _ in small_pieces}, {n for _, n in small_pieces}
    assert len(chunks) >= 10 and min(counts) >= 4  # the file really was cut into chunks and pieces
    small_pieces.clear()
    pieces.PIECE_BYTES, tables.CHUNK_BYTES = 1 << 30, 1 << 30  # monkeypatch restores them
    whole = ingest_outcomes(export, mapping, db_path=tmp_path / "whole.duckdb")
    assert {c for c, _ in small_pieces} == {0} and {n for _, n in small_pieces} == {1}
    assert rows(tmp_path / "cut.duckdb", OUTCOME_TABLE) == rows(tmp_path / "whole.duckdb", OUTCOME_TABLE)
    assert balanced(cut) and (cut.read, cut.loaded, cut.quarantined) == (42, 41, 1)
    assert (whole.read, whole.loaded, whole.quarantined) == (42, 41, 1)
    # c-1's three rows, combined by hand: a booking counts, the highest NPS and amount, the latest stage
    (c1,) = rows(tmp_path / "cut.duckdb", "SELECT booked, stage, deal_value_usd, nps, extra->>'Note' FROM outcomes "
                 "WHERE external_key = 'c-1'")
    assert c1 == (True, "Closed Lost", 1250.0, 10, "later row for c-1")
    assert rows(tmp_path / "cut.duckdb", "SELECT extra->>'Note' FROM outcomes WHERE external_key = 'c-9'") == [
        ('note 9; "quoted", and long enough to cross a chunk\'s edge',)]
    assert reasons(tmp_path / "cut.duckdb", cut.run_id) == [
        ("row 41", "booked: Maybe in column 'Stage' is none of Closed Won (true), Closed Lost (false), Open (pending)")]


def test_a_quoted_value_spanning_chunks_is_not_cut(tmp_path: Path, small_pieces: list) -> None:
    note = "line\n" * 100 + 'with "quotes" and, commas'  # far longer than a chunk
    export = write(tmp_path, "d.csv", 'Call,NPS,Note\nc-1,9,"' + note.replace('"', '""') + '"\nc-2,8,short\n')
    mapping = write(tmp_path, "d.toml", '[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\n'
                    'call_id = "Call"\nnps = "NPS"\n')
    summary = ingest_outcomes(export, mapping, db_path=tmp_path / "w.duckdb")
    assert (summary.read, summary.loaded) == (2, 2)
    assert rows(tmp_path / "w.duckdb", "SELECT external_key, nps, extra->>'Note' FROM outcomes ORDER BY 1") == [
        ("c-1", 9, note), ("c-2", 8, "short")]


def _turns() -> str:
    """Call c-1's turns at the start and at the end of the file (not contiguous), its agent given
    on its first row only, a tool row, a duplicated turn, a refused call far from its bad row."""
    lines = ["Call,Agent,Start,Turn,Who,Said",
             "c-1,salon-bot,2026-03-11T10:00:00Z,0,assistant,Hello there",
             "c-1,,,1,user,I need a cut"]
    for i in range(2, 30):
        lines += [f"c-{i},bot-{i},2026-03-{i % 28 + 1:02d}T09:00:00Z,0,assistant,Hello from call {i}",
                  f'c-{i},,,1,user,"A question, for call {i}, long enough to fill a chunk"']
    lines += ['c-1,,,2,tool,"{""slots"": [""10:00""]}"', "c-1,,,2,assistant,Friday at ten?",
              "c-1,,,2,assistant,Friday at ten?", "c-7,,yesterday,2,user,bad start far from c-7's first row"]
    return "\n".join(lines) + "\n"


def test_a_call_log_cut_small_gives_what_it_gives_whole(tmp_path: Path, small_pieces: list) -> None:
    log = write(tmp_path, "t.csv", _turns())
    mapping = write(tmp_path, "t.toml", '[source]\nname = "x"\nlayout = "turns"\n[columns]\ncall_id = "Call"\n'
                    'agent = "Agent"\nstarted_at = "Start"\nturn_index = "Turn"\nspeaker = "Who"\ntext = "Said"\n')
    cut = ingest_call_log(log, mapping, db_path=tmp_path / "cut.duckdb")
    assert len({c for c, _ in small_pieces}) >= 10 and min(n for _, n in small_pieces) >= 4
    pieces.PIECE_BYTES, tables.CHUNK_BYTES = 1 << 30, 1 << 30
    whole = ingest_call_log(log, mapping, db_path=tmp_path / "whole.duckdb")
    for sql in CALL_TABLES:
        assert rows(tmp_path / "cut.duckdb", sql) == rows(tmp_path / "whole.duckdb", sql)
    assert balanced(cut) and (cut.read, cut.loaded, cut.quarantined) == (whole.read, whole.loaded, whole.quarantined)
    assert (cut.read, cut.quarantined) == (62, 4)  # c-7's two rows and its bad one, c-1's repeated turn
    start = datetime(2026, 3, 11, 10)  # no turn times: the turns are dated by their call
    assert rows(tmp_path / "cut.duckdb", "SELECT turn_index, speaker, text, started_at FROM turns "
                "WHERE call_id = 'c-1' ORDER BY turn_index") == [
        (0, "agent", "Hello there", start), (1, "customer", "I need a cut", start),
        (2, "agent", "Friday at ten?", start)]
    assert rows(tmp_path / "cut.duckdb", "SELECT agent, turn_count, span_count FROM calls WHERE call_id = 'c-1'") == [
        ("salon-bot", 3, 1)]
    assert [r for _, r in reasons(tmp_path / "cut.duckdb", cut.run_id)] == [
        "call c-7 is refused with its row 62 (started_at: yesterday in column 'Start' is not a date and time)",
        "call c-7 is refused with its row 62 (started_at: yesterday in column 'Start' is not a date and time)",
        "turn 2 of call c-1 appears on an earlier row too",
        "started_at: yesterday in column 'Start' is not a date and time"]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_json_lines_and_parquet_are_read_in_batches(tmp_path: Path, small_pieces: list, suffix: str) -> None:
    """A key that only later lines have still becomes a column; a call listed twice, far apart,
    keeps its first row."""
    records = [{"id": f"c-{i}", "start": f"2026-03-{i % 28 + 1:02d}T10:00:00Z",
                "transcript": [{"speaker": "agent", "text": f"Hello {i}"}, {"speaker": "user", "text": "Hi"}]}
               for i in range(40)]
    records[30]["agent"] = "late-key-bot"
    records.append({**records[3], "transcript": [{"speaker": "agent", "text": "a second copy"}]})
    log = tmp_path / f"calls{suffix}"
    if suffix == ".parquet":
        pl.DataFrame(records).write_parquet(log, row_group_size=5)
    else:
        log.write_text("".join(json.dumps(r) + "\n" for r in records))
    mapping = write(tmp_path, "c.toml", '[source]\nname = "x"\nlayout = "calls"\n[columns]\ncall_id = "id"\n'
                    'agent = "agent"\nstarted_at = "start"\ntranscript = "transcript"\n')
    summary = ingest_call_log(log, mapping, db_path=tmp_path / "w.duckdb")
    assert len({c for c, _ in small_pieces}) >= 5
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (41, 40, 1)
    assert rows(tmp_path / "w.duckdb", "SELECT count(*), count(agent), max(agent) FROM calls") == [
        (40, 1, "late-key-bot")]
    assert rows(tmp_path / "w.duckdb", "SELECT text FROM turns WHERE call_id = 'c-3' ORDER BY turn_index") == [
        ("Hello 3",), ("Hi",)]
    assert reasons(tmp_path / "w.duckdb", summary.run_id) == [("row 41", "call c-3 appears on an earlier row too")]


# A child loads the file and prints its own peak RSS (KiB): VmHWM, its memory's high-water mark
# (getrusage's ru_maxrss carries the parent's, this test session's, over into the child).
_PEAK = r"""
import re, sys
from pathlib import Path
from ingest.outcomes import ingest_outcomes
s = ingest_outcomes(Path(sys.argv[1]), Path(sys.argv[2]), db_path=Path(sys.argv[3]))
print(s.read, s.loaded, re.search(r"VmHWM:\s*(\d+)", Path("/proc/self/status").read_text()).group(1))
"""
MEMORY_BUDGET_MB = 520  # measured: 415-470 MB; before streaming this file took 630 MB, and more the larger it was


def test_a_large_export_loads_in_bounded_memory(tmp_path: Path) -> None:
    """About 150 MB of deals (wide notes, so the run is quick): the load's peak memory stays
    under a fixed budget, well below what holding the file, or its rows in DuckDB, takes."""
    export = tmp_path / "big.csv"
    note = "n" * 380
    with export.open("w") as out:
        out.write("Call,Stage,NPS,Note\n")
        for block in range(40):
            out.write("".join(f"c-{i},{'Closed Won' if i % 2 else 'Closed Lost'},{i % 11},{note}\n"
                              for i in range(block * 10_000, block * 10_000 + 10_000)))
    size_mb = export.stat().st_size / 1e6
    mapping = write(tmp_path, "big.toml", '[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\n'
                    'call_id = "Call"\nbooked = "Stage"\nnps = "NPS"\n'
                    '[values]\nbooked = { true = ["Closed Won"], false = ["Closed Lost"] }\n')
    done = subprocess.run([sys.executable, "-c", _PEAK, str(export), str(mapping), str(tmp_path / "w.duckdb")],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=True)
    read, loaded, peak_kib = (int(v) for v in done.stdout.split())
    assert (read, loaded) == (400_000, 400_000) and size_mb > 150
    assert peak_kib / 1024 < MEMORY_BUDGET_MB, f"peak {peak_kib / 1024:.0f} MB for a {size_mb:.0f} MB file"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(booked::INT), sum(nps) FROM outcomes").fetchone() == (
            400_000, 200_000, sum(i % 11 for i in range(400_000)))


def test_a_column_the_mapping_names_is_missed_at_the_first_chunk(tmp_path: Path, small_pieces: list) -> None:
    """The mistake is named before the rest of a large file is read: here the rest cannot be
    read at all, and the column is still what the run says."""
    lines = ["Call,Score"] + [f"c-{i},{i % 11}" for i in range(200)] + ['c-x,"unterminated']
    mapping = write(tmp_path, "m.toml", '[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\ncall_id = "Call"\n'
                    'nps = "NPS"\n')
    with pytest.raises(IngestError, match="has no column 'NPS'"):
        ingest_outcomes(write(tmp_path, "x.csv", "\n".join(lines) + "\n"), mapping, db_path=tmp_path / "w.duckdb")
    with pytest.raises(IngestError, match="could not be read"):  # what reading it all would have said
        ingest_outcomes(write(tmp_path, "x.csv", "\n".join(lines) + "\n"), write(tmp_path, "ok.toml", (
            '[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\ncall_id = "Call"\nnps = "Score"\n')),
            db_path=tmp_path / "w.duckdb")


def test_a_call_whose_records_land_in_several_pieces_is_one_unmatched_key(tmp_path: Path,
                                                                           small_pieces: list) -> None:
    """Deals are records of their own (pieces by deal id), five calls share them, none is in the
    warehouse yet: the run reports five calls matching nothing, each once, whatever the pieces."""
    mapping = write(tmp_path, "deals.toml", CRM.replace('[columns]\n', '[columns]\nrecord_id = "Deal"\n'))
    export = write(tmp_path, "deals.csv", "Deal;Call;Stage;Amount;NPS;Closed\r\n" + "".join(
        f"d-{i};c-{i % 5};Closed Won;{i},00;9;{i % 28 + 1:02d}.03.2026 10:00\r\n" for i in range(60)))
    summary = ingest_outcomes(export, mapping, db_path=tmp_path / "cut.duckdb")
    assert len({n for _, n in small_pieces}) == 1 and min(n for _, n in small_pieces) >= 4  # cut into pieces
    assert (summary.loaded, summary.unmatched, summary.unmatched_keys) == (60, 5, [f"c-{c}" for c in range(5)])
