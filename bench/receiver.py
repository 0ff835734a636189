"""Receiver benchmark: `python bench/receiver.py [--spans 20000 200000] [--repeat 3] [--against DIR] [--loader-alone]`.

The real OpenTelemetry SDK (a `BatchSpanProcessor` over the OTLP/HTTP protobuf exporter, batches
of 512, one request at a time) sends N voice-call spans to `python -m ingest serve` running in its
own process on a loopback port, and the clock stops when the receiver's loader has committed the
last of them (send → queryable; the count is checked in the warehouse afterwards). The spans are
made by the SDK beforehand, so the figure is the exporter's and the receiver's, not span creation.
What follows the last answer (the loader noticing the exporter has paused, its last parse and merge)
is quoted on its own, in seconds and in the receiver's and loader's CPU seconds, which move less
with the machine's load than the total. `--against DIR` runs the receiver of another checkout (of
main, say: `git worktree add DIR main`) in turns with this one, on the same spans, and gives the
ratios run by run.
In the same run, the same spans written as an OTLP/JSON lines file are loaded by
`python -m ingest traces`'s library call: the file path is the baseline the ratio is against.

Each run also sends the same spans to a server on the same stack that reads each body and
discards it: the SDK's own ceiling on this machine, which shares the two cores with the receiver.
Then, against one idle receiver: the latency of a 1-span export (the SDK's whole request), and
50 exporters sending at once (each on its own thread and connection): spans/s, p95 request
latency, connection errors (resets) and spans lost. Medians of `--repeat` runs are quoted with
the load average, since the machine is shared. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median, quantiles

import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402

from ingest.otlp_protobuf import request_to_json  # noqa: E402
from ingest.traces import ingest_traces  # noqa: E402
from warehouse.db import connect  # noqa: E402

BATCH = 512


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def make_spans(count: int) -> list[ReadableSpan]:
    """Voice calls of 21 spans (a root with `session.id`, 8 turns, 4 LLM calls, 4 STT, 4 TTS), made
    by the SDK; children end before their root, as in a live agent."""
    kept = _Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "salon-agent", "callboard.agent": "salon"}))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("bench")
    call = 0
    while len(kept.spans) < count:
        with tracer.start_as_current_span("call", attributes={"session.id": f"call-{call}",
                                                                "callboard.prompt.version": "v3"}):
            for turn in range(8):
                speaker = "customer" if turn % 2 else "agent"
                with tracer.start_as_current_span("turn", attributes={
                        "callboard.turn.index": turn, "callboard.turn.speaker": speaker,
                        "callboard.turn.text": "I would like to book a haircut next Tuesday at three, please."}):
                    if speaker == "agent":
                        with tracer.start_as_current_span("chat gpt-4.1-mini", attributes={
                                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                "gen_ai.request.model": "gpt-4.1-mini", "gen_ai.usage.input_tokens": 812,
                                "gen_ai.usage.output_tokens": 41}):
                            pass
                        with tracer.start_as_current_span("tts", attributes={"callboard.tts.characters": 80}):
                            pass
                    else:
                        with tracer.start_as_current_span("stt", attributes={"callboard.audio.seconds": 3.2}):
                            pass
        call += 1
    provider.shutdown()
    return kept.spans[:count]


class Receiver:
    """`python -m ingest serve --port 0` in its own process, with a fresh warehouse."""

    def __init__(self, folder: Path, root: Path = ROOT) -> None:
        self.db = folder / f"receiver-{time.monotonic_ns()}.duckdb"
        with connect(self.db):
            pass  # the schema, before the clock starts
        self.process = subprocess.Popen([sys.executable, "-m", "ingest", "serve", "--port", "0"], cwd=root,
                                        env={**os.environ, "CALLBOARD_DB": str(self.db)}, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stderr is not None
        first = self.process.stdout.readline()
        assert " on http://" in first, first + self.process.stderr.read()
        self.url = first.split(" on ")[1].split(" ")[0]
        self.loaded = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._follow, daemon=True).start()
        self.wait_idle()

    def cpu_seconds(self) -> float:
        """CPU the receiver's process and its loader process have used so far."""
        return sum(_cpu_seconds(pid) for pid in (self.process.pid, *_children(self.process.pid)))

    def wait_idle(self) -> None:
        """Until the loader process has started (spawned, it imports DuckDB and Arrow first), so
        neither the clock nor the CPU count includes starting up."""
        before = self.cpu_seconds()
        while True:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < 0.02 and _children(self.process.pid):
                return
            before = now

    def _follow(self) -> None:
        """Count the spans the loader reports committed (its log: "loaded N spans from ...")."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.startswith("loaded "):
                with self._changed:
                    self.loaded += int(line.split()[1].replace(",", ""))
                    self._changed.notify_all()

    def wait_loaded(self, spans: int, timeout_s: float = 300) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.loaded >= spans, timeout_s), (self.loaded, spans)

    def stop(self) -> int:
        """Stop (SIGTERM) and return the spans in the warehouse."""
        self.process.terminate()
        self.process.wait(60)
        with connect(self.db) as con:
            (stored,) = con.execute("SELECT count(*) FROM spans").fetchone()
        self.db.unlink()
        return stored


class Discard:
    """A server on the same stack (uvicorn, Starlette) that reads each body and answers 200 with
    an empty `ExportTraceServiceResponse`, storing nothing: the SDK's own ceiling on this machine."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-discard"], cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def serve_discard() -> None:
    """`--serve-discard`: the discarding server, on a free loopback port it prints."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def discard(request: Request) -> Response:
        await request.body()
        return Response(b"", 200, media_type="application/x-protobuf")

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/v1/traces", discard, methods=["POST"])]),
                                           lifespan="off", log_level="warning"))
    listening = socket.create_server(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{listening.getsockname()[1]}/v1/traces", flush=True)
    server.run(sockets=[listening])


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of one process (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    answered_s: float  # handing the spans to the SDK → the last answer
    queryable_s: float  # → the last span committed
    client_cpu_s: float  # this process: the SDK's batching, encoding and HTTP
    server_cpu_s: float  # the receiver's process and its loader's
    tail_cpu_s: float  # the receiver's and the loader's, from the last answer to the last span committed

    @property
    def tail_s(self) -> float:
        """The last answer → the last span committed."""
        return self.queryable_s - self.answered_s


def send(spans: list[ReadableSpan], url: str) -> tuple[float, float]:
    """Hand `spans` to a `BatchSpanProcessor` exporting to `url`: seconds until the last answer,
    and this process's CPU seconds meanwhile (the SDK's batching, encoding and HTTP)."""
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url), max_queue_size=len(spans),
                                   max_export_batch_size=BATCH)
    try:
        began, cpu = time.perf_counter(), time.process_time()
        for span in spans:
            processor.on_end(span)
        assert processor.force_flush(600_000)
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        processor.shutdown()


def send_and_load(spans: list[ReadableSpan], folder: Path, root: Path = ROOT) -> Run:
    receiver = Receiver(folder, root)
    try:
        began, server_cpu = time.perf_counter(), receiver.cpu_seconds()
        answered, client_cpu = send(spans, receiver.url)
        answered_cpu = receiver.cpu_seconds()
        receiver.wait_loaded(len(spans))
        queryable, loaded_cpu = time.perf_counter() - began, receiver.cpu_seconds()
    finally:
        stored = receiver.stop()
    assert stored == len(spans), (stored, len(spans))
    return Run(answered, queryable, client_cpu, loaded_cpu - server_cpu, loaded_cpu - answered_cpu)


def send_and_discard(spans: list[ReadableSpan]) -> tuple[float, float]:
    """The SDK sending `spans` to `Discard`: seconds until the last answer and its CPU seconds."""
    server = Discard()
    try:
        return send(spans, server.url)
    finally:
        server.stop()


def file_load(spans: list[ReadableSpan], folder: Path) -> tuple[float, float]:
    """Seconds and CPU seconds to load the same spans from an OTLP/JSON lines file (one export of
    512 per line)."""
    source = folder / "spans.jsonl"
    source.write_bytes(b"".join(request_to_json(encode_spans(spans[i:i + BATCH])) + b"\n"
                                for i in range(0, len(spans), BATCH)))
    target = folder / f"file-{time.monotonic_ns()}.duckdb"
    with connect(target):
        pass
    began, cpu = time.perf_counter(), time.process_time()
    summary = ingest_traces([source], db_path=target)
    seconds, cpu_s = time.perf_counter() - began, time.process_time() - cpu
    assert summary.loaded == len(spans), summary
    target.unlink()
    return seconds, cpu_s


class TimedSession(requests.Session):
    """The exporter's HTTP session, timing every request and counting connection errors."""

    def __init__(self, latencies: list[float], errors: list[str]) -> None:
        super().__init__()
        self.latencies, self.errors = latencies, errors

    def request(self, *args, **kwargs) -> requests.Response:  # type: ignore[override]
        began = time.perf_counter()
        try:
            response = super().request(*args, **kwargs)
        except requests.ConnectionError as error:
            self.errors.append(type(error).__name__)
            raise
        self.latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            self.errors.append(f"HTTP {response.status_code}")
        return response


