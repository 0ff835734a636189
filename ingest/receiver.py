"""`python -m ingest serve`: an OTLP/HTTP receiver on `/v1/traces`, so an application instrumented
with any OpenTelemetry SDK can send its spans straight to Callboard.

It runs on uvicorn (asyncio, one thread for every connection's I/O) with a Starlette app, so an idle
or slow connection costs a few kilobytes and no thread. Each request is bounded before its body is
read: a Content-Length is required and at most `Limits.max_body_bytes`, at most
`Limits.max_requests` requests and `Limits.max_bytes_in_flight` body bytes are read or checked at
once (more gets 429 with Retry-After, which the OpenTelemetry exporters honour), and headers and
body must each arrive within `Limits.read_timeout_s` (a connection that stalls is closed, a body
that stops short of its Content-Length gets 408 and is never processed).

A body is then unzipped and checked cheaply (`ingest.receiver_checks`), written to the spool on
disk and only then answered; the background loader does the one full parse and merges the spool into the
warehouse (see `ingest.spool`). Answers follow the OTLP/HTTP spec: 200 with an
`ExportTraceServiceResponse` in the request's encoding (`partial_success` counts the spans the
check refused; spans refused later by the full parse, say for an oversized attribute, are counted
in the warehouse's quarantine, with their reasons, not in the answer), 400 for a body that cannot
be read, 404 for another path, 408 for a body that does not arrive, 411 without a Content-Length,
413 for one over the size limit, 415 for another content type or encoding, 429 (retryable) when
too much is in flight and 503 (retryable) when the spool is full or cannot be written. Error
bodies are a `google.rpc.Status`.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import orjson
import uvicorn
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from ingest.errors import IngestError
from ingest.otlp_protobuf import varint
from ingest.receiver_checks import EMPTY, Checked, Refused, check_json, check_protobuf, read_body
from ingest.spool import JSON, MAX_SPOOL_BYTES, PROTOBUF, LoaderProcess, Spool, SpoolFull, default_spool

PATH = "/v1/traces"
PROTOBUF_TYPE, JSON_TYPE = "application/x-protobuf", "application/json"
MAX_BODY_BYTES = 16 * 1024 * 1024  # on the wire and after gunzip
BUSY_RETRY_S, SPOOL_FULL_RETRY_S = 1, 2  # Retry-After: short, so an exporter retries within its timeout


@dataclass(frozen=True)
class Limits:
    """What one receiver takes on at once. Memory stays under `max_bytes_in_flight` (or one body,
    when a single one is larger) plus `max_checks` unzipped bodies, whatever the clients do."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_bytes_in_flight: int = 64 * 1024 * 1024
    max_requests: int = 32
    max_checks: int = 8  # bodies unzipped, checked and fsynced at once (each up to max_body_bytes unzipped)
    max_connections: int = 1024  # beyond these uvicorn answers 503 itself
    read_timeout_s: float = 15.0


def media_type_of(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


class Receiver:
    """What the requests share: the spool, the loader, the limits and what is in flight now (only
    touched on the event loop's thread, so it needs no lock)."""

    def __init__(self, spool: Spool, loader: LoaderProcess, limits: Limits = Limits()) -> None:
        self.spool, self.loader, self.limits = spool, loader, limits
        self.requests_in_flight = self.bytes_in_flight = 0
        self._checking = asyncio.Semaphore(limits.max_checks)

    def admit(self, length: int) -> None:
        """Refuse, before reading a byte of the body, what the receiver cannot take now."""
        if length > self.limits.max_body_bytes:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"The body is over {self.limits.max_body_bytes:,} bytes.", close=True)  # not read
        if (self.requests_in_flight >= self.limits.max_requests
                or (self.bytes_in_flight and self.bytes_in_flight + length > self.limits.max_bytes_in_flight)):
            raise Refused(HTTPStatus.TOO_MANY_REQUESTS, "Callboard is receiving too much at once; retry shortly.",
                          retry_after_s=BUSY_RETRY_S)
        if self.spool.bytes_waiting + length > self.spool.max_bytes:
            raise _spool_full()

    def accept(self, raw: bytes, media_type: str, encoding: str) -> Checked:
        """Unzip, check and spool one body (on a worker thread: it unzips, parses and fsyncs)."""
        body = read_body(raw, encoding, self.limits.max_body_bytes)
        checked = check_protobuf(body) if media_type == PROTOBUF_TYPE else check_json(body)
        if not checked.spans:
            return EMPTY
        try:
            self.spool.write(body, PROTOBUF if media_type == PROTOBUF_TYPE else JSON, checked.spans)
        except SpoolFull:
            raise _spool_full() from None
        except OSError as error:
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"The spool cannot be written: {error.strerror or error}",
                          retry_after_s=SPOOL_FULL_RETRY_S) from None
        self.loader.wake()
        return checked

    async def receive(self, request: Request) -> Checked:
        media_type = media_type_of(request.headers.get("content-type", ""))
        if media_type not in (PROTOBUF_TYPE, JSON_TYPE):
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type {media_type or '(none)'} is not "
                          f"supported; use {PROTOBUF_TYPE} or {JSON_TYPE}.")
        length = content_length(request)
        self.admit(length)
        self.requests_in_flight += 1
        self.bytes_in_flight += length
        try:
            raw = await read_exactly(request, length, self.limits.read_timeout_s)
            async with self._checking:
                return await run_in_threadpool(self.accept, raw, media_type,
                                               request.headers.get("content-encoding", ""))
        finally:
            self.requests_in_flight -= 1
            self.bytes_in_flight -= length


