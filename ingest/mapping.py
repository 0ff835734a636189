"""Mapping files (TOML) that say how an export's columns read as ours.

```toml
[source]
name = "crm"            # becomes outcomes.source
join_on = "call_id"     # or "trace_id"
redact = true
[columns]               # ours = "theirs"
call_id = "Call ID"
booked = "Outcome"
[values]                # how their values read as ours (booleans)
booked = { true = ["Booked", "Won"], false = ["Not booked", "Lost"] }
```
Every mistake in one is a user mistake: reported as one sentence naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ingest.errors import IngestError


@dataclass(frozen=True)
class Mapping:
    source: str
    join_on: str
    redact: bool
    columns: dict[str, str]  # ours -> theirs
    values: dict[str, dict[str, bool]] = field(default_factory=dict)  # ours -> their word -> ours


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


def load_mapping(path: Path, fields: tuple[str, ...], join_keys: tuple[str, ...]) -> Mapping:
    """Read and check a mapping; `fields` are the names ours may use, `join_keys` those it may join on."""
    document = read_mapping(path)
    source = document.get("source", {})
    name, join_on = source_name(document, path), source.get("join_on")
    if join_on not in join_keys:
        raise IngestError(f"The mapping {path}: [source] join_on must be one of {', '.join(join_keys)}.")
    columns = mapped_columns(document, path, fields)
    if join_on not in columns:
        raise IngestError(f"The mapping {path} joins on {join_on} but [columns] does not say which column holds it.")
    return Mapping(name, join_on, bool(source.get("redact", False)), columns,
                   _values(document.get("values", {}), path))


def _values(table: object, path: Path) -> dict[str, dict[str, bool]]:
    if not isinstance(table, dict):
        raise IngestError(f"The mapping {path}: [values] must be a table.")
    words: dict[str, dict[str, bool]] = {}
    for ours, spec in table.items():
        if not isinstance(spec, dict) or not set(spec) <= {"true", "false"} or not all(
                isinstance(listed, list) for listed in spec.values()):
            raise IngestError(f"The mapping {path}: [values] {ours} must be {{ true = [...], false = [...] }}.")
        words[ours] = {str(word): side == "true" for side, listed in spec.items() for word in listed}
    return words


class NamesColumns(Protocol):
    """Any mapping (outcomes, complaints, call logs) that names the columns it reads."""

    columns: dict[str, str]


def require_columns(mapping: NamesColumns, present: list[str], data_path: Path) -> None:
    """Every column the mapping names must be in the file."""
    missing = sorted(set(mapping.columns.values()) - set(present))
    if missing:
        raise IngestError(
            f"{data_path} has no column {missing[0]!r} (named in the mapping); it has {', '.join(present)}."
        )
