"""Demo recordings you can listen to: `python -m data.audio --db var/callboard.duckdb [--days 14]`.

For every demo call of the last `--days` days whose `recording_url` names its own file
(`call-0001234.ogg`), this writes that file into the warehouse's recordings folder: a stereo call
with the agent on the left channel and the caller on the right, spoken offline by Debian's
`espeak-ng`. Each utterance starts at its turn's start time and is spoken at the speed that makes it
end at the turn's end, so the silences are the trace's latencies, a planted slow turn is audible
dead air and overlapping turns are audible overlaps.

Format: Ogg Opus at 16 kHz (wideband telephone quality), 12 kbit/s for both channels, each channel
its own mono Opus stream (mapping family 255), encoded by Debian's `ffmpeg` (libopus). Measured here:
a coupled Opus stereo stream below ~24 kbit/s folds both voices into both channels, while separate
streams keep them apart at half the size; MP3 would need 16 kbit/s CBR (~320 MB for the demo's
last 14 days, over the 300 MB budget) for worse speech; this comes to about 9 kbit/s on average
(silence costs little). Chromium and Firefox play it and decode it for the waveform.

Synthesis runs in worker processes at low priority, newest calls first, skips files already there
(so an interrupted run resumes), and reports progress in the recordings folder for the Ingest page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warehouse.db import connect, warehouse_path
from warehouse.recordings import PROGRESS_FILE, SynthesisProgress, read_progress, recordings_folders, write_progress

ESPEAK = "espeak-ng"
FFMPEG = "ffmpeg"
ESPEAK_RATE = 22_050  # samples per second of espeak-ng's output
OUTPUT_RATE = 16_000
BITRATE = 12_000  # bits per second, both channels
OPUS_OPTIONS = ("-application", "voip", "-mapping_family", "255", "-compression_level", "1")  # 1: a third of 10's time
AGENT_VOICE = "en-us+f3"
CALLER_VOICES = ("en-us+m3", "en-us+m1", "en-us+f2", "en-us+m7", "en-us+f4", "en-us+m5")
WORDS_PER_MINUTE = 175
MS_PER_CHAR_AT_175 = 65.0  # measured: espeak-ng's speech length is close to inverse in its rate
SLOWEST, FASTEST = 90, 420
DEFAULT_DAYS = 14
DEMO_CALL = re.compile(r"call-[0-9]{1,12}")


@dataclass(frozen=True)
class Utterance:
    speaker: str  # agent | customer
    text: str
    start_ms: int  # from the call's start
    end_ms: int


@dataclass(frozen=True)
class CallAudio:
    call_id: str
    duration_ms: int
    utterances: tuple[Utterance, ...]


def missing_tools() -> list[str]:
    """The Debian programs the recordings need (speech, then Opus encoding) that are not installed."""
    return [tool for tool in (ESPEAK, FFMPEG) if shutil.which(tool) is None]


def missing_tools_sentence(missing: list[str]) -> str:
    """`espeak-ng is not installed` / `espeak-ng and ffmpeg are not installed`."""
    return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed"


def recording_name(call_id: str) -> str:
    """The demo's recording_url for a call: a file name inside the recordings folder."""
    return f"{call_id}.ogg"


def _speak(text: str, voice: str, rate: int) -> np.ndarray:
    """espeak-ng's mono 16-bit samples for `text`, without its leading and trailing silence."""
    wav = subprocess.run([ESPEAK, "-v", voice, "-s", str(rate), "--stdout", text],
                         capture_output=True, check=True).stdout
    samples = np.frombuffer(wav[44:], dtype="<i2")
    loud = np.flatnonzero(np.abs(samples) > 300)
    return samples[loud[0]:loud[-1] + 1] if loud.size else samples[:0]


def _clamp_rate(rate: float) -> int:
    return int(min(max(rate, SLOWEST), FASTEST))


