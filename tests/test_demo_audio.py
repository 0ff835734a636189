"""Demo recordings: each call's voices sit on their own channel at the trace's times, so the
silences are the latencies and overlapping turns overlap; the demo's calls point at files that
exist inside the recordings folder. Checked by decoding the written files with ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import duckdb
import numpy as np
import pytest

from data import audio, demo
from tests.conftest import RECORDED_DAYS
from warehouse.recordings import Playable, read_progress, recordings_folders, resolve_recording

pytestmark = pytest.mark.skipif(bool(audio.missing_tools()),
                                 reason="needs Debian's espeak-ng and ffmpeg (make installs them)")
RATE = audio.OUTPUT_RATE


def decoded(path: Path) -> np.ndarray:
    """The file as float samples, (n, 2), at 16 kHz, read back by a decoder (not our encoder)."""
    resampler = av.AudioResampler(format="s16p", layout="stereo", rate=RATE)
    with av.open(str(path)) as container:
        frames = [r.to_ndarray() for f in container.decode(audio=0) for r in resampler.resample(f)]
    return np.concatenate(frames, axis=1).T.astype(float)


def loud(samples: np.ndarray, start_ms: int, end_ms: int, channel: int) -> float:
    """Share of 20 ms windows in the span where the channel carries sound."""
    window = RATE // 50
    part = samples[start_ms * RATE // 1000:end_ms * RATE // 1000, channel]
    windows = part[:part.size // window * window].reshape(-1, window)
    return float((np.abs(windows).max(axis=1) > 500).mean()) if windows.size else 0.0


def test_voices_sit_on_their_channels_at_the_turn_times_with_audible_overlap_and_dead_air(tmp_path: Path) -> None:
    call = audio.CallAudio("call-0000042", 16_000, (
        audio.Utterance("agent", "Thanks for calling Riverside Clinic, how can I help?", 300, 3_300),
        audio.Utterance("customer", "I would like to book a cleaning next week.", 3_800, 6_400),
        audio.Utterance("agent", "Let me check what we have on Tuesday.", 10_400, 12_600),  # 4 s of dead air
        audio.Utterance("customer", "Actually, Wednesday is better for me.", 11_600, 14_000),  # talks over the agent
    ))
    audio.render(call, tmp_path)
    samples = decoded(tmp_path / "call-0000042.ogg")
    assert abs(samples.shape[0] / RATE - 16.0) < 0.1
    agent, caller = 0, 1
    assert loud(samples, 400, 3_200, agent) > 0.6 and loud(samples, 0, 16_000, agent) < 0.45
    assert loud(samples, 3_900, 6_300, caller) > 0.6
    assert loud(samples, 0, 3_700, caller) == 0 and loud(samples, 3_400, 3_750, agent) == 0  # the wait: silence
    assert loud(samples, 6_500, 10_300, agent) == 0 and loud(samples, 6_500, 10_300, caller) == 0  # dead air
    assert loud(samples, 11_700, 12_500, agent) > 0.4 and loud(samples, 11_700, 12_500, caller) > 0.4  # overlap
    assert loud(samples, 14_100, 16_000, agent) == 0 and loud(samples, 14_100, 16_000, caller) == 0


def test_each_utterance_is_spoken_to_fill_its_turn() -> None:
    text = "Sure, I have Tuesday the fourth at three thirty with Doctor Patel."
    for slot_ms in (2_500, 4_000, 6_500):
        speech = audio.fitted_speech(text, audio.AGENT_VOICE, slot_ms)
        assert abs(speech.size / audio.ESPEAK_RATE * 1000 - slot_ms) < 0.06 * slot_ms


@pytest.fixture(scope="module")
def recorded_demo(recorded_demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's small demo whose last `RECORDED_DAYS` days' calls name recordings, with those
    recordings made: this module's own copy."""
    return shutil.copytree(recorded_demo_build, tmp_path_factory.mktemp("audio") / "var") / "callboard.duckdb"


