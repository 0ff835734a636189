"""Ingest benchmark: `python bench/ingest.py [--spans 1000000]`.

Writes N spans as OTLP/JSON lines (one call of 21 spans per line: turns, STT, LLM, TTS), times
Callboard's `ingest_traces` of the file into a fresh warehouse, and in the same run times DuckDB's
own `read_json` load of the same file into a table; prints spans/s for both, their ratio and peak
memory. Each is run `--repeat` times, alternating, and medians are quoted, so a machine shared
with other work still gives a fair ratio; the load average is printed with the figures. CPU
seconds (every thread of this process) are printed too: they move less with the machine's load.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

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


def _timed(action) -> tuple[float, float]:
    """Wall and CPU seconds (all of this process's threads) of `action()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def _raw_load(source: Path, folder: Path) -> None:
    target = folder / "raw.duckdb"
    with duckdb.connect(str(target)) as con:
        con.execute("CREATE TABLE raw AS SELECT * FROM read_json(?)", [str(source)])
    target.unlink()


def _ingest(source: Path, folder: Path, spans: int) -> None:
    target = folder / f"callboard-{time.monotonic_ns()}.duckdb"  # a new file: the schema is set up once per path
    summary = ingest_traces([source], db_path=target)
    assert summary.loaded == spans, summary
    target.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; medians are quoted")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    raw: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as name:
        folder = Path(name)
        source = folder / "spans.jsonl"
        spans = write_file(source, args.spans)
        size_mb = source.stat().st_size / 1e6
        for _ in range(args.repeat):
            raw.append(_timed(lambda: _raw_load(source, folder)))
            ours.append(_timed(lambda: _ingest(source, folder, spans)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw_s, ours_s = median(w for w, _ in raw), median(w for w, _ in ours)
    ratios = [o[0] / r[0] for r, o in zip(raw, ours, strict=True)]
    print(f"file: {spans:,} spans, {size_mb:,.0f} MB; {args.repeat} runs each, alternating; "
          f"{os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"duckdb read_json:  median {raw_s:6.2f} s  {spans / raw_s:>10,.0f} spans/s  "
          f"cpu {median(c for _, c in raw):6.2f} s")
    print(f"callboard ingest:  median {ours_s:6.2f} s  {spans / ours_s:>10,.0f} spans/s  "
          f"cpu {median(c for _, c in ours):6.2f} s  (spans, calls, turns)")
    print(f"ratio: median {median(ratios):.2f}x DuckDB's raw load (runs: {', '.join(f'{r:.2f}' for r in ratios)})  "
          f"peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
