"""Every read the pages make, in one place, so every page reads through the same engine
(`CALLBOARD_ENGINE`; see warehouse/engines.py) and a newcomer finds each page's data in one file.

Reads are cached until the warehouse is written, not for a fixed time: a meeting never pays a page's
first-visit cost twice, and nothing shown is older than the last write. Each cached read first
compares the warehouse's write stamp (`engines.data_version`: the file's and its log's time and
size, plus the lake's manifest on the lake engines) with the one its results were computed under,
and forgets every cached read when it moved. A stamp rather than clearing after each write, because
most writes come from other processes (ingest, the receiver's loader, judge runs) that cannot
reach this process's caches; it costs two `stat` calls per read. The app's own frequent writes (a
saved review, 50 times a meeting) go through the functions at the end of this file, which forget
only the reads that write changes and then take the new stamp as seen (`_own_write`: unless another
process wrote first), so saving a score does not throw away the Overview's figures, not even when
the page reads while the score is written in the background. The ingest log is cached for seconds,
so a running load shows its progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import date
from functools import partial
from typing import Generic, ParamSpec, TypeVar

import polars as pl
import streamlit as st

from warehouse import (
    ab,
    calibration_queries,
    call_search,
    calls,
    engines,
    explorer,
    ingest_runs,
    judgements,
    prices,
    prompt_history,
    queries,
    review_summary,
    reviews,
    span_detail,
    taxonomy,
)
from warehouse.drift import queries as drift
from warehouse.drift.detection import Thresholds
from warehouse.drift.queries import DriftHistory, DriftTrends
from warehouse.errors import CallboardError
from warehouse.filters import Filters

P = ParamSpec("P")
R = TypeVar("R")

KEPT_RESULTS = 32  # per read: one per filter set or session looked at in a meeting, with room to spare
KEPT_CALLS = 128  # call views: a 50-call session and the calls opened from other pages
WARM_AFTER_S = 1.0  # reading ahead waits this long, so it never slows the call being shown
INGEST_TTL_S = 5  # the ingest log: follows a running load
INGEST_RUNS_SHOWN = 50
QUARANTINE_ROWS_SHOWN = 500


class Read(Generic[P, R]):
    """A warehouse read whose results are kept per distinct argument until the warehouse is written."""

    def __init__(self, read: Callable[P, R], spinner: str | bool, kept: int) -> None:
        self._cached = st.cache_data(show_spinner=spinner, max_entries=kept)(read)
        _READS.append(self)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        forget_if_written()
        return self._cached(*args, **kwargs)

    def clear(self) -> None:
        self._cached.clear()


_READS: list[Read] = []
_seen: list[tuple[int, ...] | None] = [None]  # the write stamp the cached results were computed under
_writing = [0]  # writes made here that hold the warehouse now: a stamp that moves meanwhile is theirs
_stamp_lock = threading.Lock()


def cached(read: Callable[P, R], spinner: str | bool = False, kept: int = KEPT_RESULTS) -> Read[P, R]:
    """`read`, its results kept until the next write to the warehouse, showing `spinner` (a
    sentence, or nothing) while it runs."""
    return Read(read, spinner, kept)


def forget_if_written() -> None:
    """Forget every cached read when the warehouse has been written since they were computed,
    unless a write made here holds it now (a score saved in the background while the page draws
    the next call): then the change is that write's, and `_own_write` settles it."""
    now = engines.data_version()
    with _stamp_lock:
        if now == _seen[0] or _writing[0]:
            return
        for read in _READS:
            read.clear()
        _seen[0] = now


