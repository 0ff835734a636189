"""How long does the room wait after a filter change? On each page whose content depends on the
sidebar's filters, times in Chromium a change of those filters until the page's run has ended and
its charts and tables are drawn, at 20k and at 1M calls (issue 17: under 500 ms at 20k, 1.5 s at 1M).

    .venv/bin/python bench/filters.py [--calls 20000 1000000 | --db DEMO] [--rounds 3] [--pages overview,drift]
                                      [--baseline-root DIR | --app-memory]

Serves the app (`streamlit run`, as `make run` does: tests/served_app.py) on a copy of
bench/overview.py's warehouse of N calls (built once and kept, `bench.overview.built`; a copy, as
opening applies migrations) or of each `--db` (say the 20k demo: bench/overview.py's warehouses
have no failure modes, reviews or spans, so Failure modes draws empty charts there, Judge
calibration only a note and Drift no steps), a fresh server per page so that no page finds another's reads cached,
and opens the page in headless Chromium at 1280x720 (a meeting-room projector; projector mode off).
Then, `--rounds` times, it changes the sidebar's filters as a person does (types the period, picks
from the lists): the period to 28 days, one agent, one model, 90 days (bench/pages.py's four). Each
round ends a day earlier than the one before and picks another agent and model, so no change finds
its reads cached. Between the changes the agent or model picked is cleared again: a view seen
before, whose reads are cached, also printed (a rerun's cost without the reads).

Compare versions is walked as a team uses it: where agents ran two prompt versions (the demo),
it compares the agent's first two (the page's A and B once its agent is picked: a sidebar agent
narrows its lists, and they keep the pair when it is cleared), so each round picks an agent that
ran both and a model both ran, and every change draws a comparison with both arms populated; a
period that holds one arm only opens on the days around the switch, as the page does (the
comparison over the period is read, the days around the switch are cached). Without prompt
versions (bench/overview.py's warehouses) it compares models, and the sidebar's model leaves both
arms as they were, so "one model" finds its reads cached there. Either way a change on Compare
ends only on a drawn comparison, never on a note.

A change is timed from the press (the option clicked; for the period, the Tab that takes the focus
out of the date field, which is when the field sends it) until the app's run has ended and its
last message is drawn (bench/app_runs.py), and every chart and table in the page's main area is
drawn: nothing stale, each one's SVG or canvas drawn, nothing painted or changed in the main area
for QUIET_MS (that last paint is when it ends), leaving out a table's invisible copy of its rows for
screen readers, which Streamlit rebuilds 200 ms after each update. Component frames are not waited for.

Where the time goes, also printed: the time to the app's last message (its run) and after it (the
browser drawing what it sent), and the CPU seconds the app's server and Chromium spent per change,
read from /proc: these move far less with the machine's load than the wall times do. Chromium's
include animating the spinner and the running indicator while the app works.

The baseline, measured in the same run on the same server: the page's first full load (its link
opened in a new tab, the default 28 days, nothing cached), so the ratio says what a filter change
costs against opening the page, whatever the machine's load at the time. Compare versions' first
load includes choosing "Models" where the page opens on a note for want of prompt versions
(bench/overview.py's warehouses): both waits are counted. With --baseline-root, another checkout (say one made with
`git archive 4440711 | tar -x -C DIR`) is walked too, page by page in turns with this one, and the
ratio of this tree's median change to that one's is printed as well.

With --app-memory it times nothing: it serves the app once, walks each page of --pages on that one
server as above (a meeting visits every page on one server, whose caches keep what each read), then
opens every other page, and prints the server's resident memory after each page and its peak
during each (VmRSS, VmHWM from /proc, the peak started again before each page) and over them all:
issue 17 keeps the app under 1 GiB at 1M calls with every page visited.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import Browser, Page  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from bench.app_runs import WATCH, wait_for_answer  # noqa: E402
from bench.overview import built  # noqa: E402
from tests.served_app import chromium, screenshot, served_app, settle  # noqa: E402

WIDTH, HEIGHT = 1280, 720
QUIET_MS = 250  # nothing sent, painted or changed for this long: the change is over
TIMEOUT_MS = 120_000
POLL_MS = 100  # how often to look whether the page is drawn (the times come from the page's own hooks)
PAUSE_MS = 500  # between one change's end and the next, as a person's would
OPEN_TRIES, OPEN_WAIT_MS = 5, 2_000  # pressing a sidebar list's "Open" until it shows its options
TICKS = os.sysconf("SC_CLK_TCK")  # CPU time in /proc/PID/stat is counted in these
TARGETS_S = ((100_000, 0.5), (float("inf"), 1.5))  # issue 17: 500 ms at 20k calls, 1.5 s at 1M; by size
CHANGES = ("28 days", "one agent", "one model", "90 days")
SEEN = "seen before (cached)"
CHART, TABLE = '[data-testid="stVegaLiteChart"]', '[data-testid="stDataFrame"]'
STATIC = '[data-testid="stTable"]'  # a static table (Compare versions' comparison): drawn once it is there
NOTE = '[data-testid="stAlert"]'  # a page can end on a note instead (say, one agent with one prompt version)

# Installed before the app loads, beside bench/app_runs.py's WATCH: the time of the last paint on any
# canvas (Streamlit's tables draw on one) and of the last change in the main area (Vega's charts are SVG).
# Changes inside a Streamlit table's invisible copy of its rows for screen readers (`table[role="grid"]`)
# are not counted: it is rebuilt 200 ms after each update (a debounce in its frontend), so every page
# with a table would otherwise seem drawn 200 ms after what anyone sees.
PAINTS = """(() => {
  window.__painted = 0; window.__changed = 0;
  const context = CanvasRenderingContext2D.prototype;
  for (const name of ['clearRect', 'fillRect', 'fillText', 'fill', 'stroke', 'drawImage', 'putImageData']) {
    const native = context[name];
    context[name] = function (...args) { window.__painted = performance.now(); return native.apply(this, args); };
  }
  new MutationObserver(() => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main || main.__watched) return;
    main.__watched = true;
    const seen = (record) => {  // not inside a table's copy for screen readers
      const el = record.target.nodeType === Node.ELEMENT_NODE ? record.target : record.target.parentElement;
      return !el || !el.closest('table[role="grid"]');
    };
    new MutationObserver((records) => { if (records.some(seen)) window.__changed = performance.now(); })
      .observe(main, {childList: true, subtree: true, attributes: true, characterData: true});
  }).observe(document, {childList: true, subtree: true});
})()"""
# Once `shown` is in the main area, nothing is stale, every chart and table shown has drawn its SVG or canvas and
# nothing has been painted or changed there for `quiet` ms: the milliseconds from the last press to
# the last paint or change (`last`); else null.
DRAWN = """([shown, quiet]) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.querySelector(shown) || document.querySelector('[data-stale="true"]')) return null;
  const painted = (el) => Array.from(el.querySelectorAll('svg.marks, canvas')).some((c) => {
    const box = c.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  });
  const drawn = Array.from(main.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"]'))
    .filter((el) => el.checkVisibility());  // not those in a closed expander
  if (!drawn.every(painted)) return null;
  const last = Math.max(window.__painted, window.__changed);
  if (performance.now() - last < quiet) return null;
  return {last: last - window.__key};
}"""

LAST_MESSAGE = "() => Math.max(...window.__got.filter((t) => t >= window.__key)) - window.__key"


@dataclass(frozen=True)
class Ended:
    """Seconds from a press (or the navigation) until the page was drawn, and until the app's last
    message arrived (the app's part: its run; the rest is the browser's, drawing what it sent); and
    the CPU seconds the app's server and Chromium spent meanwhile (the work, whatever the load)."""

    took: float
    app: float
    app_cpu: float = 0.0
    browser_cpu: float = 0.0

    def __add__(self, other: Ended) -> Ended:
        return Ended(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _family(pid: int) -> dict[int, str]:
    """The processes descended from `pid`, with their names (this run's server, Chromium's)."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        parents.setdefault(int(rest[1]), []).append((int(stat.parent.name), name))
    found, todo = {}, [pid]
    while todo:
        for child, name in parents.get(todo.pop(), []):
            found[child] = name
            todo.append(child)
    return found


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds so far of this run's app server (Python) and of Chromium's processes."""
    app = browser = 0.0
    for pid, name in _family(os.getpid()).items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICKS
        if name.startswith("python"):
            app += seconds
        elif name.startswith("chrom"):
            browser += seconds
    return app, browser


Pick = int | str  # an option of a sidebar list: its nth (counting round), or the one of this text

# Each agent's first two prompt versions (as Compare versions lists them once the agent is picked) and the
# models both of them ran.
BOTH_RAN = """
WITH listed AS (
    SELECT agent, version, row_number() OVER (PARTITION BY agent ORDER BY deployed_at NULLS LAST, version) AS nth
    FROM prompt_versions
)
SELECT calls.agent, calls.model
FROM calls JOIN listed ON listed.agent = calls.agent AND listed.version = calls.prompt_version AND listed.nth <= 2
GROUP BY ALL HAVING count(DISTINCT listed.version) = 2
ORDER BY ALL
"""


def _nth(con: duckdb.DuckDBPyConnection, n: int) -> tuple[Pick, Pick]:
    """Round `n`'s agent and model: each sidebar list's nth."""
    return n, n


def _versions_both_ran(con: duckdb.DuckDBPyConnection, n: int) -> tuple[Pick, Pick]:
    """Compare versions' round `n` (see the module's doc): the nth agent whose first two prompt versions
    both ran, and one of the models both ran; each list's nth where no agent ran two (the page compares
    models)."""
    ran = con.execute(BOTH_RAN).fetchall()
    if not ran:
        return _nth(con, n)
    agents = sorted({agent for agent, _ in ran})
    agent = agents[n % len(agents)]
    models = [model for of, model in ran if of == agent]
    return agent, models[n // len(agents) % len(models)]


@dataclass(frozen=True)
class Walked:
    """A page as the benchmark walks it: its title, url path, what is on screen once it is drawn, and
    the agent and model each round picks."""

    title: str
    path: str
    shows: str  # a selector in the main area that only a drawn page has
    # The first load in full, given the link's run (ended on what `shows` or on a note) and the CPU before it.
    first: Callable[[Page, Ended, tuple[float, float]], Ended] | None = None
    picks: Callable[[duckdb.DuckDBPyConnection, int], tuple[Pick, Pick]] = _nth


def _ended(page: Page, shows: str, cpu_before: tuple[float, float]) -> Ended:
    """When the app's run for the last press ended and the page was drawn; `cpu_before`: the
    `_cpu_seconds` before the press."""
    answer = wait_for_answer(page, QUIET_MS, TIMEOUT_MS, polling=POLL_MS)
    drawn = page.wait_for_function(DRAWN, arg=[shows, QUIET_MS], timeout=TIMEOUT_MS, polling=POLL_MS).json_value()
    cpu = [after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True)]
    return Ended(max(answer["took"], drawn["last"]) / 1000, page.evaluate(LAST_MESSAGE) / 1000, *cpu)


NO_VERSIONS = "Two prompt versions are needed"  # Compare versions' note where it has none to compare


def _models(page: Page, opened: Ended, before: tuple[float, float]) -> Ended:
    """Compare versions' first load (`opened`, its CPU counted from `before`), by model when the warehouse
    has no prompt versions to compare (bench/overview.py's have none: the page opens on a note saying
    so); as it opened otherwise (the demo). Under load the link's run could seem over on the page's
    first note (the demo's says the period holds one arm) before its comparison came: waited for."""
    comparison = page.locator(f"[data-testid='stMain'] :is({TABLE}, {STATIC})")
    comparison.or_(page.get_by_text(NO_VERSIONS)).first.wait_for(timeout=TIMEOUT_MS)
    if comparison.count():
        return _ended(page, f"{TABLE}, {STATIC}", before)  # from the navigation: no press yet
    more = _cpu_seconds()
    page.get_by_text("Models", exact=True).click()
    return opened + _ended(page, f"{TABLE}, {STATIC}", more)


PAGES = {
    "overview": Walked("Overview", "overview", CHART),
    "compare": Walked("Compare versions", "compare", f"{TABLE}, {STATIC}", first=_models, picks=_versions_both_ran),
    "failure-modes": Walked("Failure modes", "failure-modes", CHART),
    "calibration": Walked("Judge calibration", "calibration", f"{NOTE}, {TABLE}"),
    "calls": Walked("Calls", "calls", TABLE),
    "drift": Walked("Cost & latency drift", "drift", CHART),
}


@dataclass
class Walk:
    """What walking one page measured."""

    first_load: Ended = Ended(0.0, 0.0)
    changes: dict[str, list[Ended]] = field(default_factory=lambda: {name: [] for name in (*CHANGES, SEEN)})
    load: tuple[float, float] = (0.0, 0.0)  # the load average before and after

    def median(self, names: tuple[str, ...] = CHANGES, part: str = "took") -> float:
        """The median seconds of these changes (by default every one that read anew), to the page
        drawn (`took`) or to the app's last message (`app`)."""
        return statistics.median(getattr(e, part) for name in names for e in self.changes[name])


def _period(page: Page, start: date, end: date) -> None:
    """Type the period into the sidebar's date field, a day's figures at a time; the field takes it
    when the focus leaves it (the second Tab: the first reaches its calendar button)."""
    for end_of_range, day in (("start", start), ("end", end)):
        page.locator(f".st-key-f_period [data-range-field='{end_of_range}'] [data-type='year']").click()
        page.keyboard.type(f"{day:%Y%m%d}")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")


def _pick(page: Page, key: str, option: Pick) -> None:
    """Open the sidebar list `key` and click `option` (an nth counts round and skips "Select all"). The
    first press on a list of a page just drawn can leave it closed: pressed again then (the change is
    timed from the last press, the option's)."""
    for _ in range(OPEN_TRIES):
        page.locator(f".st-key-{key} button[aria-label='Open']").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=OPEN_WAIT_MS)
            break
        except PlaywrightTimeout:
            continue
    if isinstance(option, str):
        page.get_by_role("option", name=option, exact=True).click()
        return
    options = page.get_by_role("option").filter(has_not_text="Select all")
    options.nth(option % options.count()).click()


