"""Trace files that are damaged somewhere load record by record: a bad first line, a byte-order
mark, blank lines and a gzip file cut short cost only the records they touch, each quarantined
with its reason; the rest of the file loads as if they were not there."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from data.generate import generate
from ingest import lines
from ingest.traces import ingest_traces
from warehouse.ingest_runs import quarantined


@pytest.fixture(scope="module")
def trace_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The lines of a real OTLP/JSON lines file from the demo generator."""
    folder = tmp_path_factory.mktemp("traces")
    generate(folder, calls=120, seed=5)
    (path,) = (folder / "traces").glob("*.jsonl")
    return path.read_bytes().splitlines()


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def spans_in(raw_lines: list[bytes]) -> int:
    """An independent count: the spans the lines hold, by counting span ids in the text."""
    return sum(line.count(b'"spanId"') for line in raw_lines)


def refusals(db: Path, run_id: str) -> dict[str, str]:
    refused = quarantined(run_id, db_path=db)
    return dict(zip(refused["location"], refused["reason"], strict=True))


@pytest.mark.parametrize("first", [b'{"resourceSpans": [{"resource": {"attrib', b"garbage from an editor", b"{oops}"])
def test_a_corrupt_first_line_is_one_refused_line_and_the_rest_loads(
        first: bytes, trace_lines: list[bytes], tmp_path: Path, warehouse_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "CHUNK_BYTES", 64 * 1024)  # many chunks: the file is read a piece at a time
    path = tmp_path / "traces.jsonl"
    path.write_bytes(b"\n".join([first, *trace_lines]) + b"\n")
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (spans_in(trace_lines), 1)
    assert refusals(warehouse_file, summary.run_id) == {"line 1": "not valid JSON"}
    assert rows(warehouse_file, "SELECT record FROM quarantine") == [(first,)]


def test_a_file_whose_first_lines_are_all_broken_is_still_read_line_by_line(
        trace_lines: list[bytes], tmp_path: Path, warehouse_file: Path) -> None:
    broken = [line[: len(line) // 2] for line in trace_lines[:20]]
    assert sum(map(len, broken)) > 64 * 1024  # more than format detection looks at
    path = tmp_path / "traces.jsonl"
    path.write_bytes(b"\n".join([*broken, *trace_lines[20:]]) + b"\n")
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (spans_in(trace_lines[20:]), 20)


def test_a_pretty_printed_document_is_still_read_whole(tmp_path: Path, warehouse_file: Path) -> None:
    document = Path(__file__).parent / "fixtures" / "traces" / "openinference_b64.json"
    assert document.read_text().startswith("{\n")
    summary = ingest_traces([document], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (3, 0)


def test_a_byte_order_mark_is_accepted(trace_lines: list[bytes], tmp_path: Path, warehouse_file: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(trace_lines[:5]) + b"\n")
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (spans_in(trace_lines[:5]), 0)


def test_blank_lines_are_skipped_not_quarantined(trace_lines: list[bytes], tmp_path: Path,
                                                 warehouse_file: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_bytes(b"\n".join([trace_lines[0], b"", b"    ", b"\t \r", trace_lines[1], b" " * 300]) + b"\n\n")
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (spans_in(trace_lines[:2]),) * 2 + (0,)


@pytest.mark.parametrize("keep", [0.5, 0.93])
def test_a_gzip_file_cut_short_loads_its_whole_lines_and_quarantines_the_tail(
        keep: float, trace_lines: list[bytes], tmp_path: Path, warehouse_file: Path) -> None:
    text = b"\n".join(trace_lines) + b"\n"
    packed = gzip.compress(text)
    cut = tmp_path / "traces.jsonl.gz"
    cut.write_bytes(packed[: int(len(packed) * keep)])  # a copy that stopped part way
    readable = gzip.GzipFile(fileobj=cut.open("rb")).read1  # independently: what the cut file still holds
    survived = b""
    try:
        while piece := readable(1 << 16):
            survived += piece
    except EOFError:
        pass
    whole = survived[: survived.rfind(b"\n") + 1].splitlines()
    assert 0 < len(whole) < len(trace_lines)

    summary = ingest_traces([cut], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (spans_in(whole), 1)
    tail = f"line {len(whole) + 1}"
    assert refusals(warehouse_file, summary.run_id) == {
        tail: "the gzip file ends early (cut short or damaged here): this line is incomplete and nothing after it "
              "can be read"}
    assert rows(warehouse_file, "SELECT record FROM quarantine") == [(survived[len(b"\n".join(whole)) + 1:],)]
    assert rows(warehouse_file, "SELECT status FROM ingest_runs") == [("ok",)]
