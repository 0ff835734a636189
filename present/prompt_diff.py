"""The difference between two prompt versions, as the whole prompt with changed lines marked."""

from __future__ import annotations

import difflib


def prompt_diff(old: str | None, new: str | None, old_name: str, new_name: str) -> str:
    """A unified diff of two prompts with every line as context: prompts are short, and a
    changed rule reads best among the rules around it. Empty when the texts are the same. Show
    it as code (`st.code`), which displays the text exactly and renders nothing in it."""
    old_lines, new_lines = (old or "").splitlines(), (new or "").splitlines()
    context = max(len(old_lines), len(new_lines))
    return "\n".join(difflib.unified_diff(old_lines, new_lines, old_name, new_name, n=context, lineterm=""))