def _clear(page: Page, key: str) -> None:
    """Take the one option picked out of the sidebar list `key` again, by the keyboard: its "Clear all"
    button leaves the demo's first model (claude-sonnet-4-5) picked and only opens the list."""
    page.keyboard.press("Escape")  # the list closes
    page.locator(f".st-key-{key} input").focus()
    page.keyboard.press("Backspace")


def _timed(page: Page, walked: Walked, walk: Walk, name: str, act: Callable[..., None], *args: object) -> None:
    """`act(page, *args)`, timed under `name`."""
    before = _cpu_seconds()
    with _said_if_not_drawn(page, walked, name):
        act(page, *args)
        walk.changes[name].append(_ended(page, walked.shows, before))
    page.wait_for_timeout(PAUSE_MS)


@contextmanager
def _said_if_not_drawn(page: Page, walked: Walked, what: str) -> Iterator[None]:
    """A page that never finishes drawing (an error on it, a widget the benchmark cannot find) ends
    the run with one line naming the page and the change, and a screenshot of it."""
    try:
        yield
    except PlaywrightTimeout:
        shot = screenshot(page, f"bench-filters-{walked.path}")
        raise SystemExit(f"{walked.title}, {what}: not drawn within {TIMEOUT_MS / 1000:.0f} s (see {shot})") from None


