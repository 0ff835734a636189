"""Judge runs started from the app: `python -m judges run` in a process of its own, with its
progress in a small file beside the warehouse that any page can read.

A process of its own, not a thread of the app's: the run's Python work would otherwise share the
app's interpreter (and its lock) with every reviewer's page. The run holds the warehouse only as
any judge run does (one short read to plan, then a short write every couple of seconds: see
judges/runner.py), so other pages wait at most for one of those. One such run at a time per
warehouse: while it goes, the app will not start another (two runs of one judge version would
judge the same calls twice).

The run holds `<warehouse>.judging.lock` locked while it lives, so a run whose process died is
seen as stopped, not running forever; calls it judged are kept, and running again skips them.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from judges.runner import JudgeRunSummary, Plan, RunError
from warehouse.db import PROJECT_ROOT
from warehouse.errors import CallboardError
from warehouse.ingest_runs import is_locked

WRITE_EVERY_S = 0.25  # progress is written at most this often (and at the start and the end)
STARTING_GRACE_S = 30.0  # a run not yet holding its lock counts as starting for this long
_children: list[subprocess.Popen] = []  # runs this process started, reaped once they end


@dataclass(frozen=True)
class BackgroundRun:
    """What a page shows of a run started from the app."""

    judge: str
    start: str  # the period, ISO days
    end: str
    state: str  # starting | running | finished | failed | stopped (its process died)
    started_at: str  # ISO, UTC
    selected: int = 0  # calls in the period
    skipped: int = 0  # already judged by this judge version
    to_judge: int = 0
    judged: int = 0
    failed: int = 0
    seconds: float | None = None
    message: str | None = None  # why it failed, in the words the CLI would print

    @property
    def going(self) -> bool:
        return self.state in ("starting", "running")

    @property
    def share_done(self) -> float:
        """Of the calls to judge, the share judged or failed so far (1 when there were none)."""
        return (self.judged + self.failed) / self.to_judge if self.to_judge else float(not self.going)


def status_file(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".judging.json")


def _lock_file(status: Path) -> Path:
    return status.with_suffix(".lock")


def _log_file(status: Path) -> Path:
    return status.with_suffix(".log")


def _write(path: Path, run: BackgroundRun) -> None:
    """Replace the status file whole, so a reader never sees half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(run)))
    partial.replace(path)


def latest_run(warehouse: Path) -> BackgroundRun | None:
    """The latest run started from the app, None if there has been none. A run that says it is
    going but whose process no longer holds the lock has stopped."""
    _children[:] = [child for child in _children if child.poll() is None]
    try:
        run = BackgroundRun(**json.loads(status_file(warehouse).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if run.going and not is_locked(_lock_file(status_file(warehouse))):
        age = (datetime.now(UTC) - datetime.fromisoformat(run.started_at)).total_seconds()
        if run.state == "running" or age > STARTING_GRACE_S:
            return replace(run, state="stopped")
    return run


def start_period_run(judge: str, start: date, end: date, warehouse: Path) -> None:
    """Start judging the period's calls with `judge` in a process of its own, and return at once."""
    running = latest_run(warehouse)
    if running is not None and running.going:
        raise RunError(f"A {running.judge} judge run of {running.start} – {running.end} is still going: wait "
                       "for it to finish.")
    path = status_file(warehouse)
    _write(path, BackgroundRun(judge, start.isoformat(), end.isoformat(), "starting", datetime.now(UTC).isoformat()))
    with _log_file(path).open("ab") as log:
        _children.append(subprocess.Popen(
            [sys.executable, "-m", "judges", "run", "--judge", judge, "--start", start.isoformat(),
             "--end", end.isoformat(), "--progress-file", str(path)],
            cwd=PROJECT_ROOT, env={**os.environ, "CALLBOARD_DB": str(warehouse)}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True))


class ProgressReport:
    """The running process's side: the status file, kept current, and the lock held meanwhile."""

    def __init__(self, path: Path, run: BackgroundRun) -> None:
        self.path, self.run, self._written = path, run, 0.0

    def planned(self, plan: Plan) -> None:
        self._set(state="running", selected=plan.selected, skipped=plan.skipped, to_judge=len(plan.calls))

    def update(self, summary: JudgeRunSummary) -> None:
        if time.monotonic() - self._written >= WRITE_EVERY_S:
            self._set(judged=summary.judged, failed=summary.failed)

    def finished(self, summary: JudgeRunSummary) -> None:
        self._set(state="finished", judged=summary.judged, failed=summary.failed, seconds=summary.seconds)

    def stopped(self, why: str) -> None:
        self._set(state="failed", message=why)

    def _set(self, **changes: object) -> None:
        self.run = replace(self.run, **changes)  # type: ignore[arg-type]
        _write(self.path, self.run)
        self._written = time.monotonic()


@contextmanager
def reporting(path: Path, judge: str, start: date | None, end: date | None) -> Iterator[ProgressReport]:
    """Hold the run's lock and keep its status file; a run that stops on a user's mistake (say, a
    period with no calls) is marked failed with that sentence, and one that stops on a bug, failed."""
    descriptor = os.open(_lock_file(path), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    report = ProgressReport(path, BackgroundRun(judge, str(start), str(end), "running", datetime.now(UTC).isoformat()))
    try:
        yield report
    except CallboardError as error:
        report.stopped(error.title)
        raise
    except BaseException as error:
        report.stopped(f"The run stopped on an error ({type(error).__name__}); see {_log_file(path).name} beside "
                       "the warehouse.")
        raise
    finally:
        os.close(descriptor)