def _spool_full() -> Refused:
    return Refused(HTTPStatus.SERVICE_UNAVAILABLE, "Callboard's spool is full while it loads; retry shortly.",
                   retry_after_s=SPOOL_FULL_RETRY_S)


def content_length(request: Request) -> int:
    length = request.headers.get("content-length")
    if length is None:
        raise Refused(HTTPStatus.LENGTH_REQUIRED, "A Content-Length header is required.", close=True)
    if not length.isdigit():
        raise Refused(HTTPStatus.BAD_REQUEST, "The Content-Length header is not a number.", close=True)
    return int(length)


async def read_exactly(request: Request, length: int, timeout_s: float) -> bytes:
    """The whole body, or `Refused`: a body that stalls or ends before its Content-Length is
    never processed. (A client that hangs up leaves no one to answer; the answer is dropped.)"""
    parts, received = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            async for part in request.stream():
                parts.append(part)
                received += len(part)
    except TimeoutError:
        raise Refused(HTTPStatus.REQUEST_TIMEOUT, f"The body did not arrive within {timeout_s:g} s "
                      f"({received:,} of {length:,} bytes).", close=True) from None
    except ClientDisconnect:
        raise Refused(HTTPStatus.BAD_REQUEST, f"The connection closed after {received:,} of {length:,} bytes.",
                      close=True) from None
    if received != length:
        raise Refused(HTTPStatus.BAD_REQUEST, f"The body has {received:,} bytes, not its Content-Length {length:,}.",
                      close=True)
    return b"".join(parts)


def status_body(status: HTTPStatus, message: str, media_type: str) -> bytes:
    """A `google.rpc.Status` (code, message) in the request's encoding. Its two fields are
    written by hand rather than pulling in googleapis-common-protos for them."""
    if media_type == PROTOBUF_TYPE:
        text = message.encode()
        return b"\x08" + varint(status.value) + b"\x12" + varint(len(text)) + text
    return orjson.dumps({"code": status.value, "message": message})


def success_body(checked: Checked, media_type: str) -> bytes:
    response = ExportTraceServiceResponse()
    if checked.refused:
        response.partial_success.rejected_spans = checked.refused
        response.partial_success.error_message = (
            f"{checked.refused} of {checked.spans} spans refused (first: {checked.first_reason}); "
            "they are kept in Callboard's quarantine.")
    if media_type == PROTOBUF_TYPE:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def _answer_type(request: Request) -> str:
    return PROTOBUF_TYPE if media_type_of(request.headers.get("content-type", "")) == PROTOBUF_TYPE else JSON_TYPE


def refusal_response(refusal: Refused, media_type: str) -> Response:
    headers = {}
    if refusal.retry_after_s is not None:
        headers["Retry-After"] = str(refusal.retry_after_s)
    if refusal.close:
        headers["Connection"] = "close"
    return Response(status_body(refusal.status, str(refusal), media_type), refusal.status, headers, media_type)


