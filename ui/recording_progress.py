"""The Ingest page's note on the demo's recordings while data/audio.py is still making them."""

from __future__ import annotations

import streamlit as st

from warehouse.db import warehouse_path
from warehouse.recordings import read_progress, recordings_folders


@st.fragment(run_every=5)
def show_recording_progress() -> None:
    """How many of the demo's recordings are ready, refreshed every few seconds while they are being
    made; nothing when this warehouse's recordings were never synthesized."""
    progress = read_progress(recordings_folders(warehouse_path())[0])
    if progress is None:
        return
    st.subheader("Demo recordings")
    share = progress.done / progress.total if progress.total else 1.0
    counted = f"{progress.done:,} of {progress.total:,} calls"
    failed = f" · {progress.failed:,} failed (see synthesis.log in the recordings folder)" if progress.failed else ""
    if progress.finished:
        st.caption(f"Recordings ready for {counted} of the demo's last 14 days{failed}.")
    elif progress.running:
        st.progress(share, text=f"Making the demo's recordings, newest calls first: {counted}{failed}.")
    else:
        st.progress(share, text=f"Making the demo's recordings stopped at {counted}{failed}.")
        st.caption("Run `python -m data.audio` to make the rest; the ones already made are kept.")
