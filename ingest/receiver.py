"""`python -m ingest serve`: an OTLP/HTTP receiver on `/v1/traces`, so an application instrumented
with any OpenTelemetry SDK can send its spans straight to Callboard.

Each request is checked (content type, encoding, size, then decoded and its spans parsed the same
way a file's are), written to the spool on disk, and only then answered; a background loader
merges the spool into the warehouse (see `ingest.spool`). Answers follow the OTLP/HTTP spec:
200 with an `ExportTraceServiceResponse` in the request's encoding (with `partial_success` when
some spans were refused; they are kept in `quarantine` with their reasons once loaded), 400 for a
body that cannot be read, 413 for one over the size limit, 415 for another content type or
encoding, and 503 (retryable) when the spool cannot be written. Error bodies are a
`google.rpc.Status`.
"""

from __future__ import annotations

import signal
import sys
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from ingest.errors import IngestError
from ingest.lines import line_table
from ingest.otlp import open_scratch, parse_spans
from ingest.otlp_protobuf import parse_request, request_to_json
from ingest.redact import PATTERNS
from ingest.spool import SpoolLoader, default_spool, write_body

PATH = "/v1/traces"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
MAX_BODY_BYTES = 16 * 1024 * 1024  # after gunzip


class Refused(Exception):
    """A request answered with an error status and a message. It never leaves the request handler,
    which turns it into the HTTP reply the sender's exporter reads, so it is no `CallboardError`."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Checked:
    document: bytes  # the export as one line of OTLP/JSON, ready to spool
    spans: int
    refused: int
    first_reason: str | None


def read_body(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """The request body, gunzipped when it says so, refusing anything over `max_bytes`."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding} is not supported; use gzip.")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as error:
        raise Refused(HTTPStatus.BAD_REQUEST, f"The body is not valid gzip: {error}") from None
    if len(body) > max_bytes:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The body is over {max_bytes:,} bytes unzipped.")
    return body


def to_document(body: bytes, media_type: str) -> bytes:
    """The export as one line of OTLP/JSON (protobuf converted); empty for an export with no
    spans, which OTLP answers with success. `Refused` (400) when the body cannot be read."""
    if media_type == PROTOBUF:
        request = parse_request(body)
        if request is None:
            raise Refused(HTTPStatus.BAD_REQUEST, "The body is not an OTLP ExportTraceServiceRequest.")
        return request_to_json(request).encode() if request.resource_spans else b""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Refused(HTTPStatus.BAD_REQUEST, f"The body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, "The body is not an OTLP/JSON ExportTraceServiceRequest object.")
    if document.get("resourceSpans") in (None, []):
        return b""
    return orjson.dumps(document)  # one line, whatever the client's layout


class Receiver:
    """What the request handlers share: the spool, the loader, a scratch database for parsing."""

    def __init__(self, spool: Path, loader: SpoolLoader, *, redact: bool = False,
                 max_bytes: int = MAX_BODY_BYTES) -> None:
        self.spool, self.loader, self.max_bytes = spool, loader, max_bytes
        self.scratch = open_scratch(PATTERNS if redact else ())

    def check(self, document: bytes) -> Checked:
        """Parse the spans as the loader will, to count the ones it will refuse."""
        chunk = line_table(np.array([1]), pa.array([document.decode("utf-8")], pa.string()))
        parsed = parse_spans(self.scratch, chunk)
        reasons = parsed.rejects.column("reason").to_pylist()
        whole_line = [r for r, where in zip(reasons, parsed.rejects.column("location").to_pylist(), strict=True)
                      if where == "line 1"]
        if whole_line:
            raise Refused(HTTPStatus.BAD_REQUEST, f"The body is {whole_line[0]}.")
        return Checked(document, parsed.records, len(reasons), reasons[0] if reasons else None)

    def accept(self, raw: bytes, content_type: str, content_encoding: str) -> Checked:
        media_type = content_type.split(";")[0].strip().lower()
        if media_type not in (PROTOBUF, JSON):
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                          f"Content-Type {media_type or '(none)'} is not supported; use {PROTOBUF} or {JSON}.")
        body = read_body(raw, content_encoding, self.max_bytes)
        document = to_document(body, media_type)
        if not document:
            return Checked(b"", 0, 0, None)
        try:
            checked = self.check(document)
        except UnicodeDecodeError:
            raise Refused(HTTPStatus.BAD_REQUEST, "The body is not valid UTF-8.") from None
        if checked.spans:
            try:
                write_body(self.spool, checked.document)
            except OSError as error:
                raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"The spool cannot be written: {error}") from None
            self.loader.wake()
        return checked

    def close(self) -> None:
        self.scratch.close()


