"""A warehouse held by another process, as a long ingest merge or a judge run would hold it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from warehouse import db

# Retries while the app's own short reads (the review reads the next call ahead) hold the file.
HOLDER = """import duckdb, sys, time
for attempt in range(100):
    try:
        c = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.05)
print('held', flush=True)
time.sleep(300)"""


@contextmanager
def held(path: Path, monkeypatch: pytest.MonkeyPatch, wait_s: float = 0.3) -> Iterator[None]:
    """Another process holds `path` read-write until the block ends; Callboard waits only `wait_s`
    for it (60 s in use) before it says the warehouse is busy."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with monkeypatch.context() as patched:
            patched.setattr(db, "DEFAULT_WAIT_S", wait_s)
            yield
    finally:
        holder.kill()
        holder.wait()
