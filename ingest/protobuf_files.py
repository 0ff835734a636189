"""Read an OTLP protobuf trace file in pieces of bounded size, never whole.

A file holds one `ExportTraceServiceRequest`, or several each preceded by its length as a 4-byte
big-endian integer (the Collector file exporter's `proto` format). A message up to `PIECE_BYTES`
is read as it is. A larger one is cut at the wire level, without decoding it: its resource spans
are taken a few at a time; one too large for that is cut into runs of its scope spans, and a scope
spans into runs of its spans, each run wrapped in its own resource and scope (found first, in a
pass that skips the spans, since protobuf allows fields in any order). Every piece is then a valid
request of about `PIECE_BYTES` at most (a single span larger than that is a piece of its own), so
memory stays at a chunk of pieces whatever the file's size. A message damaged or cut short (the
last of a length-prefixed file too, as an exporter stopped while writing leaves it) loads every
span before the damage and refuses the rest as one record holding its first bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.lines import LineChunk, seekable
from ingest.otlp_protobuf import Piece, requests_table, varint

PIECE_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 8 * 1024 * 1024  # pieces parsed at once: peak memory flat from 40 MB to 200 MB files
_CUT_FIELDS = (1, 2, 2)  # what is cut at each depth: request.resource_spans, .scope_spans, .spans
_LENGTH_DELIMITED = 2
_RESOURCE_SPANS = b"\x0a"  # a request's field 1, length-delimited: how every message starts
DAMAGED = ("the protobuf is damaged or cut short here: nothing after this point of the message can be read "
           "(the record holds its first bytes)")


class _Damaged(Exception):
    """The message's fields do not add up (the file is cut short or corrupt) at `offset`."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def _read_varint(stream: BinaryIO) -> int:
    result = shift = 0
    while shift < 64:
        byte = stream.read(1)
        if not byte:
            raise _Damaged(stream.tell())
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
        shift += 7
    raise _Damaged(stream.tell())


