"""Read one pretty-printed OTLP/JSON document (a single export laid out over many lines) in pieces
of bounded size, never whole.

A document up to `PIECE_BYTES` is one line, as before. A larger one is scanned once for its
structure: numpy finds the quotes, escapes and brackets of each window of the file, so only the
brackets outside strings, and of those only the few above the spans' own fields, reach Python.
The scan notes where each of `resourceSpans`' items starts and ends, and inside an item too large
to be a piece, the other fields of the item (its `resource`), its `scopeSpans` items and, inside
a scope too large, its other fields and where each span starts and ends (16 bytes a span). The
document is then cut into pieces of about `PIECE_BYTES`: whole items, or runs of scopes or of spans
wrapped in their resource and scope (whatever order the fields came in), each one line of
OTLP/JSON read back from the file. A refused span's location counts from the document's start.
Where the document is broken (cut short, or brackets that do not match), what ended before the
break loads and the rest is one refused record holding its first `PIECE_BYTES`; a document without
a `resourceSpans` list is refused whole, as one read at once is.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ingest.lines import BOM, NOT_UTF8, LineChunk, bytes_array, int64_array, seekable

PIECE_BYTES = 4 * 1024 * 1024
# Pieces parsed at once: peak memory stays flat from 40 MB to 200 MB documents at 8 MiB (it grew
# by 220 MB at 32 MiB, the JSON lines chunk), for 15-30% more CPU per span.
CHUNK_BYTES = 8 * 1024 * 1024
_WINDOW_BYTES = 4 * 1024 * 1024
NOT_AN_EXPORT = 'not an OTLP trace export (no "resourceSpans" list)'
BROKEN = ("the JSON document is cut short or its brackets do not match here: nothing after this point can be read "
          "(the record holds its first bytes)")
_OPEN, _CLOSE = b"{[", b"}]"
_STRUCTURAL = np.frombuffer(b"{}[],:", dtype=np.uint8)
_DEPTH_CHANGE = {ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1, ord(","): 0, ord(":"): 0}


class _Broken(Exception):
    """The document's structure breaks at `offset`."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


