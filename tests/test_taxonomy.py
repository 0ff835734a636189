"""Editing the failure-mode list: rename and merge keep every label already saved (reviews and
judgements, history rows included) by resolving old names at read time."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from warehouse import explorer, reviews, taxonomy
from warehouse.db import transaction
from warehouse.filters import Filters
from warehouse.judgements import JudgementRow, insert_judgements

PERIOD = Filters(date(2026, 9, 1), date(2026, 10, 30))


@pytest.fixture
def labelled(synthetic_warehouse: Path) -> Path:
    """Call 1: a person tagged slow_turn (then edited, keeping slow_turn); call 2: the judge flagged
    slow_turn and customer_repeated."""
    for notes in ("first look", "second look"):
        reviews.save_review(reviews.Review(None, "call-00001", "Ana", 2, False, ("slow_turn",), notes))
    with transaction() as con:
        insert_judgements(con, [JudgementRow("call-00002", "rules", "v9", "rules", None, "ok", "run",
                                             datetime(2026, 11, 1), score=3, passed=False,
                                             labels=["slow_turn", "customer_repeated"])])
    return synthetic_warehouse


def _modes(source: str, column: str = "modes") -> dict[str, list[str]]:
    frame = explorer.with_labels(explorer.call_frame(PERIOD), taxonomy.load_taxonomy(), source)
    wanted = frame.filter(frame["call_id"].is_in(["call-00001", "call-00002"]))
    return dict(zip(wanted["call_id"], wanted[column].to_list(), strict=True))


def test_renaming_keeps_human_and_judge_labels_and_leaves_history_untouched(labelled: Path) -> None:
    assert taxonomy.rename_mode("slow_turn", "Long silence") == "long_silence"
    # The review was saved outside a session: resolved as the person's label, though the People
    # source counts only reviews from uniformly drawn sessions.
    assert _modes("human", "human_modes")["call-00001"] == ["long_silence"]
    assert _modes("judge")["call-00002"] == ["long_silence", "customer_repeated"]
    current = taxonomy.load_taxonomy()
    assert "slow_turn" not in current.names and "long_silence" in current.names
    row = current.modes.filter(current.modes["name"] == "long_silence").row(0, named=True)
    assert row["owner"] == "engineering" and "silence" in row["description"]
    con = duckdb.connect(str(labelled), read_only=True)
    saved = con.execute("SELECT labels FROM reviews WHERE call_id = 'call-00001'").fetchall()
    con.close()
    assert saved == [(["slow_turn"],), (["slow_turn"],)]  # both saves, as written


def test_merging_counts_both_names_once_under_the_target(labelled: Path) -> None:
    taxonomy.merge_modes("customer_repeated", "slow_turn")
    assert _modes("judge")["call-00002"] == ["slow_turn"]
    taxonomy.rename_mode("slow_turn", "long_silence")  # a rename after a merge follows the chain
    assert _modes("judge")["call-00002"] == ["long_silence"]
    assert taxonomy.load_taxonomy().aliases["customer_repeated"] == "long_silence"


def test_edits_that_would_lose_meaning_are_refused(labelled: Path) -> None:
    with pytest.raises(reviews.ReviewRefused, match="already"):
        taxonomy.rename_mode("slow_turn", "customer_repeated")
    with pytest.raises(reviews.ReviewRefused, match="different"):
        taxonomy.merge_modes("slow_turn", "slow_turn")
    taxonomy.merge_modes("customer_repeated", "slow_turn")
    with pytest.raises(reviews.ReviewRefused, match="not a current"):
        taxonomy.edit_mode("customer_repeated", "x", "pm", "", False)
    with pytest.raises(reviews.ReviewRefused, match="Describe"):
        taxonomy.edit_mode("slow_turn", " ", "pm", "", False)


def test_edit_and_add_keep_what_was_typed(warehouse_file: Path) -> None:
    taxonomy.edit_mode("policy_slip", "Read out data it should not.", "engineering", "Read a card number.", False)
    taxonomy.add_mode("wrong clinic", "Booked at the wrong clinic.", "pm", "Sent to Elm St, not Oak St.", False)
    modes = taxonomy.load_taxonomy().modes
    by_name = {row["name"]: row for row in modes.iter_rows(named=True)}
    assert by_name["policy_slip"]["owner"] == "engineering"
    assert by_name["wrong_clinic"]["examples"] == "Sent to Elm St, not Oak St."
    assert taxonomy.load_taxonomy().outcome_modes == {"goal_not_met"}


def test_alias_chains_end_at_a_current_name_even_when_damaged() -> None:
    assert taxonomy.resolve_aliases({"a": "b", "b": "c", "c": None}) == {"a": "c", "b": "c", "c": "c"}
    assert taxonomy.resolve_aliases({"a": "b", "b": "a"}) == {"a": "b", "b": "a"}  # a loop stops, nothing lost
    assert taxonomy.resolve_aliases({"a": "gone"}) == {"a": "a"}


def test_rename_and_add_carry_examples_and_the_outcome_flag(warehouse_file: Path) -> None:
    taxonomy.edit_mode("goal_not_met", "No booking was made.", "pm", "Hung up before booking.", True)
    assert taxonomy.rename_mode("goal_not_met", "no_booking") == "no_booking"
    taxonomy.add_mode("no_sale", "Nothing was sold.", "pm", "", True)
    with pytest.raises(reviews.ReviewRefused, match="owner"):
        taxonomy.add_mode("no_owner", "Nobody owns it.", "sales")
    current = taxonomy.load_taxonomy()
    assert current.outcome_modes == {"no_booking", "no_sale"}
    by_name = {row["name"]: row for row in current.modes.iter_rows(named=True)}
    assert by_name["no_booking"]["examples"] == "Hung up before booking." and by_name["no_sale"]["examples"] is None
    assert "no_owner" not in by_name and current.resolve("goal_not_met") == "no_booking"