def make_app(receiver: Receiver) -> Starlette:
    async def traces(request: Request) -> Response:
        media_type = _answer_type(request)
        try:
            checked = await receiver.receive(request)
        except Refused as refusal:
            return refusal_response(refusal, media_type)
        return Response(success_body(checked, media_type), HTTPStatus.OK, media_type=media_type)

    async def elsewhere(request: Request, error: Exception) -> Response:
        status = HTTPStatus(error.status_code) if isinstance(error, HTTPException) else HTTPStatus.NOT_FOUND
        message = f"Callboard receives traces on {PATH}." if status == HTTPStatus.NOT_FOUND else \
            f"Send traces with POST to {PATH}."
        return refusal_response(Refused(status, message, close=True), _answer_type(request))

    return Starlette(routes=[Route(PATH, traces, methods=["POST"])], exception_handlers={HTTPException: elsewhere})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection with a deadline for each request's headers. uvicorn itself
    waits forever for a connection that sends nothing or sends its headers a byte at a time
    (slowloris): such connections would pile up until it refuses everyone."""

    read_timeout_s = Limits.read_timeout_s
    _header_deadline: asyncio.TimerHandle

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_deadline.cancel()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if getattr(self, "_header_deadline", None) is not None:
            self._header_deadline.cancel()
        self._header_deadline = self.loop.call_later(self.read_timeout_s, self._headers_late)

    def _headers_late(self) -> None:
        """No request has begun since the deadline was set: close (a request whose headers came
        is the app's to time out)."""
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def _protocol(limits: Limits) -> type[GuardedH11Protocol]:
    return type("ReceiverH11Protocol", (GuardedH11Protocol,), {"read_timeout_s": limits.read_timeout_s})


class Served:
    """A receiver with its listening socket, loader and uvicorn server, not yet running."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4318, *, db_path: Path | None = None,
                 spool: Path | None = None, redact: bool = False, limits: Limits = Limits(),
                 spool_bytes: int = MAX_SPOOL_BYTES, poll_s: float = 1.0, verbose: bool = False,
                 quiet: bool = False) -> None:
        folder = (spool or default_spool(db_path)).resolve()
        self.spool = Spool(folder, spool_bytes)
        self.spool.clear_incoming()
        self.loader = LoaderProcess(self.spool, db_path=db_path, redact=redact, poll_s=poll_s, quiet=quiet)
        self.receiver = Receiver(self.spool, self.loader, limits)
        try:
            self.socket = socket.create_server((host, port), backlog=limits.max_connections)
        except OSError as error:
            raise IngestError(f"Cannot listen on {host}:{port}: {error.strerror or error}") from None
        bound_host, bound_port = self.socket.getsockname()[:2]
        self.url = f"http://{bound_host}:{bound_port}{PATH}"
        config = uvicorn.Config(make_app(self.receiver), http=_protocol(limits), lifespan="off",
                                log_level="info" if verbose else "warning", access_log=verbose,
                                limit_concurrency=limits.max_connections, backlog=limits.max_connections,
                                timeout_keep_alive=5, timeout_graceful_shutdown=int(limits.read_timeout_s) + 5)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve on this thread until the server is told to exit (on the main thread: SIGTERM or
        Ctrl-C; requests in flight are answered first), then stop the loader."""
        self.loader.start()
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.loader.stop()

    def start(self) -> Served:
        """Serve on a background thread (tests, benchmarks); `stop()` when done."""
        self._thread = threading.Thread(target=self.run, name="receiver", daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join()


def start(host: str = "127.0.0.1", port: int = 4318, **options) -> Served:
    """A receiver serving on a background thread (options as `Served`); `.stop()` it when done."""
    return Served(host, port, **options).start()


def serve(host: str, port: int, *, db_path: Path | None = None, spool: Path | None = None,
          redact: bool = False, spool_bytes: int = MAX_SPOOL_BYTES) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM); what is still spooled is loaded on the next start."""
    served = Served(host, port, db_path=db_path, spool=spool, redact=redact, spool_bytes=spool_bytes)
    print(f"Receiving OTLP/HTTP traces on {served.url} (spool: {served.spool.folder})", flush=True)
    for caught in (signal.SIGINT, signal.SIGTERM):
        # uvicorn handles these while it serves and raises them again once it has shut down;
        # by then the loader is stopping on purpose, so the raised signal must not kill it.
        signal.signal(caught, signal.SIG_IGN)
    served.run()