@dataclass
class _Scanner:
    """The structural characters outside strings, window by window, with the depth before each.
    What crosses a window's edge is carried: whether a string is open, the backslashes just
    before the edge (an escaped quote), the depth."""

    in_string: bool = False
    backslashes: int = 0
    depth: int = 0

    def tokens(self, data: bytes, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(absolute positions, characters, depth before each) of `data`'s shallow tokens: those
        at depth 5 or less, and the separators and closer of a span list (depth 6)."""
        a = np.frombuffer(data, dtype=np.uint8)
        quotes = np.flatnonzero(a == ord('"'))
        slashes = np.flatnonzero(a == ord("\\"))
        if len(quotes):
            quotes = quotes[~self._escaped(quotes, slashes)]
        self.backslashes = self._trailing_backslashes(slashes, len(a))
        marks = np.flatnonzero(np.isin(a, _STRUCTURAL))
        outside = (np.searchsorted(quotes, marks) + self.in_string) % 2 == 0
        self.in_string = bool((len(quotes) + self.in_string) % 2)
        marks = marks[outside]
        chars = a[marks]
        change = np.zeros(len(chars), dtype=np.int64)
        change[(chars == ord("{")) | (chars == ord("["))] = 1
        change[(chars == ord("}")) | (chars == ord("]"))] = -1
        depth = self.depth + np.cumsum(change) - change
        if len(depth):
            self.depth = int(depth[-1] + change[-1])
        shallow = (depth <= 5) | ((depth == 6) & ((chars == ord(",")) | (chars == ord("]"))))
        return marks[shallow] + offset, chars[shallow], depth[shallow]

    def _escaped(self, quotes: np.ndarray, slashes: np.ndarray) -> np.ndarray:
        """Whether each quote follows an odd run of backslashes (with those carried over the edge)."""
        if not len(slashes):
            return (quotes == 0) & (self.backslashes % 2 == 1)
        starts_run = np.diff(slashes, prepend=-2) != 1
        run_start = slashes[starts_run][np.cumsum(starts_run) - 1]  # where each backslash's run starts
        before = np.maximum(np.searchsorted(slashes, quotes) - 1, 0)  # the last backslash before each quote
        adjacent = slashes[before] == quotes - 1
        run = np.where(adjacent, quotes - run_start[before], 0)
        carried = np.where(adjacent, run_start[before] == 0, quotes == 0)
        return (run + np.where(carried, self.backslashes, 0)) % 2 == 1

    @staticmethod
    def _trailing_backslashes(slashes: np.ndarray, size: int) -> int:
        if not len(slashes) or slashes[-1] != size - 1:
            return 0
        gaps = np.flatnonzero(np.diff(slashes) != 1)
        return int(len(slashes) - (gaps[-1] + 1 if len(gaps) else 0))


@dataclass
class _Scope:
    start: int
    end: int = -1
    context: list[bytes] = field(default_factory=list)  # the scope item's other fields
    spans: array = field(default_factory=lambda: array("q"))  # start, end of each span


@dataclass
class _Resource:
    start: int
    end: int = -1
    context: list[bytes] = field(default_factory=list)  # the item's other fields (its resource)
    scopes: list[_Scope] = field(default_factory=list)


class _Structure:
    """What the scan found: `resourceSpans`' items in order, with the inside of the large ones."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.resources: list[_Resource] = []
        self.broken_at: int | None = None
        self.is_export = False  # whether the document has a `resourceSpans` list at its top
        self._keys: dict[int, bytes] = {}  # depth → key of the member open there
        self._member_start: dict[int, int] = {}  # depth → where the member open there starts

    def read(self, start: int, end: int) -> bytes:
        self.stream.seek(start)
        return self.stream.read(end - start)

    def scan(self, size: int) -> None:
        scanner = _Scanner()
        offset = 0
        try:
            while offset < size:
                self.stream.seek(offset)
                data = self.stream.read(_WINDOW_BYTES)
                for position, char, depth in zip(*scanner.tokens(data, offset), strict=True):
                    self._token(int(position), int(char), int(depth))
                offset += len(data)
            if scanner.depth != 0 or scanner.in_string:
                raise _Broken(size)
        except _Broken as broken:
            self.broken_at = self._keep_what_ended(broken.offset)

    def _keep_what_ended(self, offset: int) -> int:
        """At a break: keep the spans that ended before it, and say where the rest starts. A
        resource whose own `resource` field was not read before the break (it may come after its
        scopes) keeps nothing: its spans would load without its attributes (the service, the agent)."""
        if not self.resources or self.resources[-1].end >= 0:
            return offset
        resource = self.resources[-1]
        rest = offset
        scope = resource.scopes[-1] if resource.scopes else None
        if scope is not None and scope.end < 0:
            if len(scope.spans) % 2:
                rest = scope.spans.pop()  # the start of the span the break cut
            if not scope.spans:
                resource.scopes.pop()
                rest = scope.start
            scope.end = rest
        if not resource.scopes or not any(member.startswith(b'"resource"') for member in resource.context):
            self.resources.pop()
            return resource.start
        resource.end = offset
        return rest

    def _token(self, position: int, char: int, depth: int) -> None:
        if depth < 0 or (char in _CLOSE and depth == 0):
            raise _Broken(position)
        if char == ord(":"):
            self._keys[depth] = self.read(self._member_start.get(depth, position), position).strip()
            return
        path = tuple(self._keys.get(d) for d in (1, 3, 5))
        if depth == 1 and char == ord("[") and path[0] == b'"resourceSpans"':
            self.is_export = True
        if path[0] == b'"resourceSpans"' and depth >= 2:
            self._in_resource_spans(path, position, char, depth)
        if char == ord("{") or char == ord(","):  # a member starts after either
            self._member_start[depth + (char == ord("{"))] = position + 1

    def _in_resource_spans(self, path: tuple[bytes | None, ...], position: int, char: int, depth: int) -> None:
        if depth == 2 and char == ord("{"):
            self.resources.append(_Resource(position))
        elif depth == 3 and char in b",}" and self.resources:
            self._member_end(self.resources[-1], position, b'"scopeSpans"', 3)
            if char == ord("}"):
                self._end_resource(position + 1)
        elif path[1] == b'"scopeSpans"' and self.resources:
            self._in_scope_spans(self.resources[-1], path[2], position, char, depth)

    def _member_end(self, owner: _Resource | _Scope, position: int, skipped: bytes, depth: int) -> None:
        """A member of `owner` ends: keep its text unless it is the list that gets cut."""
        key = self._keys.pop(depth, None)
        if key is not None and key != skipped:
            owner.context.append(self.read(self._member_start[depth], position).strip())

    def _end_resource(self, end: int) -> None:
        resource = self.resources[-1]
        resource.end = end
        if end - resource.start <= PIECE_BYTES:
            resource.context, resource.scopes = [], []  # read whole: the inside is not needed

    def _in_scope_spans(self, resource: _Resource, key: bytes | None, position: int, char: int, depth: int) -> None:
        if depth == 4 and char == ord("{"):
            resource.scopes.append(_Scope(position))
            return
        if not resource.scopes:
            return
        scope = resource.scopes[-1]
        if depth == 5 and char in b",}":
            self._member_end(scope, position, b'"spans"', 5)
            if char == ord("}"):
                scope.end = position + 1
                if scope.end - scope.start <= PIECE_BYTES:
                    scope.context, scope.spans = [], array("q")
        elif key == b'"spans"' and ((depth == 5 and char == ord("[")) or depth == 6):
            if depth == 6:
                scope.spans.append(position)  # the end of the span before this separator
            if char != ord("]"):
                scope.spans.append(position + 1)  # the start of the next


def _wrap(resource: list[bytes], scope: list[bytes] | None, items: list[bytes]) -> bytes:
    """A one-line export holding `items`: resources, or scopes of one resource, or spans of one scope."""
    inner = b",".join(items)
    if scope is not None:
        inner = b"{" + b"".join(c + b"," for c in scope) + b'"spans":[' + inner + b"]}"
    if resource or scope is not None:
        inner = b"{" + b"".join(c + b"," for c in resource) + b'"scopeSpans":[' + inner + b"]}"
    return b'{"resourceSpans":[' + inner + b"]}"


@dataclass(frozen=True)
class _Piece:
    text: bytes
    bases: tuple[int, int, int]


def _packed(items: Iterable[tuple[int, bytes | Iterator[_Piece]]], wrap: Callable[[list[bytes]], bytes],
            bases: Callable[[int], tuple[int, int, int]]) -> Iterator[_Piece]:
    """Items in order: whole ones (text) packed into pieces of about `PIECE_BYTES`, each `wrap`ped
    and placed by `bases` of its first item's index; an item already cut (its pieces) in between."""
    group: list[bytes] = []
    size = first = 0
    for index, item in items:
        if isinstance(item, bytes) and not (group and size + len(item) > PIECE_BYTES):
            first = first if group else index
            group.append(item)
            size += len(item)
            continue
        if group:
            yield _Piece(wrap(group), bases(first))
            group, size = [], 0
        if isinstance(item, bytes):
            first, group, size = index, [item], len(item)
        else:
            yield from item
    if group:
        yield _Piece(wrap(group), bases(first))


def _pieces(structure: _Structure) -> Iterator[_Piece]:
    resources = ((r, _resource_pieces(structure, r, resource) if resource.scopes
                  else structure.read(resource.start, resource.end)) for r, resource in enumerate(structure.resources))
    return _packed(resources, lambda group: _wrap([], None, group), lambda first: (first, 0, 0))


def _resource_pieces(structure: _Structure, r: int, resource: _Resource) -> Iterator[_Piece]:
    def cut(s: int, scope: _Scope) -> Iterator[_Piece]:
        spans = ((k, structure.read(scope.spans[2 * k], scope.spans[2 * k + 1]).strip())
                 for k in range(len(scope.spans) // 2))
        return _packed(((k, text) for k, text in spans if text),
                       lambda group: _wrap(resource.context, scope.context, group), lambda first: (r, s, first))

    scopes = ((s, cut(s, scope) if len(scope.spans) or scope.context else structure.read(scope.start, scope.end))
              for s, scope in enumerate(resource.scopes))
    return _packed(scopes, lambda group: _wrap(resource.context, None, group), lambda first: (r, first, 0))


def _chunk(pieces: list[_Piece], unreadable: list[tuple[int, str, bytes]]) -> LineChunk:
    texts, bases, bad = [], [], list(unreadable)
    for piece in pieces:
        one_line = piece.text.replace(b"\r", b" ").replace(b"\n", b" ")
        try:
            one_line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append((1, NOT_UTF8, one_line))
            continue
        texts.append(one_line)
        bases.append(piece.bases)
    numbers = np.array(bases, dtype=np.int64).reshape(-1, 3)
    table = pa.Table.from_arrays(
        [int64_array(np.ones(len(texts))), bytes_array(texts, pa.string()), int64_array(numbers[:, 0]),
         int64_array(numbers[:, 1]), int64_array(numbers[:, 2])],
        names=["line", "doc", "resource_base", "scope_base", "span_base"])
    return LineChunk(table, bad, sum(len(p.text) for p in pieces) + sum(len(u[2]) for u in unreadable))


def read_document_chunks(path: Path) -> Iterator[LineChunk]:
    """The document as chunks of one-line exports, about `CHUNK_BYTES` each."""
    with seekable(path) as stream:
        size = stream.seek(0, 2)
        stream.seek(0)
        start = len(BOM) if stream.read(len(BOM)) == BOM else 0
        if size - start <= PIECE_BYTES:
            stream.seek(start)
            yield _chunk([_Piece(stream.read(), (0, 0, 0))], [])
            return
        structure = _Structure(stream)
        structure.scan(size)
        pieces: list[_Piece] = []
        held = 0
        for piece in _pieces(structure):
            pieces.append(piece)
            held += len(piece.text)
            if held >= CHUNK_BYTES:
                yield _chunk(pieces, [])
                pieces, held = [], 0
        unreadable = []
        if not structure.is_export:  # refused whole, as one read at once is
            unreadable.append((1, NOT_AN_EXPORT, structure.read(start, start + PIECE_BYTES)))
        elif structure.broken_at is not None:
            unreadable.append((1, BROKEN, structure.read(structure.broken_at, structure.broken_at + PIECE_BYTES)))
        if pieces or unreadable:
            yield _chunk(pieces, unreadable)