def _own_write(write: Callable[[Callable[[], None]], R], changed: Iterable[Read]) -> R:
    """Run a write made here (`write(opened)`, which calls `opened` once it holds the warehouse:
    `db.transaction`), then forget the reads it changed and keep the others, unless another process
    had written before it (the stamp when it took the file is not the one the caches were computed
    under): then the next read forgets them all. Keeping them is what spares every page a recompute
    per score; a write another process lands between this write's end and the stamp taken after it
    goes unseen until the next write (a window of a `stat` call)."""
    taken: list[tuple[int, ...]] = []

    def opened() -> None:
        with _stamp_lock:
            taken.append(engines.data_version())
            _writing[0] += 1

    try:
        result = write(opened)
    except BaseException:
        with _stamp_lock:
            _writing[0] -= len(taken)
        raise
    for read in changed:
        read.clear()
    with _stamp_lock:
        _writing[0] -= len(taken)
        if taken and _seen[0] == taken[0]:
            _seen[0] = engines.data_version()
    return result


# Metrics and filters (Overview, the sidebar)
filter_options = cached(queries.filter_options)
overview = cached(queries.overview, spinner="Computing the metrics…")

# Drift, prompts, A/B
wait_stages_by_week = cached(drift.wait_stages_by_week)
change_markers = cached(drift.change_markers)
prompt_versions = cached(prompt_history.prompt_versions)
prompt_comments = cached(prompt_history.comments)
_arm_traffic = cached(ab.traffic)


def _traffic_on_record(a: Filters, b: Filters) -> pl.DataFrame:
    """The arms' calls per agent, model and day over every day on record, read once per pair of arms
    (and per write): each period Compare versions shows, and when each arm ran, are taken from it."""
    return _arm_traffic(*ab.on_record(a, b, *filter_options().span))


def _compared(a: Filters, b: Filters, _traffic: pl.DataFrame) -> ab.ABResult:
    """`ab.compare` with the arms' traffic given (not hashed: it follows from the arms)."""
    return ab.compare(a, b, _traffic)


_compare = cached(_compared, spinner="Comparing…")


def compare(a: Filters, b: Filters) -> ab.ABResult:
    """`ab.compare`: a period that holds one arm only reads nothing more than the arms' traffic,
    already read for another period; one that holds both, the figures per agent."""
    return _compare(a, b, _traffic_on_record(a, b))


def when_arms_ran(a: Filters, b: Filters, first: date, last: date) -> ab.Ran:
    """`ab.when_arms_ran` from the arms' traffic on record (no read of its own)."""
    return ab.when_arms_ran(a, b, first, last, _traffic_on_record(a, b))


def _judged_history(f: Filters, group: str, thresholds: Thresholds) -> DriftHistory:
    """`drift.drift_history` with the change markers read once per write (`change_markers`), not
    once per filter change: they do not depend on the filters, and finding them reads every
    end-of-turn span (`read_drift_ahead` starts that beside the summaries' read)."""
    return drift.drift_history(f, group, thresholds, markers=change_markers)


_drift_history = cached(_judged_history, spinner="Testing every series for drift…")
_reading_ahead = ThreadPoolExecutor(max_workers=2, thread_name_prefix="read-ahead")  # every session's


def drift_history(f: Filters, group: str, thresholds: Thresholds) -> DriftHistory:
    """The drift flags of the weeks to the filters' last day, with the summaries of the period. A
    first day within the days the flags read anyway keeps them (`drift.history_filters`)."""
    return _drift_history(drift.history_filters(f, thresholds), group, thresholds)