def fitted_speech(text: str, voice: str, slot_ms: int) -> np.ndarray:
    """`text` spoken so that it lasts `slot_ms`: a first try at the rate its length predicts, a
    second at the corrected rate when the first is more than 4% off, then trimmed or padded by the
    small remainder (at most a fade of the last word's tail)."""
    slot = max(int(slot_ms * ESPEAK_RATE / 1000), 1)
    rate = _clamp_rate(WORDS_PER_MINUTE * len(text) * MS_PER_CHAR_AT_175 / max(slot_ms, 1))
    speech = _speak(text, voice, rate)
    if speech.size and abs(speech.size - slot) > 0.04 * slot and _clamp_rate(rate * speech.size / slot) != rate:
        speech = _speak(text, voice, _clamp_rate(rate * speech.size / slot))
    if speech.size > slot:
        speech = speech[:slot].copy()
        fade = min(slot, ESPEAK_RATE // 20)
        speech[-fade:] = (speech[-fade:] * np.linspace(1.0, 0.0, fade)).astype(np.int16)
    return speech


def caller_voice(call_id: str) -> str:
    digits = re.sub(r"\D", "", call_id) or "0"
    return CALLER_VOICES[int(digits) % len(CALLER_VOICES)]


def mix(call: CallAudio) -> np.ndarray:
    """The call as stereo 16-bit samples at espeak-ng's rate: agent left, caller right, every
    utterance placed at its turn's start."""
    length = int(call.duration_ms * ESPEAK_RATE / 1000) + 1
    channels = np.zeros((length, 2), dtype=np.int32)
    for utterance in call.utterances:
        voice = AGENT_VOICE if utterance.speaker == "agent" else caller_voice(call.call_id)
        speech = fitted_speech(utterance.text, voice, utterance.end_ms - utterance.start_ms)
        start = int(utterance.start_ms * ESPEAK_RATE / 1000)
        end = min(start + speech.size, length)
        channels[start:end, 0 if utterance.speaker == "agent" else 1] += speech[:end - start]
    return np.clip(channels, -32768, 32767).astype("<i2")


def encode(samples: np.ndarray, target: Path) -> None:
    """Stereo samples → Ogg Opus at 16 kHz, each channel its own stream, by Debian's `ffmpeg` fed raw
    samples on its standard input; written beside the target and renamed into place, so a reader
    never sees half a file."""
    partial = target.with_name(target.name + ".part")
    try:
        subprocess.run([FFMPEG, "-nostats", "-loglevel", "error", "-y",
                        "-f", "s16le", "-ar", str(ESPEAK_RATE), "-ac", "2", "-i", "pipe:0",
                        "-ar", str(OUTPUT_RATE), "-c:a", "libopus", *OPUS_OPTIONS, "-b:a", str(BITRATE),
                        "-f", "ogg", str(partial)],
                       input=np.ascontiguousarray(samples, dtype="<i2").tobytes(), capture_output=True, check=True)
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed or interrupted encoding leaves no half file behind
        raise
    partial.replace(target)


def render(call: CallAudio, folder: Path) -> str:
    """Write one call's recording; returns the call id (for the progress count)."""
    encode(mix(call), folder / recording_name(call.call_id))
    return call.call_id


_CALLS = """
SELECT c.call_id, c.duration_ms, t.speaker, t.text,
       epoch_ms(t.started_at) - epoch_ms(c.started_at) AS start_ms,
       epoch_ms(t.ended_at) - epoch_ms(c.started_at) AS end_ms
FROM calls c JOIN turns t USING (call_id)
WHERE c.day > (SELECT max(day) FROM calls) - ?::INTEGER
  AND c.recording_url = c.call_id || '.ogg' AND regexp_full_match(c.call_id, 'call-[0-9]{1,12}')
ORDER BY c.started_at DESC, c.call_id, t.turn_index"""


def calls_to_record(db_path: Path, days: int) -> list[CallAudio]:
    """The demo calls of the last `days` days that name their own recording, newest first."""
    with connect(db_path) as con:
        rows = con.execute(_CALLS, [days]).fetchall()
    calls: dict[str, CallAudio] = {}
    for call_id, duration_ms, speaker, text, start_ms, end_ms in rows:
        call = calls.get(call_id) or CallAudio(call_id, int(duration_ms), ())
        calls[call_id] = CallAudio(call_id, call.duration_ms,
                                   (*call.utterances, Utterance(speaker, text, int(start_ms), int(end_ms))))
    return list(calls.values())


def _lower_priority() -> None:
    os.nice(10)


def synthesize(db_path: Path, days: int = DEFAULT_DAYS, workers: int = 2) -> SynthesisProgress:
    """Write every missing recording of the last `days` days, newest first, `workers` at a time,
    keeping the progress file up to date. Returns the final progress."""
    folder = recordings_folders(db_path)[0]
    folder.mkdir(parents=True, exist_ok=True)
    calls = calls_to_record(db_path, days)
    missing = [call for call in calls if not (folder / recording_name(call.call_id)).is_file()]
    latest = SynthesisProgress(total=len(calls), done=len(calls) - len(missing), failed=0, pid=os.getpid(),
                               finished=False)
    write_progress(folder, latest)
    for report in _run(missing, folder, workers, latest):
        write_progress(folder, report)
        latest = report
    latest = SynthesisProgress(**{**latest.__dict__, "finished": True})
    write_progress(folder, latest)
    return latest


def _run(calls: list[CallAudio], folder: Path, workers: int,
         progress: SynthesisProgress) -> Iterator[SynthesisProgress]:
    """Render the calls in worker processes, a few queued ahead so newest-first order holds; yield
    the progress about once a second."""
    queue = iter(calls)
    reported = time.monotonic()
    done, failed = progress.done, progress.failed
    with ProcessPoolExecutor(max_workers=workers, initializer=_lower_priority) as pool:
        running: set[Future] = set()
        while True:
            for call in queue:
                running.add(pool.submit(render, call, folder))
                if len(running) >= workers * 2:
                    break
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.exception() is None:
                    done += 1
                else:
                    failed += 1
                    print(f"A recording failed: {future.exception()}", file=sys.stderr)
            if time.monotonic() - reported > 1:
                reported = time.monotonic()
                yield SynthesisProgress(progress.total, done, failed, progress.pid, False)
    yield SynthesisProgress(progress.total, done, failed, progress.pid, False)


def forget_recordings(db_path: Path) -> None:
    """Before the demo is rebuilt: stop a synthesizer still running for the old demo and delete
    the old demo's recordings (only files named like the demo's own), which no longer match."""
    folder = recordings_folders(db_path)[0]
    if not folder.is_dir():
        return  # nothing recorded yet (or no folder can be there: the build says why)
    progress = read_progress(folder)
    if progress is not None and progress.running:
        os.kill(progress.pid, signal.SIGTERM)
    for old in folder.glob("call-*.ogg*"):
        if DEMO_CALL.fullmatch(old.name.split(".", 1)[0]):
            old.unlink()
    (folder / PROGRESS_FILE).unlink(missing_ok=True)


def start_in_background(db_path: Path, days: int = DEFAULT_DAYS) -> Path:
    """Start `python -m data.audio` detached from this process (it outlives `make run`'s demo
    step); its output goes to a log in the recordings folder, which is returned."""
    folder = recordings_folders(db_path)[0]
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "synthesis.log"
    with log.open("ab") as out:
        subprocess.Popen([sys.executable, "-m", "data.audio", "--db", str(db_path), "--days", str(days)],
                         cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=out,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.audio", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="the demo warehouse (default: CALLBOARD_DB)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="record the calls of the last N days")
    parser.add_argument("--workers", type=int, default=2, help="synthesis processes (default 2)")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"{missing_tools_sentence(missing)}, so no recordings can be made (apt-get install {' '.join(missing)}).",
              file=sys.stderr)
        return 2
    began = time.perf_counter()
    progress = synthesize((args.db or warehouse_path()).resolve(), args.days, args.workers)
    print(f"{progress.done:,} of {progress.total:,} recordings ready ({progress.failed} failed) "
          f"in {time.perf_counter() - began:.0f} s.")
    return 0 if progress.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