def test_the_demo_calls_of_the_last_days_point_at_recordings_that_play(recorded_demo: Path) -> None:
    with duckdb.connect(str(recorded_demo), read_only=True) as con:
        calls = con.execute("SELECT call_id, recording_url, day, duration_ms FROM calls ORDER BY call_id").fetchall()
        turns = con.execute("""SELECT call_id, speaker, epoch_ms(t.started_at) - epoch_ms(c.started_at),
                                      epoch_ms(t.ended_at) - epoch_ms(c.started_at)
                               FROM turns t JOIN calls c USING (call_id)""").fetchall()
    last_day = max(day for _, _, day, _ in calls)
    recorded = [c for c in calls if c[1] is not None]
    assert recorded and {(last_day - day).days for _, _, day, _ in recorded} == set(range(RECORDED_DAYS))
    assert len(recorded) == sum((last_day - day).days < RECORDED_DAYS for _, _, day, _ in calls)
    folder = recorded_demo.parent / "recordings"
    assert recordings_folders(recorded_demo) == [folder]
    assert sorted(p.name for p in folder.glob("*.ogg")) == sorted(f"{call_id}.ogg" for call_id, *_ in recorded)
    progress = read_progress(folder)
    assert progress is not None and progress.finished and progress.done == progress.total == len(recorded)
    # Decoded: the first 12 calls of the last two days, the ones decoded since the demo recorded two days.
    # Not every older call passes the overlap check below: in call-0000376 (five days back) the caller's
    # 5.5 s turn ends in silence where the agent cuts in, so the interruption cannot be heard.
    last_two_days = [call for call in recorded if (last_day - call[2]).days < 2]
    for call_id, url, _, duration_ms in last_two_days[:12]:
        playable = resolve_recording(url, [folder])
        assert isinstance(playable, Playable) and playable.path == folder / f"{call_id}.ogg"
        samples = decoded(playable.path)
        assert abs(samples.shape[0] / RATE * 1000 - duration_ms) < 60
        spoken = [(s, a, b) for c, s, a, b in turns if c == call_id]
        for speaker, start_ms, end_ms in spoken:
            channel = 0 if speaker == "agent" else 1
            assert loud(samples, start_ms + 150, end_ms - 150, channel) > 0.5, (call_id, speaker, start_ms)
            talked_over = [(max(a, start_ms), min(b, end_ms)) for s, a, b in spoken
                           if s != speaker and a < end_ms and b > start_ms]
            if not talked_over:
                assert loud(samples, start_ms + 100, end_ms - 100, 1 - channel) == 0, (call_id, speaker, start_ms)
            for a, b in talked_over:  # a planted interruption: both voices at once
                if b - a > 600:
                    assert loud(samples, a + 100, b - 100, 1 - channel) > 0.3, (call_id, speaker, a)


def test_the_format_is_stereo_opus_at_telephone_rate(recorded_demo: Path) -> None:
    first = next((recorded_demo.parent / "recordings").glob("*.ogg"))
    with av.open(str(first)) as container:
        stream = container.streams.audio[0]
        assert (container.format.name, stream.codec_context.name, stream.channels) == ("ogg", "opus", 2)
    bits_per_second = first.stat().st_size * 8 / (decoded(first).shape[0] / RATE)
    assert bits_per_second < 16_000


def test_a_rebuild_forgets_the_old_recordings_but_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "callboard.duckdb"
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("call-0000001.ogg", "call-0000002.ogg.part", "customer-export.ogg", "call-x.ogg"):
        (folder / name).write_bytes(b"x")
    audio.forget_recordings(db)
    assert sorted(p.name for p in folder.iterdir()) == ["call-x.ogg", "customer-export.ogg"]


@pytest.mark.parametrize(("espeak", "flags", "message"), [
    (None, [], 1),  # no espeak-ng nor ffmpeg: built without recordings, said once
    ("/usr/bin/espeak-ng", ["--no-audio"], 0),  # asked for none: nothing to say
])
def test_the_demo_builds_without_recordings_when_it_cannot_or_is_told_not_to(
        espeak: str | None, flags: list[str], message: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    built, started = [], []

    def build(db: Path, **kwargs: object) -> dict:
        built.append(kwargs)
        return {"calls": 10, "spans": 100, "judged": 10, "seconds": {}}

    monkeypatch.setattr(shutil, "which", lambda name: espeak)
    monkeypatch.setattr(demo, "build", build)
    monkeypatch.setattr(audio, "start_in_background", lambda *args: started.append(args))
    assert demo.main(["--db", str(tmp_path / "callboard.duckdb"), "--calls", "10", *flags]) == 0
    assert built[0]["recorded_days"] == 0 and not started
    assert capsys.readouterr().err.count("espeak-ng and ffmpeg are not installed") == message


def test_a_failed_encoding_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fails_halfway = tmp_path / "ffmpeg"  # writes part of its output, then fails (as on a full disk)
    fails_halfway.write_text('#!/bin/sh\nfor last; do :; done\nprintf OggS > "$last"\nexit 1\n')
    fails_halfway.chmod(0o755)
    monkeypatch.setattr(audio, "FFMPEG", str(fails_halfway))
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    with pytest.raises(subprocess.CalledProcessError):
        audio.encode(np.zeros((audio.ESPEAK_RATE, 2), dtype="<i2"), recordings / "call-0000001.ogg")
    assert list(recordings.iterdir()) == []