def _round(page: Page, walked: Walked, walk: Walk, last_day: date, n: int, picks: tuple[Pick, Pick]) -> None:
    """The four changes of round `n`: its periods end `n` days before the last day, it picks the agent
    and model `picks`."""
    end = last_day - timedelta(days=n)
    agent, model = picks
    _timed(page, walked, walk, "28 days", _period, end - timedelta(days=27), end)
    _timed(page, walked, walk, "one agent", _pick, "f_agent", agent)
    _timed(page, walked, walk, SEEN, _clear, "f_agent")
    _timed(page, walked, walk, "one model", _pick, "f_model", model)
    _timed(page, walked, walk, SEEN, _clear, "f_model")
    _timed(page, walked, walk, "90 days", _period, end - timedelta(days=89), end)


def walk_page(browser: Browser, url: str, walked: Walked, last_day: date, picks: list[tuple[Pick, Pick]]) -> Walk:
    """Open `walked` in a new tab, then change its filters once a round, picking each round's agent and
    model of `picks` (see the module's doc)."""
    walk = Walk()
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page = context.new_page()
        page.add_init_script(WATCH)
        page.add_init_script(PAINTS)
        before = _cpu_seconds()
        with _said_if_not_drawn(page, walked, "first load"):
            page.goto(f"{url}/{walked.path}")
            walk.first_load = _ended(page, f"{NOTE}, {walked.shows}" if walked.first else walked.shows, before)
            if walked.first:
                walk.first_load = walked.first(page, walk.first_load, before)
        page.wait_for_timeout(PAUSE_MS)
        for n, picked in enumerate(picks, start=1):
            _round(page, walked, walk, last_day, n, picked)
    finally:
        context.close()
    return walk


