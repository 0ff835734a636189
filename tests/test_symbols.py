"""Every symbol the app writes is one Debian's Chromium can draw: emoji have no font on a stock
Debian machine (no colour-emoji font is installed with chromium) and render as empty boxes, so the
UI uses words, Material icons (bundled with Streamlit) or symbols an installed font covers."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_SOURCES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")),
              *sorted((ROOT / "present").glob("*.py"))]


def _symbols() -> set[str]:
    """Symbol characters (Unicode category S*) outside ASCII, and emoji presentation selectors."""
    return {char for path in UI_SOURCES for char in path.read_text()
            if ord(char) > 0x7F and (unicodedata.category(char).startswith("S") or char == "\ufe0f")}


def test_no_emoji_in_the_ui() -> None:
    emoji = {c for c in _symbols() if ord(c) >= 0x1F000 or c == "\ufe0f" or c in "\u2705\u274c\u2b50"}
    assert not emoji, f"emoji render as boxes on Debian's Chromium: {sorted(emoji)}"


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig comes with Debian's chromium")
def test_every_symbol_has_an_installed_font() -> None:
    missing = [c for c in sorted(_symbols()) if not subprocess.run(
        ["fc-list", f":charset={ord(c):x}", "family"], capture_output=True, text=True, check=True).stdout.strip()]
    assert not missing, f"no installed font draws {[f'U+{ord(c):04X} {c}' for c in missing]}"