def _fields(stream: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(number, wire type, field start, value start, end) of each field of the message at
    [start, end), reading only the fields' headers. A field's end may lie past `end` (the message
    is cut short): the caller decides what can still be read. A header that cannot be read is
    damage at the field's start."""
    at = start
    while at < end:
        stream.seek(at)
        try:
            tag = _read_varint(stream)
            number, wire = tag >> 3, tag & 7
            if wire == _LENGTH_DELIMITED:
                length = _read_varint(stream)
                value = stream.tell()
                value_end = value + length
            elif wire == 0:
                _read_varint(stream)
                value = value_end = stream.tell()
            elif wire in (1, 5):
                value = stream.tell()
                value_end = value + (8 if wire == 1 else 4)
            else:
                raise _Damaged(at)
            if number == 0:  # no field has it: not protobuf here
                raise _Damaged(at)
        except _Damaged:
            raise _Damaged(at) from None
        yield number, wire, at, value, value_end
        at = value_end


def _read(stream: BinaryIO, start: int, end: int) -> bytes:
    """The bytes at [start, end); an `end` before `start` is a field that runs past its message."""
    if end < start:
        raise _Damaged(start)
    stream.seek(start)
    data = stream.read(end - start)
    if len(data) != end - start:
        raise _Damaged(start + len(data))
    return data


def _pieces(stream: BinaryIO, start: int, end: int, depth: int,
            cut_short: bool = False) -> Iterator[tuple[bytes, tuple[int, ...]]]:
    """The message at [start, end) (a request at depth 0, a resource spans at 1, a scope spans at
    2) as pieces of the same type: (serialized piece, how many of its resources, scopes and spans
    came before it, for the depths from `depth` down). Where the message is damaged, or `cut_short`
    (it runs past `end`, where the file ends: then it is read field by field whatever its size),
    every whole item before the damage is a piece, and then `_Damaged` says where."""
    below = (0,) * (2 - depth)
    if end - start <= PIECE_BYTES and not cut_short:
        yield _read(stream, start, end), (0, *below)
        return
    cut = _CUT_FIELDS[depth]
    context = _context(stream, start, end, cut)
    group: list[bytes] = []
    size = first = index = 0
    try:
        for number, wire, field, value, field_end in _fields(stream, start, end):
            listed = (number, wire) == (cut, _LENGTH_DELIMITED)
            # a child cut short is opened to read what it holds; any other field cut short is the damage
            descend = listed and depth < 2 and (field_end - value > PIECE_BYTES or field_end > end)
            if field_end > end and not descend:
                raise _Damaged(field)
            if not listed:
                continue
            if group and (size + field_end - field > PIECE_BYTES or descend):
                yield context + b"".join(group), (first, *below)
                group, size = [], 0
            if descend:
                for piece, bases in _pieces(stream, value, min(field_end, end), depth + 1, field_end > end):
                    yield context + varint(cut << 3 | _LENGTH_DELIMITED) + varint(len(piece)) + piece, (index, *bases)
            else:
                if not group:
                    first = index
                group.append(_read(stream, field, field_end))
                size += field_end - field
            index += 1
    except _Damaged:
        if group:  # the items read since the last piece are whole: a piece too
            yield context + b"".join(group), (first, *below)
        raise
    if group:
        yield context + b"".join(group), (first, *below)
    if cut_short:  # cut between two of its items: every one before the cut is read
        raise _Damaged(end)


def _context(stream: BinaryIO, start: int, end: int, cut: int) -> bytes:
    """The fields of the message at [start, end) other than the list that is cut, as they are on
    the wire (to wrap each piece in): those before any damage, which `_pieces` meets and says."""
    fields = []
    try:
        for number, wire, field, _, field_end in _fields(stream, start, end):
            if (number, wire) != (cut, _LENGTH_DELIMITED):
                if field_end > end:
                    break
                fields.append(_read(stream, field, field_end))
    except _Damaged:
        pass
    return b"".join(fields)


def _frames(stream: BinaryIO, size: int) -> list[tuple[int, int]] | None:
    """The messages of a length-prefixed file as (start, end), or None when it is not one (each
    message must also start as a request does, with a resource spans field). The last message may
    be cut short, its end past the file's (an exporter stopped while writing it), unless the file
    could be one request: a request starts with that field's tag, 0x0a, which a length prefix
    starts with only for a message of 160 MiB or more."""
    stream.seek(0)
    one_request = stream.read(1) == _RESOURCE_SPANS
    frames, at = [], 0
    while at < size:
        stream.seek(at)
        head = stream.read(5)
        if len(head) < 4:  # cut inside a length prefix: a message cut short before it began
            frames.append((at, size + 1))
            break
        length = int.from_bytes(head[:4], "big")
        if length and head[4:5] != _RESOURCE_SPANS:
            return None
        frames.append((at + 4, at + 4 + length))
        at += 4 + length
    return None if not frames or (frames[-1][1] > size and one_request) else frames


def _requests(stream: BinaryIO, size: int) -> Iterator[Piece | tuple[int, str, bytes]]:
    """Every piece of every message in the file, in order, and for a damaged message what could
    not be read: (message number, reason, its first bytes)."""
    for line, (start, declared_end) in enumerate(_frames(stream, size) or [(0, size)], 1):
        end = min(declared_end, size)
        try:
            for body, (resource, scope, span) in _pieces(stream, start, end, 0, declared_end > size):
                yield Piece(body, line, resource, scope, span)
        except _Damaged as damage:
            stream.seek(damage.offset)
            yield line, DAMAGED, stream.read(min(PIECE_BYTES, end - damage.offset))


def read_protobuf_chunks(path: Path) -> Iterator[LineChunk]:
    """The file as chunks of decoded requests, about `CHUNK_BYTES` of protobuf each."""
    with seekable(path) as stream:
        size = stream.seek(0, 2)
        pieces: list[Piece] = []
        unreadable: list[tuple[int, str, bytes]] = []
        held = 0
        for item in _requests(stream, size):
            if isinstance(item, Piece):
                pieces.append(item)
                held += len(item.body)
            else:
                unreadable.append(item)
            if held >= CHUNK_BYTES or unreadable:
                yield _chunk(pieces, unreadable)
                pieces, unreadable, held = [], [], 0
        if pieces or not size:
            yield _chunk(pieces, unreadable)


def _chunk(pieces: list[Piece], unreadable: list[tuple[int, str, bytes]]) -> LineChunk:
    table, bad = requests_table(pieces)
    return LineChunk(table, [*bad, *unreadable], sum(len(p.body) for p in pieces) + sum(len(u[2]) for u in unreadable))