def one_span_latency(url: str, spans: list[ReadableSpan], requests_sent: int = 50) -> list[float]:
    latencies: list[float] = []
    exporter = OTLPSpanExporter(endpoint=url, session=TimedSession(latencies, []))
    for span in spans[:requests_sent]:
        assert exporter.export([span]) == SpanExportResult.SUCCESS
    exporter.shutdown()
    return latencies


def concurrent_exporters(receiver: Receiver, spans: list[ReadableSpan], exporters: int, already: int) -> dict:
    """`exporters` threads, each with its own exporter (and connection), sending its share."""
    latencies: list[float] = []
    errors: list[str] = []
    failed: list[int] = []
    shares = [spans[i::exporters] for i in range(exporters)]

    def send(share: list[ReadableSpan]) -> None:
        exporter = OTLPSpanExporter(endpoint=receiver.url, session=TimedSession(latencies, errors))
        for i in range(0, len(share), BATCH):
            if exporter.export(share[i:i + BATCH]) != SpanExportResult.SUCCESS:
                failed.append(len(share[i:i + BATCH]))
        exporter.shutdown()

    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    receiver.wait_loaded(already + len(spans) - sum(failed))
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "latencies": latencies, "errors": errors, "failed_spans": sum(failed)}


def loader_alone(spans: list[ReadableSpan], repeat: int) -> None:
    """`--loader-alone`: the spool loader's CPU per span, in this process, loading the spans spooled
    as the SDK's 512-span protobuf bodies into a fresh warehouse (what it does once it is started,
    without the receiver or the SDK sharing the cores). Run this file from a checkout of an older
    commit (copy it there) for the baseline."""
    import warehouse.span_loading
    from ingest.spool import PROTOBUF, Spool, SpoolLoader

    getattr(warehouse.span_loading, "compile_ahead", lambda: None)()  # the loader does it when it starts
    bodies = [encode_spans(spans[i:i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)]
    micros = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="callboard-bench-") as name:
            db = Path(name) / "loader.duckdb"
            with connect(db):
                pass
            spool = Spool(Path(name) / "spool")
            for body in bodies:
                spool.write(body, PROTOBUF)
            loader = SpoolLoader(spool, threading.Event(), threading.Event(), db_path=db, log=lambda line: None)
            cpu = time.process_time()
            loader.load_waiting()
            micros.append((time.process_time() - cpu) * 1e6 / len(spans))
            with connect(db) as con:
                assert con.execute("SELECT count(*) FROM spans").fetchone() == (len(spans),)
    print(f"{ROOT}: the loader alone, {len(spans):,} spans: median {median(micros):.1f} µs CPU per span "
          f"(runs: {', '.join(f'{m:.1f}' for m in micros)})")