def _warm(browser: Browser, url: str) -> None:
    """A first run of the app, on a page that reads little (Prompt versions), so no page's first
    load pays for the server's imports."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page = context.new_page()
        page.goto(f"{url}/prompts")
        settle(page)
    finally:
        context.close()


def _picks(db: Path, walked: Walked, rounds: int) -> list[tuple[Pick, Pick]]:
    """The agent and model each of `rounds` rounds on `walked` picks, on warehouse `db`."""
    with duckdb.connect(str(db), read_only=True) as con:
        return [walked.picks(con, n) for n in range(1, rounds + 1)]


@contextmanager
def _served_copy(db: Path, root: Path = ROOT) -> Iterator[str]:
    """The app of the checkout `root` served on a fresh copy of `db` (opening a warehouse migrates it)."""
    with tempfile.TemporaryDirectory(prefix="callboard-bench-filters-") as scratch:
        copy = Path(scratch) / db.name
        shutil.copy(db, copy)
        with served_app(copy, root=root) as url:
            yield url


def walk(browser: Browser, root: Path, db: Path, walked: Walked, last_day: date, rounds: int) -> Walk:
    """`walked` on a fresh server of the checkout `root`, on a fresh copy of `db` (whose last call is on
    `last_day`), `rounds` rounds."""
    picks = _picks(db, walked, rounds)
    with _served_copy(db, root) as url:
        _warm(browser, url)
        before = os.getloadavg()[0]
        done = walk_page(browser, url, walked, last_day, picks)
        done.load = (before, os.getloadavg()[0])
    return done


# The app's other pages (their content does not follow the sidebar's filters), by url path.
UNFILTERED = ("review", "review-summary", "failure-mode-list", "judges", "prompts", "ingest", "export")
MIB = 1024  # /proc's figures are in KiB


def _server() -> int:
    """The app server's process id: the one Python process this run serves the app from."""
    return next(pid for pid, name in _family(os.getpid()).items() if name.startswith("python"))


