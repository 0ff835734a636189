"""The failure-mode taxonomy: reading it, editing it, and resolving old names to current ones.

Renaming or merging never rewrites a label already saved. A rename adds the new mode and points
the old one at it (`merged_into`); a merge points one mode at another. Every reader resolves
labels through `Taxonomy.resolve` at read time, so human reviews (append-only history), judge
verdicts (a record of what a judge version said) and judges still emitting the old name all
count under the current name. docs/failure-modes.md says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from warehouse import reviews
from warehouse.db import connect, transaction
from warehouse.reviews import ReviewRefused


@dataclass(frozen=True)
class Taxonomy:
    """The current modes and, for every name ever used, the current name it now counts as."""

    modes: pl.DataFrame  # name, description, owner, examples, describes_outcome (current modes only)
    aliases: dict[str, str]  # every known name -> its current name (a current name maps to itself)

    @property
    def names(self) -> list[str]:
        return self.modes["name"].to_list()

    @property
    def outcome_modes(self) -> set[str]:
        """Modes that name the outcome (no booking) rather than a cause of it."""
        return set(self.modes.filter(pl.col("describes_outcome"))["name"].to_list())

    def resolve(self, label: str) -> str:
        """The current name of a label; a name the taxonomy never knew stays as it is."""
        return self.aliases.get(label, label)

    def resolved(self, column: str) -> pl.Expr:
        """A list column of labels under current names, each once, in first-seen order."""
        return pl.col(column).list.eval(pl.element().replace(self.aliases)).list.unique(maintain_order=True)


def resolve_aliases(merged_into: dict[str, str | None]) -> dict[str, str]:
    """Follow each name's `merged_into` chain to a current mode (a rename of a merged mode
    chains). A chain that loops or leads to an unknown name ends at the last known name, so a
    damaged row never loses a label."""
    resolved: dict[str, str] = {}
    for name in merged_into:
        seen, current = [name], name
        while (target := merged_into.get(current)) and target in merged_into and target not in seen:
            seen.append(target)
            current = target
        resolved[name] = current
    return resolved


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy as it is now (a small table, read in one short visit)."""
    with connect(path) as con:
        return read_taxonomy(con)


def read_taxonomy(con: duckdb.DuckDBPyConnection) -> Taxonomy:
    """The taxonomy, on a connection to the warehouse the caller holds already."""
    everything = con.sql(
        """SELECT name, description, owner, examples, coalesce(describes_outcome, false) AS describes_outcome,
                  merged_into
           FROM failure_modes ORDER BY name"""
    ).pl()
    aliases = resolve_aliases(dict(zip(everything["name"], everything["merged_into"], strict=True)))
    current = everything.filter(pl.col("merged_into").is_null()).drop("merged_into")
    return Taxonomy(current, aliases)


def _require_current(con: duckdb.DuckDBPyConnection, name: str) -> tuple:
    """A current mode's description, owner, examples and outcome flag, or a refusal naming it."""
    row = con.execute(
        """SELECT description, owner, examples, describes_outcome FROM failure_modes
           WHERE name = ? AND merged_into IS NULL""",
        [name],
    ).fetchone()
    if row is None:
        raise ReviewRefused(f"'{name}' is not a current failure mode (it may have been renamed or merged).")
    return row


def add_mode(
    name: str, description: str, owner: str, examples: str = "", describes_outcome: bool = False,
    path: Path | None = None,
) -> str:
    """Add a mode (checked as the review's "new failure mode" is); returns its stored name."""
    with transaction(path) as con:
        return reviews.insert_failure_mode(con, name, description, owner, examples, describes_outcome)


def edit_mode(
    name: str, description: str, owner: str, examples: str, describes_outcome: bool, path: Path | None = None
) -> None:
    """Change what a mode means, who owns it, its examples and whether it names the outcome."""
    reviews.check_mode_meaning(description, owner)
    with transaction(path) as con:
        _require_current(con, name)
        con.execute(
            "UPDATE failure_modes SET description = ?, owner = ?, examples = ?, describes_outcome = ? WHERE name = ?",
            [description.strip(), owner, examples.strip() or None, describes_outcome, name],
        )


def rename_mode(old: str, new: str, path: Path | None = None) -> str:
    """Give a mode a new name: a new mode takes over the old one's description, owner and
    examples, and the old one is merged into it, so every label saved under it still counts.
    One transaction, so a rename never leaves the new mode without the old one merged into it."""
    with transaction(path) as con:
        description, owner, examples, describes_outcome = _require_current(con, old)
        added = reviews.insert_failure_mode(con, new, description, owner, examples or "", bool(describes_outcome))
        _merge(con, old, added)
    return added


def merge_modes(source: str, target: str, path: Path | None = None) -> None:
    """Fold `source` into `target`: labels saved as `source` count as `target` from now on."""
    with transaction(path) as con:
        _merge(con, source, target)


def _merge(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    if source == target:
        raise ReviewRefused("Pick two different failure modes to merge.")
    _require_current(con, source)
    _require_current(con, target)
    con.execute("UPDATE failure_modes SET merged_into = ? WHERE name = ?", [target, source])
