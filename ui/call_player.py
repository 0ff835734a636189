"""The call's recording and transcript as one player: a Streamlit component (HTML/JS in
`call_player_frontend/`, with wavesurfer.js 8 bundled there, so nothing is fetched at run time).

Which recordings play is decided by `warehouse.recordings.resolve_recording`: a local file is read
here only when it lies inside the recordings folders, and its bytes go to the browser with the
page; an http(s) address is handed to the browser, which fetches it itself. Call text travels as
data and the component sets it with textContent only."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from present.formats import format_value
from present.markdown import escape_markdown
from warehouse.calls import CallDetail, TimingMark, timing_marks
from warehouse.db import warehouse_path
from warehouse.recordings import Playable, Refused, recordings_folders, resolve_recording

_player = components.declare_component("call_player", path=str(Path(__file__).with_name("call_player_frontend")))
MAX_BYTES = 25_000_000  # a local recording travels with the page; beyond this it would stall the review
KEYS = (("Space", "play / pause"), ("J", "next turn"), ("K", "previous turn"))
MARK_WORDS = {"wait": "wait", "dead_air": "dead air", "interruption": "talking over"}


def recording_of(detail: CallDetail) -> Playable | Refused | None:
    """How this call's recording may be played, if at all."""
    return resolve_recording(detail.recording, recordings_folders(warehouse_path()))


def _mark(mark: TimingMark) -> dict:
    seconds = format_value(mark.end_ms - mark.start_ms, "ms")
    return {"kind": mark.kind, "start": mark.start_ms / 1000, "end": mark.end_ms / 1000,
            "label": f"{MARK_WORDS[mark.kind]} {seconds}"}


def _source(detail: CallDetail, playable: Playable) -> dict | Refused:
    """The audio as the component takes it: the file's bytes, or the address for the browser."""
    if playable.path is None:
        return {"url": playable.url, "audio": None, "audio_id": f"{detail.call['call_id']}|{playable.url}"}
    size = playable.path.stat().st_size
    if size > MAX_BYTES:
        return Refused(f"The recording is {size / 1e6:.0f} MB, too large to play here.")
    stamp = f"{size}:{playable.path.stat().st_mtime_ns}"
    return {"url": None, "audio": playable.path.read_bytes(), "audio_id": f"{detail.call['call_id']}|{stamp}"}


def show_player(detail: CallDetail, playable: Playable, lines: list[dict], key: str, large: bool) -> bool:
    """The player over the transcript `lines`; False (after saying why) when it cannot play."""
    source = _source(detail, playable)
    if isinstance(source, Refused):
        st.caption(escape_markdown(source.reason))  # it may quote the recording's file name
        return False
    _player(**source, mime=playable.mime, turns=lines, marks=[_mark(m) for m in timing_marks(detail.turns)],
            duration_s=(detail.call["duration_ms"] or 0) / 1000, large=large, keys=KEYS, key=f"{key}_player",
            default=None)
    return True