def _server_memory() -> tuple[float, float]:
    """The app server's resident memory now and its peak since `_peak_reset` (VmRSS, VmHWM), in MiB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{_server()}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / MIB, int(status["VmHWM"].split()[0]) / MIB


def _peak_reset() -> None:
    """Start the server's peak (VmHWM) again from its memory now (Linux: 5 to clear_refs), so each
    page's own peak is read."""
    Path(f"/proc/{_server()}/clear_refs").write_text("5")


def _open(browser: Browser, url: str, path: str) -> None:
    """Open the page at `path` in a new tab and wait until its run has ended (its first message sent
    and nothing more for QUIET_MS), for pages the benchmark does not walk."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page = context.new_page()
        page.add_init_script(WATCH)
        page.goto(f"{url}/{path}")
        page.wait_for_function("() => window.__runs.some(([, state]) => state === 'running')", timeout=TIMEOUT_MS,
                               polling=POLL_MS)  # fmt: skip
        wait_for_answer(page, QUIET_MS, TIMEOUT_MS, polling=POLL_MS)
    finally:
        context.close()


def app_memory(browser: Browser, db: Path, keys: list[str], last_day: date, rounds: int) -> None:
    """On one server (`--app-memory`): walk each of `keys`' pages as the timings do, then open every
    other page; print the server's resident memory after each, its peak during each, and its peak
    over them all (a meeting visits them all on one server, whose caches keep what each read)."""
    print(f"\n{db.name}: the app server's memory (MiB), one server for every page; {rounds} rounds of filter "
          "changes on each page walked")
    print(f"  {'page':<24}{'after':>7}{'peak':>7}{'load':>7}")
    highest = 0.0

    def said(title: str) -> None:
        nonlocal highest
        now, peak = _server_memory()
        highest = max(highest, peak)
        print(f"  {title:<24}{now:>7,.0f}{peak:>7,.0f}{os.getloadavg()[0]:>7.1f}")

    with _served_copy(db) as url:
        _warm(browser, url)
        said("(served, one page)")
        for key in keys:
            _peak_reset()
            walk_page(browser, url, PAGES[key], last_day, _picks(db, PAGES[key], rounds))
            said(PAGES[key].title)
        for path in UNFILTERED:
            _peak_reset()
            _open(browser, url, path)
            said(path)
    print(f"  the app's peak over every page: {highest:,.0f} MiB")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def report(db: Path, calls: int, walks: dict[str, Walk], baseline: dict[str, Walk]) -> None:
    """Per page: the medians against the target and the ratio to the baseline; then where the time went."""
    target = next(seconds for most, seconds in TARGETS_S if calls <= most)
    print(f"\n{db.name}, {calls:,} calls, at {WIDTH}x{HEIGHT}: median ms from a filter change to the page drawn, "
          f"against the target ({_ms(target)} ms) and the page's first load; load average before–after, "
          f"{os.cpu_count()} cores")
    versus = "  baseline root (this ÷ it)" if baseline else ""
    print(f"  {'page':<21}{''.join(f'{name:>10}' for name in CHANGES)}{'all':>7}{'first load':>11}{'ratio':>6}"
          f"{'load':>11}{versus}")
    for key, done in walks.items():
        median = done.median()
        met = "  ok" if median <= target else "  MISS"
        then = f"  {_ms(baseline[key].median()):>6} ({median / baseline[key].median():.2f}x)" if key in baseline else ""
        print(f"  {PAGES[key].title:<21}{''.join(f'{_ms(done.median((name,))):>10}' for name in CHANGES)}"
              f"{_ms(median):>7}{_ms(done.first_load.took):>11}{median / done.first_load.took:>6.2f}"
              f"{done.load[0]:>6.1f}–{done.load[1]:<4.1f}{met}{then}")
    print("  Where it goes, medians (ms): to the app's last message, then the browser drawing; CPU of the app "
          "(server) and of Chromium; the same for a view seen before (reads cached); the baseline root's below")
    print(f"  {'page':<32}{'app':>7}{'browser':>8}{'app CPU':>8}{'Chromium':>9}   cached:{'app':>6}{'browser':>8}"
          f"{'app CPU':>8}{'Chromium':>9}")
    for tree, done_walks in (("", walks), (" (baseline)", baseline)):
        for key, done in done_walks.items():
            parts = ""
            for names in (CHANGES, (SEEN,)):
                app, took = done.median(names, "app"), done.median(names)
                parts += (f"{_ms(app):>7}{_ms(took - app):>8}{_ms(done.median(names, 'app_cpu')):>8}"
                          f"{_ms(done.median(names, 'browser_cpu')):>9}") + ("   cached:" if names == CHANGES else "")
            print(f"  {PAGES[key].title + tree:<32}{parts}")


def _size(db: Path) -> tuple[int, date]:
    """The warehouse's calls and the day of its last one (the periods end there)."""
    with duckdb.connect(str(db), read_only=True) as con:
        calls, last_day = con.execute("SELECT count(*), max(day) FROM calls").fetchone()
    return calls, last_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--db", type=Path, nargs="+", help="bench these warehouses instead (say the demo)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES), help=f"of {', '.join(PAGES)}")
    parser.add_argument("--baseline-root", type=Path, help="another checkout to walk in turns (e.g. git archive)")
    parser.add_argument("--app-memory", action="store_true", help="the app's memory, every page on one server")
    args = parser.parse_args()
    keys = args.pages.split(",")
    with chromium() as browser:
        for db in [path.resolve() for path in args.db] if args.db else [built(calls) for calls in args.calls]:
            calls, last_day = _size(db)
            if args.app_memory:
                app_memory(browser, db, keys, last_day, args.rounds)
                continue
            walks, baseline = {}, {}
            for key in keys:
                walks[key] = walk(browser, ROOT, db, PAGES[key], last_day, args.rounds)
                if args.baseline_root:
                    baseline[key] = walk(browser, args.baseline_root.resolve(), db, PAGES[key], last_day, args.rounds)
            report(db, calls, walks, baseline)


if __name__ == "__main__":
    main()