def report(count: int, runs: list[Run], files: list[tuple[float, float]], discards: list[tuple[float, float]],
           against: tuple[Path, list[Run]] | None) -> None:
    """Medians of the runs; the ratios are file seconds, and the SDK's seconds against a server
    that discards, over receiver seconds, run by run; and, with `--against`, the other checkout's
    receiver seconds over this one's."""
    queryable, file_s = median(r.queryable_s for r in runs), median(f for f, _ in files)
    ratios = [f / r.queryable_s for (f, _), r in zip(files, runs, strict=True)]
    micros = 1e6 / count
    print(f"{count:>9,} spans, SDK → receiver → queryable: median {queryable:6.2f} s = {count / queryable:>7,.0f} "
          f"spans/s (all answered after {median(r.answered_s for r in runs):.2f} s) | file ingest {file_s:6.2f} s = "
          f"{count / file_s:>7,.0f} spans/s | receiver/file speed {median(ratios):.2f}x "
          f"(runs: {', '.join(f'{r:.2f}' for r in ratios)})", flush=True)
    print(f"{'':>9}  CPU per span: SDK exporter {median(r.client_cpu_s for r in runs) * micros:.1f} µs, "
          f"receiver + loader {median(r.server_cpu_s for r in runs) * micros:.1f} µs, "
          f"file ingest {median(c for _, c in files) * micros:.1f} µs", flush=True)
    ceiling = median(d for d, _ in discards)
    shares = [d / r.queryable_s for (d, _), r in zip(discards, runs, strict=True)]
    print(f"{'':>9}  the SDK against a server that discards (the ceiling): median {ceiling:.2f} s = "
          f"{count / ceiling:>7,.0f} spans/s, SDK CPU {median(c for _, c in discards) * micros:.1f} µs per span; "
          f"the receiver reaches {median(shares):.0%} of it (runs: {', '.join(f'{r:.0%}' for r in shares)})",
          flush=True)
    print(f"{'':>9}  after the last answer: {_tail(runs)}", flush=True)
    if against is not None:
        root, others = against
        speed = [b.queryable_s / r.queryable_s for b, r in zip(others, runs, strict=True)]
        tails = [r.tail_cpu_s / b.tail_cpu_s for b, r in zip(others, runs, strict=True)]
        other = median(b.queryable_s for b in others)
        print(f"{'':>9}  against {root}: median {other:6.2f} s = {count / other:>7,.0f} spans/s (all answered "
              f"after {median(b.answered_s for b in others):.2f} s), receiver + loader CPU per span "
              f"{median(b.server_cpu_s for b in others) * micros:.1f} µs, after the last answer: {_tail(others)}; "
              f"this tree's speed {median(speed):.2f}x (runs: {', '.join(f'{r:.2f}' for r in speed)}), CPU after the "
              f"last answer {median(tails):.2f}x (runs: {', '.join(f'{r:.2f}' for r in tails)})", flush=True)