def read_ahead(read: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[None]:
    """Start `read(*args, **kwargs)` in the background, so its SQL runs while the page reads and
    works on something else: DuckDB lets go of the GIL while a query runs, and reads at the same
    time share one opening of the file (`duckdb.connect` builds a database instance, ~17 ms of CPU,
    only when none is open). The page's own call then finds it kept, or waits for it: a cached read
    computes a value once however many threads ask for it."""
    return _reading_ahead.submit(_unless_busy, partial(read, *args, **kwargs))


def read_drift_ahead(f: Filters, stages: bool = True) -> list[Future[None]]:
    """Start the Drift page's reads that need no flags in the background (the wait's stages when
    the page will draw them, and the change markers when a write has made them unknown), so their
    SQL runs while the flags' summaries are read and judged (`read_ahead`)."""
    return [read_ahead(change_markers), *([read_ahead(wait_stages_by_week, f)] if stages else [])]


def _unless_busy(read: Callable[[], object]) -> None:
    """`read()`, leaving a busy warehouse for the page to meet and say when it asks for the read."""
    with suppress(CallboardError):
        read()


def drift_trends(f: Filters, grain: str, group: str, thresholds: Thresholds) -> DriftTrends:
    """The trends, from the flags' cached summaries (`drift.trends_from`)."""
    return drift.trends_from(drift_history(f, group, thresholds).summaries, grain, f.start)


# Failure modes, calibration, taxonomy
exploration = cached(explorer.explore, spinner="Counting failure modes…")
versions_to_calibrate = cached(calibration_queries.versions_to_calibrate)
_labelled_pairs = cached(calibration_queries.labelled_pairs)
_judged_in_scope = cached(calibration_queries.judged_in_scope)
current_taxonomy = cached(taxonomy.load_taxonomy)


def _calibration(f: Filters, judge_version: str) -> pl.DataFrame:
    """`calibration_queries.calibration_table`, from reads cached apart: the calls a person labelled
    too do not change with the filters, so a filter change reads only the judgements in scope."""
    return calibration_queries.calibration_rows(_labelled_pairs(judge_version), _judged_in_scope(f, judge_version),
                                                current_taxonomy())


calibration_table = cached(_calibration, spinner="Measuring the judge…")


def read_calibration_ahead(f: Filters, judge_version: str) -> Future[None]:
    """Start `calibration_table`'s reads in the background (`read_ahead`), not the table itself:
    its spinner needs the page's own thread (from another, Streamlit logs a warning each time)."""
    return read_ahead(lambda: (_labelled_pairs(judge_version), _judged_in_scope(f, judge_version)))

# Judges, calls
judge_runs_summary = cached(judgements.judge_runs_summary)
judge_run_history = cached(judgements.judge_run_history)
call_detail = cached(calls.call_detail, kept=KEPT_CALLS)
step_detail = cached(span_detail.span_detail, kept=KEPT_CALLS)
search_calls = cached(call_search.search_calls, spinner="Searching…")

# Reviews: forgotten at once by a save made here (save_review), and by any write elsewhere
list_sessions = cached(reviews.list_sessions)
get_session = cached(reviews.get_session)
current_reviews = cached(reviews.current_reviews)
_scored_before = cached(reviews.scored_calls)
session_summary = cached(review_summary.session_summary)
REVIEW_READS = (list_sessions, current_reviews, session_summary, calibration_table, _labelled_pairs,
                versions_to_calibrate, exploration)
_saving = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save-review")  # saves land in the order made
_saves_here: dict[str, int] = {}  # per call, the saves made in this process: part of its history's key
_scored_here: dict[str, set[str]] = {}  # per session, the calls saved in this process
_here_lock = threading.Lock()  # the two above change in the save thread and in pages' threads (other browsers)


def scored_calls(session_id: str) -> frozenset[str]:
    """The session's scored calls: as last read, plus those saved here since. A save only ever adds
    a scored call (reviews are never deleted), so "Save and next" needs no read for the progress."""
    return _scored_before(session_id) | _scored_here.get(session_id, set())


def _history_after(call_id: str, saves_here: int) -> pl.DataFrame:
    """A call's review history, cached per call and per count of saves made here, so a save
    forgets that call's history only (the next call's, read ahead, stays)."""
    return reviews.call_history(call_id)


_history = cached(_history_after, kept=KEPT_CALLS)


def call_history(call_id: str) -> pl.DataFrame:
    """Every save of every review of a call, newest first."""
    return _history(call_id, _saves_here.get(call_id, 0))


def warm_call(call_id: str, *also: Callable[[], object]) -> None:
    """Read a call's view and review history, then `also` (what the page builds from them), in a
    background thread, so that moving to it (the review's next call) finds them cached instead of
    waiting for the warehouse in front of the room."""
    def read() -> None:
        time.sleep(WARM_AFTER_S)
        try:
            call_detail(call_id)
            call_history(call_id)
            for build in also:
                build()
        except CallboardError:  # a busy warehouse: the page reads it when it is asked for, and says so then
            return

    threading.Thread(target=read, name=f"warm-{call_id}", daemon=True).start()


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def recent_ingest_runs() -> pl.DataFrame:
    """The newest ingest runs, newest first."""
    return ingest_runs.recent_runs(limit=INGEST_RUNS_SHOWN)


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def quarantined(run_id: str | None) -> pl.DataFrame:
    """Records refused by one run (or by any, for None), with their reasons."""
    return ingest_runs.quarantined(run_id, limit=QUARANTINE_ROWS_SHOWN)


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def unpriced_models() -> pl.DataFrame:
    """Models whose spans found no list price, with how many calls they left without a cost."""
    return prices.unpriced_models()


def check_review(review: reviews.Review) -> None:
    """Refuse an incomplete review (no reviewer, score or verdict, an unknown failure mode) as
    `save_review` would, without opening the warehouse."""
    reviews.check_review(review, set(current_taxonomy().modes["name"]))


def save_review_in_background(review: reviews.Review) -> Future[str]:
    """Start saving a checked score and return at once, so that "Save and next" draws the next call
    while the file is opened, written and closed (0.05–0.15 s). The session counts the call as
    scored from now on, unless the save fails and no other save of the call landed meanwhile."""
    session = review.session_id or ""
    with _here_lock:
        counted = review.session_id is not None and review.call_id not in _scored_here.get(session, set())
        if counted:
            _scored_here.setdefault(session, set()).add(review.call_id)
        saves = _saves_here.get(review.call_id, 0)

    def save() -> str:
        try:
            return save_review(review)
        except BaseException:
            with _here_lock:
                if counted and _saves_here.get(review.call_id, 0) == saves:
                    _scored_here[session].discard(review.call_id)
            raise

    return _saving.submit(save)


def save_review(review: reviews.Review) -> str:
    """Save a score and forget the reads a score changes (the session's progress and summary, this
    call's history, the calibration and failure-mode views), so it shows at once everywhere."""
    saved = _own_write(lambda opened: reviews.save_review(review, opened=opened), REVIEW_READS)
    with _here_lock:
        _saves_here[review.call_id] = _saves_here.get(review.call_id, 0) + 1
        if review.session_id is not None:
            _scored_here.setdefault(review.session_id, set()).add(review.call_id)
    return saved


def add_prompt_comment(agent: str, version: str, author: str, body: str) -> None:
    """Save a comment and forget the cached ones, so it shows at once."""
    _own_write(lambda opened: prompt_history.add_comment(agent, version, author, body, opened), [prompt_comments])


def forget_judgements() -> None:
    """After a judge run: every cached view that counts judgements, so the new ones show at once."""
    for read in (judge_runs_summary, judge_run_history, overview, exploration, calibration_table, _labelled_pairs,
                 _judged_in_scope, versions_to_calibrate, call_detail, search_calls):
        read.clear()


def forget_taxonomy() -> None:
    """After a taxonomy edit: every cached view that resolved labels with the old taxonomy."""
    for read in (current_taxonomy, exploration, calibration_table):
        read.clear()


def add_failure_mode(name: str, description: str, owner: str) -> str:
    """Add a mode during a review and forget the cached taxonomy, so every page offers it at once."""
    return _own_write(lambda opened: reviews.add_failure_mode(name, description, owner, opened=opened),
                      [current_taxonomy, exploration, calibration_table])
