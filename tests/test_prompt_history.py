"""Prompt versions and comments on them: read back as written, refused with a plain reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import prompt_history
from warehouse.db import transaction


@pytest.fixture
def two_versions(warehouse_file: Path) -> Path:
    with transaction() as con:
        con.executemany(
            "INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?, ?)",
            [("salon-booker", "v2", "Be brief.\nConfirm once.", "Shorter", "ana", "2026-09-22 06:00"),
             ("salon-booker", "v1", "Be brief.", "First", "ana", "2026-07-07 06:00"),
             ("clinic-scheduler", "v1", "Hello", "First", "priya", "2026-06-05 06:00")],
        )
    return warehouse_file


def test_versions_come_back_oldest_first_per_agent(two_versions: Path) -> None:
    versions = prompt_history.prompt_versions("salon-booker")
    assert versions["version"].to_list() == ["v1", "v2"]
    assert versions["reason"].to_list() == ["First", "Shorter"]
    assert prompt_history.prompt_versions().height == 3


def test_a_comment_is_kept_with_its_author_and_text_as_written(two_versions: Path) -> None:
    body = "Callers <b>liked</b> it; see [this](javascript:alert(1)) & 'that'"
    prompt_history.add_comment("salon-booker", "v2", " ana ", body)
    prompt_history.add_comment("salon-booker", "v1", "tom", "Too long.")
    shown = prompt_history.comments("salon-booker")
    assert shown.select("version", "author", "body").rows() == [("v2", "ana", body), ("v1", "tom", "Too long.")]
    assert prompt_history.comments("clinic-scheduler").height == 0


@pytest.mark.parametrize("agent, version, author, body, message", [
    ("salon-booker", "v2", "  ", "fine", "needs an author"),
    ("salon-booker", "v2", "ana", " ", "empty"),
    ("salon-booker", "v9", "ana", "fine", "no prompt version v9"),
    ("salon-booker", "v2", "ana", "x" * 5000, "under 4,000"),
])
def test_a_comment_without_author_text_or_version_is_refused(
    two_versions: Path, agent: str, version: str, author: str, body: str, message: str
) -> None:
    with pytest.raises(prompt_history.CommentRefused, match=message):
        prompt_history.add_comment(agent, version, author, body)
    assert prompt_history.comments("salon-booker").height == 0
