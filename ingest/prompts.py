"""Load a prompts folder: `PATH/<agent>/<version>.md`, each with TOML front matter between `+++`
lines (version, reason, author, deployed_at in ISO UTC) and then the prompt text."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ingest.errors import IngestError
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.prompt_loading import upsert_prompts

_SCHEMA = pa.schema([("agent", pa.string()), ("version", pa.string()), ("prompt_text", pa.string()),
                     ("reason", pa.string()), ("author", pa.string()), ("deployed_at", pa.timestamp("us"))])


def ingest_prompts(path: Path, *, db_path: Path | None = None) -> IngestSummary:
    """Upsert every prompt file under `path`; a file that cannot be read is quarantined."""
    folder = Path(path)
    if not folder.is_dir():
        raise IngestError(f"No such prompts folder: {folder}")
    files = sorted(folder.glob("*/*.md"))
    if not files:
        raise IngestError(f"The folder {folder} holds no <agent>/<version>.md prompt file.")
    rows, rejects = [], []
    first_file: dict[tuple[str, str], Path] = {}  # one row per (agent, version): a repeat would overwrite it
    for file in files:
        try:
            row = parse_prompt_file(file)
            earlier = first_file.setdefault((row["agent"], row["version"]), file)
            if earlier != file:
                raise ValueError(f"version {row['version']!r} is already given by {earlier.name}")
            rows.append(row)
        except ValueError as error:
            rejects.append({"file": str(file.resolve()), "location": "file", "reason": str(error),
                            "record": file.read_bytes()})
    with recorded_run("prompts", [folder], db_path, unit="files") as summary, transaction(db_path) as con:
        new, changed = upsert_prompts(con, pa.Table.from_pylist(rows, _SCHEMA))
        refused = 0
        for reject in rejects:  # each names its own file
            refused += quarantine(con, summary.run_id, str(reject.pop("file")), pa.Table.from_pylist([reject]))
        unchanged = len(rows) - new - changed
        add_counts(con, summary.run_id, read=len(files), loaded=new, updated=changed, unchanged=unchanged,
                   quarantined=refused)
        summary.add(read=len(files), loaded=new, updated=changed, unchanged=unchanged, quarantined=refused)
    return summary


def parse_prompt_file(file: Path) -> dict:
    """One prompt version; ValueError says what is wrong with the file."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not valid UTF-8") from None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "+++":
        raise ValueError("no front matter: the file must start with a +++ line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise ValueError("the front matter has no closing +++ line") from None
    try:
        meta = tomllib.loads("".join(lines[1:end]))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"the front matter is not valid TOML: {error}") from None
    for key in ("reason", "author"):
        if not isinstance(meta.get(key, ""), str):
            raise ValueError(f"{key} must be text in quotes")
    return {"agent": file.parent.name, "version": str(meta.get("version") or file.stem),
            "prompt_text": "".join(lines[end + 1:]).strip("\n"), "reason": meta.get("reason"),
            "author": meta.get("author"), "deployed_at": _utc(meta.get("deployed_at"))}


def _utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"deployed_at {value!r} is not an ISO date and time") from None
    if not isinstance(value, datetime):
        raise ValueError("deployed_at must be an ISO date and time")
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
