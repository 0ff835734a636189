"""The diff between two prompt versions: the whole prompt, changed lines marked, text untouched."""

from __future__ import annotations

from present.prompt_diff import prompt_diff


def test_the_diff_marks_removed_and_added_lines_among_the_rest() -> None:
    old = "Be warm.\nQuote prices.\nBook."
    new = "Be warm.\nQuote prices only from get_price.\nBook.\nConfirm in one sentence."
    lines = prompt_diff(old, new, "salon v1", "salon v2").splitlines()
    assert lines[:2] == ["--- salon v1", "+++ salon v2"]
    assert lines[3:] == [" Be warm.", "-Quote prices.", "+Quote prices only from get_price.", " Book.",
                         "+Confirm in one sentence."]


def test_markup_in_a_prompt_is_kept_as_text() -> None:
    diff = prompt_diff("", "<script>alert(1)</script> **bold**", "a", "b")
    assert "+<script>alert(1)</script> **bold**" in diff.splitlines()


def test_the_same_text_has_no_diff() -> None:
    assert prompt_diff("same", "same", "a", "b") == ""
