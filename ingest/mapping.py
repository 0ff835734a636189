"""Mapping files (TOML) that say how an export's columns read as ours.

```toml
[source]
name = "crm"            # becomes outcomes.source
join_on = "call_id"     # or "trace_id"
redact = true
[columns]               # ours = "theirs"
call_id = "Call ID"
booked = "Outcome"
[values]                # how their words read as ours (any case); pending: no outcome yet
booked = { true = ["Booked", "Won"], false = ["Not booked", "Lost"], pending = ["Open"] }
[dates]                 # optional, per column: { day_first = true } or { format = "%d/%m/%Y" }
recorded_at = { day_first = true }
```
`[source]` may also say how to read the file: `delimiter` (else sniffed from the header),
`decimal` (else shown by the values), `encoding` (default "utf-8"). docs/outcomes.md has it all.
Every mistake in one is a user mistake: reported as one sentence naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ingest.dates import DateRule
from ingest.errors import IngestError
from ingest.tables import FileOptions

SOURCE_KEYS = ("name", "join_on", "redact", "delimiter", "decimal", "encoding")
_SIDES = {"true": True, "false": False, "pending": None}


@dataclass(frozen=True)
class Mapping:
    source: str
    join_on: str
    redact: bool
    columns: dict[str, str]  # ours -> theirs
    # ours -> their word -> ours (None: pending, no outcome yet)
    values: dict[str, dict[str, bool | None]] = field(default_factory=dict)
    dates: dict[str, DateRule] = field(default_factory=dict)
    file: FileOptions = field(default_factory=FileOptions)
    decimal: str | None = None  # None: sniffed

    def accepted_words(self, name: str) -> str:
        """The words `name` accepts, for the message that refuses another."""
        return accepted_words(self.values.get(name, DEFAULT_BOOLEANS))


DEFAULT_BOOLEANS: dict[str, bool | None] = {"true": True, "yes": True, "y": True, "1": True,
                                            "false": False, "no": False, "n": False, "0": False}


def accepted_words(words: dict[str, bool | None]) -> str:
    side = {True: "true", False: "false", None: "pending"}
    return ", ".join(f"{word} ({side[value]})" for word, value in words.items())


def read_mapping(path: Path) -> dict:
    """The mapping file as a TOML document."""
    if not path.is_file():
        raise IngestError(f"No such mapping file: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise IngestError(f"The mapping {path} is not valid TOML: {error}") from None


def mapped_columns(document: dict, path: Path, fields: tuple[str, ...]) -> dict[str, str]:
    """The [columns] table (ours -> theirs), every name checked against `fields`."""
    columns = document.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise IngestError(f"The mapping {path}: [columns] must map our field names to their column names.")
    unknown = sorted(set(columns) - set(fields))
    if unknown:
        raise IngestError(
            f"The mapping {path}: unknown field {unknown[0]!r} in [columns]; ours are {', '.join(fields)}."
        )
    return dict(columns)


def source_name(document: dict, path: Path) -> str:
    name = document.get("source", {}).get("name")
    if not isinstance(name, str) or not name:
        raise IngestError(f"The mapping {path} needs [source] name = \"...\".")
    return name


def file_options(document: dict, path: Path, allowed: tuple[str, ...] = SOURCE_KEYS) -> tuple[FileOptions, str | None]:
    """How to read the data file, from [source]: its delimiter and encoding, and the decimal
    mark of its numbers. An unknown key is refused, so a misspelt option is not silently ignored."""
    source = document.get("source", {})
    if unknown := sorted(set(source) - set(allowed)):
        raise IngestError(f"The mapping {path}: unknown key {unknown[0]!r} in [source]; "
                          f"it takes {', '.join(allowed)}.")
    delimiter, decimal, encoding = source.get("delimiter"), source.get("decimal"), source.get("encoding", "utf-8")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise IngestError(f"The mapping {path}: [source] delimiter must be one character, like \";\" or \"\\t\".")
    if decimal not in (None, ".", ","):
        raise IngestError(f"The mapping {path}: [source] decimal must be \".\" or \",\".")
    if not isinstance(encoding, str):
        raise IngestError(f"The mapping {path}: [source] encoding must be a name like \"latin-1\".")
    return FileOptions(delimiter, encoding), decimal


def date_rules(document: dict, path: Path, fields: tuple[str, ...]) -> dict[str, DateRule]:
    """The [dates] table: per date field, a strftime `format` or `day_first`."""
    table = document.get("dates", {})
    if not isinstance(table, dict):
        raise IngestError(f"The mapping {path}: [dates] must be a table.")
    rules = {}
    for ours, spec in table.items():
        if ours not in fields:
            raise IngestError(f"The mapping {path}: [dates] {ours} is not one of our date fields "
                              f"({', '.join(fields)}).")
        if not isinstance(spec, dict) or not spec or not set(spec) <= {"format", "day_first"} or not isinstance(
                spec.get("format", ""), str) or not isinstance(spec.get("day_first", True), bool):
            raise IngestError(f"The mapping {path}: [dates] {ours} must be {{ day_first = true }}, "
                              f"{{ day_first = false }} or {{ format = \"%d/%m/%Y %H:%M\" }}.")
        rules[ours] = DateRule(spec.get("format"), spec.get("day_first"))
    return rules


def load_mapping(path: Path, fields: tuple[str, ...], join_keys: tuple[str, ...],
                 date_fields: tuple[str, ...] = ()) -> Mapping:
    """Read and check a mapping; `fields` are the names ours may use, `join_keys` those it may join
    on, `date_fields` those [dates] may describe."""
    document = read_mapping(path)
    source = document.get("source", {})
    options, decimal = file_options(document, path)
    name, join_on = source_name(document, path), source.get("join_on")
    if join_on not in join_keys:
        raise IngestError(f"The mapping {path}: [source] join_on must be one of {', '.join(join_keys)}.")
    columns = mapped_columns(document, path, fields)
    if join_on not in columns:
        raise IngestError(f"The mapping {path} joins on {join_on} but [columns] does not say which column holds it.")
    return Mapping(name, join_on, bool(source.get("redact", False)), columns,
                   _values(document.get("values", {}), path), date_rules(document, path, date_fields),
                   options, decimal)


def _values(table: object, path: Path) -> dict[str, dict[str, bool | None]]:
    """[values]: their words per field, any case, as true, false or pending (no outcome yet)."""
    if not isinstance(table, dict):
        raise IngestError(f"The mapping {path}: [values] must be a table.")
    words: dict[str, dict[str, bool | None]] = {}
    for ours, spec in table.items():
        if not isinstance(spec, dict) or not set(spec) <= set(_SIDES) or not all(
                isinstance(listed, list) for listed in spec.values()):
            raise IngestError(f"The mapping {path}: [values] {ours} must be "
                              f"{{ true = [...], false = [...], pending = [...] }}.")
        words[ours] = {str(word).strip(): _SIDES[side] for side, listed in spec.items() for word in listed}
    return words


class NamesColumns(Protocol):
    """Any mapping (outcomes, complaints, call logs) that names the columns it reads."""

    @property
    def columns(self) -> dict[str, str]: ...


def require_columns(mapping: NamesColumns, present: list[str], data_path: Path) -> None:
    """Every column the mapping names must be in the file."""
    missing = sorted(set(mapping.columns.values()) - set(present))
    if missing:
        raise IngestError(
            f"{data_path} has no column {missing[0]!r} (named in the mapping); it has {', '.join(present)}."
        )
