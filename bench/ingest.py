"""Ingest benchmark: `python bench/ingest.py [--spans 1000000]`.

Writes N spans as OTLP/JSON lines (one call of 21 spans per line: turns, STT, LLM, TTS), times
Callboard's `ingest_traces` of the file into a fresh warehouse, and in the same run times DuckDB's
own `read_json` load of the same file into a table; prints spans/s for both, their ratio and peak
memory. A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.traces import ingest_traces

START_NS = 1_760_000_000 * 10**9


def _attributes(values: dict) -> list[dict]:
    def any_value(v: object) -> dict:
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, list):
            return {"arrayValue": {"values": [{"stringValue": x} for x in v]}}
        return {"stringValue": v}
    return [{"key": k, "value": any_value(v)} for k, v in values.items()]


def call_line(number: int, rng: random.Random) -> tuple[str, int]:
    """One call as one ExportTraceServiceRequest line, and its span count."""
    trace = f"{rng.getrandbits(128):032x}"
    root = f"{rng.getrandbits(64):016x}"
    t0 = START_NS + number * 60 * 10**9
    spans = []

    def span(name: str, start: int, end: int, values: dict, span_id: str | None = None) -> None:
        spans.append({"traceId": trace, "spanId": span_id or f"{rng.getrandbits(64):016x}",
                      "parentSpanId": "" if span_id else root, "name": name, "kind": 1,
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
                      "attributes": _attributes(values), "status": {"code": 1}})

    t = t0
    for turn in range(8):
        speaker = "customer" if turn % 2 else "agent"
        if speaker == "customer":
            span("stt", t, t + 300_000_000, {"gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3",
                                               "callboard.audio.seconds": 3.2})
            text = "I would like to book a haircut next Tuesday at three please, for me and my son."
        else:
            span("chat gpt-4.1-mini", t, t + 600_000_000, {
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4.1-mini", "gen_ai.usage.input_tokens": 812,
                "gen_ai.usage.output_tokens": 41,
                "gen_ai.response.finish_reasons": ["stop"], "callboard.turn.index": turn})
            span("tts", t + 600_000_000, t + 800_000_000, {"gen_ai.provider.name": "elevenlabs",
                 "gen_ai.request.model": "eleven_flash_v2_5", "callboard.tts.characters": 80})
            text = "Of course, I can book you in for Tuesday at 3pm. Could I take your name please?"
        span("turn", t, t + 3_000_000_000, {"callboard.turn.index": turn, "callboard.turn.speaker": speaker,
                                            "callboard.turn.text": text})
        t += 3_500_000_000
    span("call", t0, t, {"callboard.prompt.version": "v3", "session.id": f"call-{number}"}, span_id=root)
    resource_attributes = _attributes({"service.name": "salon-agent", "callboard.agent": "salon"})
    document = {"resourceSpans": [{"resource": {"attributes": resource_attributes},
                                   "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}
    return json.dumps(document, separators=(",", ":")), len(spans)


def write_file(path: Path, spans: int) -> int:
    rng = random.Random(1)
    written = number = 0
    with path.open("w") as out:
        while written < spans:
            line, count = call_line(number, rng)
            out.write(line + "\n")
            written += count
            number += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as folder:
        source = Path(folder) / "spans.jsonl"
        spans = write_file(source, args.spans)
        size_mb = source.stat().st_size / 1e6
        began = time.perf_counter()
        with duckdb.connect(str(Path(folder) / "raw.duckdb")) as con:
            con.execute("CREATE TABLE raw AS SELECT * FROM read_json(?)", [str(source)])
        raw_s = time.perf_counter() - began
        began = time.perf_counter()
        summary = ingest_traces([source], db_path=Path(folder) / "callboard.duckdb")
        ours_s = time.perf_counter() - began
        assert summary.loaded == spans, summary
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {spans:,} spans, {size_mb:,.0f} MB")
    print(f"duckdb read_json:  {raw_s:6.2f} s  {spans / raw_s:>10,.0f} spans/s")
    print(f"callboard ingest:  {ours_s:6.2f} s  {spans / ours_s:>10,.0f} spans/s  (spans, calls, turns)")
    print(f"ratio: {ours_s / raw_s:.2f}x DuckDB's raw load   peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