def _tail(runs: list[Run]) -> str:
    return (f"median {median(r.tail_s for r in runs) * 1000:.0f} ms, receiver + loader CPU "
            f"{median(r.tail_cpu_s for r in runs) * 1000:.0f} ms (runs: "
            f"{', '.join(f'{r.tail_s * 1000:.0f}/{r.tail_cpu_s * 1000:.0f}' for r in runs)} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; medians are quoted")
    parser.add_argument("--exporters", type=int, default=50)
    parser.add_argument("--against", type=Path, help="another checkout whose receiver runs in turns with this one")
    parser.add_argument("--loader-alone", action="store_true", help="only the loader's CPU per span (see loader_alone)")
    args = parser.parse_args()
    if args.loader_alone:
        loader_alone(make_spans(max(args.spans)), args.repeat)
        return
    load_before = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load_before:.1f} before", flush=True)
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as name:
        folder = Path(name)
        spans = make_spans(max(args.spans))
        for count in sorted(args.spans):
            runs: list[Run] = []
            files: list[tuple[float, float]] = []
            discards: list[tuple[float, float]] = []
            others: list[Run] = []
            for _ in range(args.repeat):
                files.append(file_load(spans[:count], folder))
                runs.append(send_and_load(spans[:count], folder))
                if args.against:
                    others.append(send_and_load(spans[:count], folder, args.against.resolve()))
                discards.append(send_and_discard(spans[:count]))
            report(count, runs, files, discards, (args.against.resolve(), others) if args.against else None)
        receiver = Receiver(folder)
        try:
            single = one_span_latency(receiver.url, make_spans(50))
            receiver.wait_loaded(len(single))
            burst = concurrent_exporters(receiver, spans[:max(args.spans)], args.exporters, len(single))
        finally:
            stored = receiver.stop()
    lost = len(single) + max(args.spans) - stored
    p95 = quantiles(burst["latencies"], n=20)[-1]
    print(f"1-span export (SDK request, idle receiver): median {median(single) * 1000:.1f} ms, "
          f"p95 {quantiles(single, n=20)[-1] * 1000:.1f} ms over {len(single)} requests")
    print(f"{args.exporters} exporters at once, {max(args.spans):,} spans: {max(args.spans) / burst['seconds']:,.0f} "
          f"spans/s send → queryable, p95 request {p95 * 1000:.0f} ms over {len(burst['latencies'])} requests, "
          f"connection errors {sum(e != 'HTTP 429' and e != 'HTTP 503' for e in burst['errors'])}, "
          f"429/503 answers {sum(e in ('HTTP 429', 'HTTP 503') for e in burst['errors'])}, "
          f"exports failed {burst['failed_spans']:,} spans, lost {lost:,} spans")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    serve_discard() if sys.argv[1:] == ["--serve-discard"] else main()
