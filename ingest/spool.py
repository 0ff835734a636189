"""The receiver's spool: accepted request bodies wait on disk until they are merged.

The live receiver answers a client only after its spans are on disk here, so nothing accepted is
lost while the warehouse is busy or the process restarts. Each body is one OTLP/JSON document in
its own file, written under a temporary name and renamed into place (a reader never sees half a
file); names start with the arrival time, so sorting them gives arrival order. The loader merges
the oldest files in batches through the ordinary trace ingest and deletes each file only after
the transaction holding its spans has committed. A file merged but not yet deleted when the
process dies is merged again on restart: its spans are skipped as already stored.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ingest.run_log import begin_run, end_run
from ingest.summary import RunSummary
from ingest.trace_files import read_trace_chunks
from ingest.traces import load_chunks
from warehouse.db import WarehouseBusy, warehouse_path

SUFFIX = ".json"
BATCH_BYTES = 32 * 1024 * 1024  # bodies merged per load: about one parse chunk


def default_spool(db_path: Path | None = None) -> Path:
    """`spool/` beside the warehouse file."""
    return (db_path or warehouse_path()).resolve().parent / "spool"


def write_body(folder: Path, document: bytes) -> Path:
    """Store one OTLP/JSON document durably; returns its spool file."""
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{SUFFIX}"
    partial = incoming / name
    with partial.open("wb") as out:
        out.write(document)
        out.flush()
        os.fsync(out.fileno())
    final = folder / name
    os.replace(partial, final)
    return final


def waiting(folder: Path) -> list[Path]:
    """Spooled files not merged yet, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SUFFIX))


def next_batch(folder: Path, max_bytes: int = BATCH_BYTES) -> list[Path]:
    """The oldest spooled files, up to `max_bytes` (at least one)."""
    batch: list[Path] = []
    total = 0
    for path in waiting(folder):
        size = path.stat().st_size
        if batch and total + size > max_bytes:
            break
        batch.append(path)
        total += size
    return batch


def load_batch(files: list[Path], summary: RunSummary, *, db_path: Path | None, redact: bool) -> None:
    """Merge `files` into the warehouse, deleting each once its transaction has committed."""
    chunks = [(str(path), chunk) for path in files for chunk in read_trace_chunks(path, "json_document")]
    load_chunks(chunks, summary, db_path=db_path, redact=redact, on_merged=_delete)


def _delete(sources: list[str]) -> None:
    for source in sources:
        Path(source).unlink(missing_ok=True)


class SpoolLoader:
    """A background thread that merges the spool whenever bodies arrive. While the warehouse is
    busy the bodies simply wait on disk; a failed load is retried after `retry_s`.

    The loader's counts go into one `ingest_runs` row of kind `receiver`, opened at its first
    load and closed by `stop()`."""

    def __init__(self, folder: Path, *, db_path: Path | None = None, redact: bool = False,
                 poll_s: float = 1.0, retry_s: float = 2.0, log: Callable[[str], None] = print) -> None:
        self.folder, self.db_path, self.redact = folder, db_path, redact
        self.poll_s, self.retry_s, self.log = poll_s, retry_s, log
        self.summary: RunSummary | None = None
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="spool-loader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A body was spooled: load soon."""
        self._wake.set()

    def stop(self, wait_s: float = 5.0) -> None:
        """Let the load in progress finish (for up to `wait_s`), then close the run. What is left,
        or what a load still waiting for a busy warehouse had, stays spooled for the next start."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(wait_s)
        if self._thread.is_alive():
            self.log("stopping with the warehouse still busy; the spooled requests load on the next start")
        elif self.summary is not None:
            with contextlib.suppress(WarehouseBusy):
                end_run(self.summary, self.db_path)

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = next_batch(self.folder)
            if not batch:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                if self.summary is None:
                    self.summary = begin_run("receiver", [self.folder], self.db_path, unit="spans")
                before = self.summary.loaded
                load_batch(batch, self.summary, db_path=self.db_path, redact=self.redact)
                self.log(f"loaded {self.summary.loaded - before:,} spans from {len(batch):,} requests")
            except WarehouseBusy as error:
                self.log(f"waiting: {error}")
                self._stopping.wait(self.retry_s)
            except Exception as error:  # keep serving: the bodies stay spooled and are tried again
                self.log(f"load failed, will retry: {type(error).__name__}: {error}")
                self._stopping.wait(self.retry_s)