def status_body(status: HTTPStatus, message: str, media_type: str) -> bytes:
    """A `google.rpc.Status` (code, message) in the request's encoding. Its two fields are
    written by hand rather than pulling in googleapis-common-protos for them."""
    if media_type == PROTOBUF:
        text = message.encode()
        return b"\x08" + _varint(status.value) + b"\x12" + _varint(len(text)) + text
    return orjson.dumps({"code": status.value, "message": message})


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def success_body(checked: Checked, media_type: str) -> bytes:
    response = ExportTraceServiceResponse()
    if checked.refused:
        response.partial_success.rejected_spans = checked.refused
        response.partial_success.error_message = (
            f"{checked.refused} of {checked.spans} spans refused (first: {checked.first_reason}); "
            "they are kept in Callboard's quarantine.")
    if media_type == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        content_type = self.headers.get("Content-Type", "")
        media_type = PROTOBUF if content_type.split(";")[0].strip().lower() == PROTOBUF else JSON
        try:
            if self.path.split("?")[0] != PATH:
                self.close_connection = True  # the body is not read
                raise Refused(HTTPStatus.NOT_FOUND, f"Callboard receives traces on {PATH}.")
            raw = self._body()
            checked = self.server.receiver.accept(raw, content_type, self.headers.get("Content-Encoding", ""))
        except Refused as refusal:
            self._answer(refusal.status, status_body(refusal.status, str(refusal), media_type), media_type)
            return
        self._answer(HTTPStatus.OK, success_body(checked, media_type), media_type)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise Refused(HTTPStatus.LENGTH_REQUIRED, "A Content-Length header is required.")
        if int(length) > self.server.receiver.max_bytes:
            self.close_connection = True  # the body is not read
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"The body is over {self.server.receiver.max_bytes:,} bytes.")
        return self.rfile.read(int(length))

    def _answer(self, status: HTTPStatus, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: Receiver, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.receiver, self.verbose = receiver, verbose


def start(host: str = "127.0.0.1", port: int = 4318, *, db_path: Path | None = None, spool: Path | None = None,
          redact: bool = False, max_bytes: int = MAX_BODY_BYTES, poll_s: float = 1.0, verbose: bool = False,
          log=lambda line: print(line, file=sys.stderr, flush=True)) -> tuple[_Server, SpoolLoader]:
    """Bind the receiver and start its loader; the caller runs `server.serve_forever()` and,
    when done, `stop(server, loader)`."""
    folder = (spool or default_spool(db_path)).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    loader = SpoolLoader(folder, db_path=db_path, redact=redact, poll_s=poll_s, log=log)
    receiver = Receiver(folder, loader, redact=redact, max_bytes=max_bytes)
    try:
        server = _Server((host, port), receiver, verbose)
    except OSError as error:
        receiver.close()
        raise IngestError(f"Cannot listen on {host}:{port}: {error.strerror or error}") from None
    loader.start()
    return server, loader


def stop(server: _Server, loader: SpoolLoader) -> None:
    server.shutdown()
    server.server_close()
    server.receiver.close()
    loader.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(host: str, port: int, *, db_path: Path | None = None, spool: Path | None = None,
          redact: bool = False) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM); what is still spooled is loaded on the next start."""
    server, loader = start(host, port, db_path=db_path, spool=spool, redact=redact)
    signal.signal(signal.SIGTERM, _interrupt)
    bound_host, bound_port = server.server_address[:2]
    print(f"Receiving OTLP/HTTP traces on http://{bound_host}:{bound_port}{PATH} "
          f"(spool: {loader.folder})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop(server, loader)
