"""Serve the dashboard: `python -m ui.serve [streamlit options]` (what `make run` does).

Streamlit still has a mode from before `st.navigation`, in which every file in `pages/` is a page
of its own. It decides on it per server, from a class-level flag that is only cleared once the
frame (`app.py`, which calls `st.navigation`) has run. So if the first visitor of a fresh server
opens a shared link such as /drift, that page runs without the frame: narrow layout, file names in
the sidebar. Clearing the flag before the first session starts makes every link open in the frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(options: list[str]) -> int:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *options]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
