"""Where recordings may come from: http(s) addresses play in the browser, local files only from
inside the recordings folders; hostile values are refused with a reason and never opened."""

from __future__ import annotations

import builtins
import io
import os
import pathlib
from pathlib import Path

import pytest

from warehouse.recordings import Playable, Refused, recordings_folders, resolve_recording


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A recordings folder with one real file, beside a secret file that must never be played."""
    recordings = tmp_path / "recordings"
    (recordings / "2026").mkdir(parents=True)
    (recordings / "call-1.ogg").write_bytes(b"OggS")
    (recordings / "2026" / "call-2.mp3").write_bytes(b"ID3")
    (tmp_path / "secret.ogg").write_bytes(b"not yours")
    (tmp_path / "secret.txt").write_text("not yours")
    (recordings / "leak.ogg").symlink_to(tmp_path / "secret.ogg")
    (recordings / "escape").symlink_to(tmp_path)
    return recordings


@pytest.fixture
def nothing_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deciding must not read a file: any open while deciding fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a file was opened while deciding: {args}")

    for target, name in ((builtins, "open"), (io, "open"), (pathlib.Path, "open"), (os, "open")):
        monkeypatch.setattr(target, name, refuse)


@pytest.mark.parametrize("url", [
    "../secret.ogg",
    "2026/../../secret.ogg",
    "leak.ogg",
    "escape/secret.ogg",
    "file:///etc/passwd",
    "FILE://localhost/etc/hostname",
    "javascript:alert(1)",
    "data:audio/ogg;base64,T2dnUw==",
    "ftp://example.com/call.ogg",
    "/etc/passwd",
    "/etc/../etc/hostname.ogg",
    "//evil.example/call.ogg",
    "call-1.ogg\x00.txt",
    "a" * 5000,
])  # fmt: skip
def test_hostile_values_are_refused_with_a_reason_and_never_read(url: str, folder: Path, tmp_path: Path,
                                                                  nothing_is_opened: None) -> None:
    decided = resolve_recording(url, [folder])
    assert isinstance(decided, Refused), decided
    assert decided.reason.endswith(".") and len(decided.reason) < 140


def test_an_absolute_path_to_the_secret_file_is_refused_as_outside(folder: Path, tmp_path: Path) -> None:
    decided = resolve_recording(str(tmp_path / "secret.ogg"), [folder])
    assert decided == Refused("The recording lies outside the recordings folder, so it is not played.")


@pytest.mark.parametrize("url", ["call-1.ogg", "2026/call-2.mp3", "./call-1.ogg", "2026/../call-1.ogg"])
def test_files_inside_the_folder_play(url: str, folder: Path, nothing_is_opened: None) -> None:
    decided = resolve_recording(url, [folder])
    assert isinstance(decided, Playable) and decided.url is None
    assert decided.path == (folder / url).resolve() and decided.path.is_relative_to(folder.resolve())
    assert decided.mime == ("audio/mpeg" if url.endswith(".mp3") else "audio/ogg")


def test_an_absolute_path_inside_the_folder_plays(folder: Path) -> None:
    assert resolve_recording(str(folder / "call-1.ogg"), [folder]) == Playable(path=(folder / "call-1.ogg").resolve())


@pytest.mark.parametrize("url", ["https://cdn.example.com/calls/1.mp3?sig=a%20b", "HTTP://example.com/x.ogg"])
def test_web_addresses_are_left_to_the_browser(url: str, folder: Path, nothing_is_opened: None) -> None:
    decided = resolve_recording(url, [folder])
    assert isinstance(decided, Playable) and decided.url == url and decided.path is None


def test_missing_files_and_non_audio_files_say_so(folder: Path) -> None:
    (folder / "notes.txt").write_text("x")
    assert resolve_recording("call-9.ogg", [folder]) == Refused("The recording call-9.ogg is not in the recordings "
                                                                "folder (yet).")
    assert resolve_recording("notes.txt", [folder]) == Refused("notes.txt is not an audio file type Callboard plays.")
    assert resolve_recording(None, [folder]) is None and resolve_recording("  ", [folder]) is None


def test_every_configured_folder_is_searched(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "more"
    other.mkdir()
    (other / "call-3.ogg").write_bytes(b"OggS")
    monkeypatch.setenv("CALLBOARD_RECORDINGS", os.pathsep.join([str(folder), str(other)]))
    folders = recordings_folders(tmp_path / "callboard.duckdb")
    assert folders == [folder, other]
    assert resolve_recording("call-3.ogg", folders) == Playable(path=(other / "call-3.ogg").resolve())
    monkeypatch.delenv("CALLBOARD_RECORDINGS")
    assert recordings_folders(tmp_path / "var" / "callboard.duckdb") == [tmp_path / "var" / "recordings"]
