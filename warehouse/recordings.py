"""Where a call's recording comes from, decided in one place.

`recording_url` values arrive in customers' span data and call logs, so they are untrusted. An
http(s) URL is handed to the reviewer's browser, which fetches it itself; Callboard never fetches
it. Anything else is a local file, and Callboard reads it only from inside the configured
recordings folders (`CALLBOARD_RECORDINGS`, several joined by the path separator; by default the
`recordings/` folder beside the warehouse file). A relative path is looked up inside those folders;
`../`, absolute paths elsewhere, symlinks that lead out of a folder, `file://` and every other
scheme are refused before anything is opened.

The demo's recording synthesizer (data/audio.py) also reports its progress here, in a small JSON
file inside the recordings folder, so the Ingest page can show it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

AUDIO_TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".oga": "audio/ogg", ".mp3": "audio/mpeg",
               ".wav": "audio/wav", ".m4a": "audio/mp4", ".webm": "audio/webm", ".flac": "audio/flac"}
PROGRESS_FILE = ".synthesis.json"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True)
class Playable:
    """A recording the browser may play: a web address it fetches, or a file Callboard reads."""

    url: str | None = None
    path: Path | None = None
    mime: str = "audio/ogg"


@dataclass(frozen=True)
class Refused:
    """A recording that will not be played, and why, in words for the reviewer."""

    reason: str


def recordings_folders(warehouse: Path) -> list[Path]:
    """The folders local recordings may be read from: `CALLBOARD_RECORDINGS` (several joined by
    os.pathsep), else `recordings/` beside the warehouse file."""
    configured = [Path(part) for part in os.environ.get("CALLBOARD_RECORDINGS", "").split(os.pathsep) if part]
    return configured or [warehouse.parent / "recordings"]


def resolve_recording(url: str | None, folders: list[Path]) -> Playable | Refused | None:
    """How to play `url`: None when the call has no recording, `Refused(reason)` when it must not
    (or cannot) be played, else a `Playable`. Only the file system's metadata is looked at here;
    a refused file is never opened."""
    if url is None or not url.strip():
        return None
    if "\x00" in url or len(url) > 4096:
        return Refused("The recording's address is not a usable web address or file name.")
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() in ("http", "https"):
        return Playable(url=url, mime=_mime(url.split("?", 1)[0].split("#", 1)[0]) or "audio/ogg")
    if scheme and len(scheme.group(1)) > 1:  # one letter would be a Windows drive, refused below as a path
        return Refused(f"Recordings are played from http(s) addresses or the recordings folder, not from "
                       f"{scheme.group(1).lower()}: addresses.")
    return _local_file(url, folders)


def _mime(name: str) -> str | None:
    return AUDIO_TYPES.get(Path(name).suffix.lower())


def _local_file(name: str, folders: list[Path]) -> Playable | Refused:
    try:
        roots = [folder.resolve() for folder in folders]
        candidates = [Path(name)] if Path(name).is_absolute() else [root / name for root in roots]
        for candidate in candidates:
            real = candidate.resolve()
            if not any(real.is_relative_to(root) for root in roots):
                return Refused("The recording lies outside the recordings folder, so it is not played.")
            mime = _mime(real.name)
            if mime is None:
                return Refused(f"{real.name} is not an audio file type Callboard plays.")
            if real.is_file():
                return Playable(path=real, mime=mime)
    except (OSError, ValueError, RuntimeError):
        return Refused("The recording's file name cannot be read as a path.")
    return Refused(f"The recording {Path(name).name} is not in the recordings folder (yet).")


@dataclass(frozen=True)
class SynthesisProgress:
    """How far the demo's recording synthesizer has got."""

    total: int
    done: int
    failed: int
    pid: int
    finished: bool

    @property
    def running(self) -> bool:
        """Whether the synthesizer is still at work (its process is alive and not finished)."""
        if self.finished:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def write_progress(folder: Path, progress: SynthesisProgress) -> None:
    """Replace the progress file in one step, so a reader never sees half of it."""
    partial = folder / (PROGRESS_FILE + ".tmp")
    partial.write_text(json.dumps(progress.__dict__))
    partial.replace(folder / PROGRESS_FILE)


def read_progress(folder: Path) -> SynthesisProgress | None:
    """The synthesizer's last report, or None when recordings were never synthesized there."""
    try:
        return SynthesisProgress(**json.loads((folder / PROGRESS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
