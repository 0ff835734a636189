"""The quarterly strategy deck: what the team shows leadership after the quarter's metric reviews.

Slides: the title (quarter, dates, filters); one per owned-metric group with the key numbers
against the previous quarter and their daily trends; the failure-mode Pareto; the weekly reviews'
summary with the decisions it recorded; drift flags in plain sentences (each series once); prompt
changes with their reasons; what each change (a prompt version, a model switch) did to conversion,
cost and reply time; and, only when someone picks one, a caller's quote. Dates are the quarter's
days with calls on record (a quarter still running says "so far"). The figures come from the same
query functions as the pages (the overview's for the owned metrics and the changes), so the deck and
the app never disagree. Metric definitions go
in the speaker notes, from warehouse/metric_registry.py. No customer text is shown unless a quote is picked, and
a picked quote is masked for PII like every export.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple
from zipfile import BadZipFile

import polars as pl
from pptx.enum.text import MSO_ANCHOR
from pptx.exc import PackageNotFoundError
from pptx.presentation import Presentation as Deck
from pptx.util import Emu, Inches

from export import images, slides
from export.quarter import Quarter
from export.redaction import redact
from export.slides import BAD, GOOD, MUTED, Box, Line
from present.call_header import clock
from present.charts import AnyChart, for_slide, trend
from present.drift import keyed_sentences
from present.failure_modes import LOST_CONVERSIONS, costliest_answer, pareto
from present.formats import delta_colour, format_change, format_value, noise_verdict
from warehouse import explorer, prompt_history, queries, review_summary, reviews
from warehouse.calls import call_detail
from warehouse.drift.detection import load_thresholds
from warehouse.drift.queries import change_markers, drift_history
from warehouse.errors import CallboardError
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY, GROUPS, Metric, Row, number, shows_nothing_yet, unlikely_noise
from warehouse.review_metrics import PASS_FAIL

Progress = Callable[[str, float], object]  # told each step; what it returns is ignored
PX_PER_INCH = 96  # vl-convert's 1x pixels; the PNGs are rendered at 2x of this
MAX_DRIFT_SENTENCES = 6
MAX_PROMPT_ROWS = 8
MAX_DECISION_CHARS = 90
MAX_LISTED_CHARS = 48  # a line of a transcript, as an error lists it
CHANGE_WORDS = {"prompt": "prompt {}", "model": "switch to {}", "end_of_turn": "end-of-turn setting {}"}
CHANGE_WINDOW_DAYS = 28  # four whole weeks each side, so weekday mix does not move the figures
LABEL_SOURCE = "judge"  # the failure-mode slide counts the judges' labels: every judged call, not a sample
SPEAKERS = {"customer": "Caller", "agent": "Agent"}
CHANGE_METRICS = tuple(BY_KEY[key] for key in ("conversion_rate", "cost_per_call_usd", "latency_p95_ms"))


class DeckRefused(CallboardError):
    """A request the deck cannot be built from, with a message for the person who asked."""


@dataclass(frozen=True)
class Quote:
    """One utterance of one call, picked on purpose to be shown in the deck."""

    call_id: str
    turn: int

    @classmethod
    def picked(cls, text: str) -> Quote:
        """'CALL_ID@LINE': a line of the call's transcript picked as people see it, by its time
        ('call-00042@0:07'), with its speaker when two lines start in the same second
        ('call-00042@0:07 Caller'); refused, with the call's lines, when no line or several match."""
        call_id, at, line = text.rpartition("@")
        if not at or not call_id.strip() or not line.strip():
            raise DeckRefused(f"'{text}' is not a quote: write the call id and the line's time as its transcript "
                              "shows it, like call-00042@0:07.")
        call_id, wanted = call_id.strip(), " ".join(line.split())
        lines = quote_lines(call_id)
        found = [turn for turn, shown in lines.items() if _names(shown, wanted)]
        if len(found) == 1:
            return cls(call_id, found[0])
        listed = " · ".join(_short(shown, MAX_LISTED_CHARS) for shown in lines.values())
        if not found:
            raise DeckRefused(f"Call {call_id} has no line at {wanted}; its lines: {listed}")
        raise DeckRefused(f"Call {call_id} has {len(found)} lines at {wanted}: add the speaker, like "
                          f"{call_id}@{wanted} Caller; its lines: {listed}")


def _names(shown: str, wanted: str) -> bool:
    """Whether a line as shown ("0:07 Caller: …") is the one `wanted` names: by its time ("0:07"),
    or its time and speaker ("0:07 caller"), in any case."""
    clock, _, rest = shown.partition(" ")
    speaker = rest.partition(":")[0]
    return wanted.casefold() in (clock, f"{clock} {speaker}".casefold())


@dataclass(frozen=True)
class DeckRequest:
    quarter: Quarter
    agents: tuple[str, ...] = ()
    template: Path | None = None
    quotes: tuple[Quote, ...] = ()

    @property
    def filters(self) -> Filters:
        return Filters(self.quarter.start, self.quarter.end, agents=self.agents)

    @property
    def previous(self) -> Filters:
        before = self.quarter.previous()
        return Filters(before.start, before.end, agents=self.agents)


def check(request: DeckRequest) -> queries.FilterOptions:
    """Refuse, with a plain reason, a template that is not there, an agent the warehouse has never
    seen, or a quarter with no calls; the warehouse's range and agents otherwise."""
    if request.template is not None and not request.template.is_file():
        raise DeckRefused(f"There is no template file {request.template}.")
    options = queries.filter_options()
    if options.first_day is None or options.last_day is None:
        raise DeckRefused("The warehouse has no calls yet: load some with `python -m ingest traces PATH`.")
    unknown = [a for a in request.agents if a not in options.agents]
    if unknown:
        raise DeckRefused(f"No calls from agent {', '.join(unknown)}; the agents are {', '.join(options.agents)}.")
    q = request.quarter
    if q.end < options.first_day or q.start > options.last_day:
        raise DeckRefused(f"No calls in {q.label} ({q.start:%d %b} – {q.end:%d %b %Y}): the warehouse has calls "
                          f"from {options.first_day:%d %b %Y} to {options.last_day:%d %b %Y}.")
    return options


def _plain(markdown: str) -> str:
    """The app's Markdown sentences as slide text: no bold marks, no code spans."""
    return re.sub(r"\*\*|`", "", markdown)


def _chart_png(chart: AnyChart, title: str, caption: str, box: Box) -> bytes:
    """A chart rendered for a box of the slide: the box's size at 1x, so type keeps its size."""
    width, height = int(Emu(box.width).inches * PX_PER_INCH), int(Emu(box.height).inches * PX_PER_INCH)
    return images.png(for_slide(chart, title, caption, width=width - 30, height=height - 90))


@dataclass(frozen=True)
class Covered:
    """The quarter's days with calls on record: what the deck's dates say."""

    start: date
    end: date
    so_far: bool  # the data ends before the quarter does

    @classmethod
    def of(cls, quarter: Quarter, options: queries.FilterOptions) -> Covered:
        first, last = max(quarter.start, options.span[0]), min(quarter.end, options.span[1])
        return cls(first, last, last < quarter.end)

    def label(self, quarter: Quarter) -> str:
        return f"{quarter.label} so far" if self.so_far else quarter.label

    def days(self) -> str:
        return f"{self.start:%d %b} – {self.end:%d %b %Y}"


def _title_slide(deck: Deck, request: DeckRequest, covered: Covered) -> None:
    q = request.quarter
    shown = Filters(covered.start, covered.end, agents=request.agents).describe()
    slide = slides.add_slide(deck, f"Voice agents · {covered.label(q)}", shown, opening=True)
    coverage = f" The calls on record end on {covered.end:%d %b %Y}." if covered.so_far else ""
    width, height = slides.page_size(deck)
    box = Box(slides.MARGIN, height - Inches(1.6), width - 2 * slides.MARGIN, Inches(1.1))
    slides.add_text(slide, box, [
        (f"Compared with {q.previous().label}.{coverage}", 16, {"colour": MUTED}),
        (f"Made with Callboard on {date.today():%d %b %Y}.", 14, {"colour": MUTED}),
    ])  # fmt: skip
    slides.set_notes(slide, "Figures come from Callboard's warehouse and match the app's Overview page for the same "
                            f"period and filters ({shown}). Speaker notes define each figure.")


def _short_label(quarter: Quarter, of: Quarter) -> str:
    """'Q3' next to Q4 of the same year, 'Q4 2025' next to Q1 2026: short enough for a number box."""
    return f"Q{quarter.number}" if quarter.year == of.year else quarter.label


def _number(panel: Metric, now: Row, then: Row, previous_label: str) -> list[Line]:
    """A metric's box: its name, its value, and the change against the previous quarter with an
    arrow; in the colour of good or bad news only when the metric's noise test says the change is
    unlikely to be chance (as on the overview), and then whether it could be noise and its n."""
    current, before = number(now, panel.key), number(then, panel.key)
    change = format_change(current, before, panel.unit)
    lines: list[Line] = [(panel.label, 14, {"colour": MUTED, "space_after": 2}),
             (format_value(current, panel.unit), 32, {"bold": True, "space_after": 2})]  # fmt: skip
    if change is None or current is None or before is None:
        lines.append((f"{previous_label}: {format_value(before, panel.unit)}", 13, {"colour": MUTED}))
        return lines
    test = panel.change_test(now, then)
    news = delta_colour(panel, test) != "off"
    good = (current > before) == panel.higher_is_better
    arrow = "▲" if current > before else "▼" if current < before else "●"
    lines.append((f"{arrow} {change} vs {previous_label} ({format_value(before, panel.unit)})", 13,
                  {"colour": (GOOD if good else BAD) if news else MUTED, "bold": news}))
    lines.append((f"{noise_verdict(test)}, n = {now.get(panel.n_key) or 0:,}", 10, {"colour": MUTED, "space_after": 0}))
    return lines


def _group_slide(deck: Deck, request: DeckRequest, group: str, panels: tuple[Metric, ...],
                 result: queries.Overview, covered: Covered) -> None:
    q = request.quarter
    slide = slides.add_slide(deck, f"{group}: {covered.label(q)} against {q.previous().label}")
    notes = [f"{p.label}: {p.help}" for p in panels]
    changes = ("Changes: shares and NPS in points, times and money in per cent; coloured only when the metric's "
               "test says they are unlikely to be noise.")
    slides.set_notes(slide, "\n".join([*notes, changes]))
    area = slides.content_box(deck, slide)
    if shows_nothing_yet(group, result.value("current", "judged_calls")):
        slides.add_text(slide, area, [(f"No judge scored calls in {q.label}, so there is no eval score or "
                                       "hallucination rate.", 20, {})])
        return
    for panel, column in zip(panels, area.columns(len(panels)), strict=True):
        numbers, chart = column.split(Inches(1.45))
        slides.add_text(slide, numbers, _number(panel, result.row("current"), result.row("previous"),
                                                _short_label(q.previous(), q)), anchor=MSO_ANCHOR.BOTTOM)
        days = result.trend(panel)
        if days.height:
            png = _chart_png(trend(days, panel.key, panel.unit, panel.label), "Per day", covered.days(), chart)
            slides.add_picture(slide, png, chart)


def _failure_mode_slide(deck: Deck, request: DeckRequest) -> None:
    f = request.filters
    slide = slides.add_slide(deck, "Failure modes: what cost bookings")
    slides.set_notes(slide, f"{LOST_CONVERSIONS} Labels from the judges' latest judgement of each call.")
    area = slides.content_box(deck, slide)
    e = explorer.explore(f, LABEL_SOURCE)
    if e.looked_at == 0:
        slides.add_text(slide, area, [(f"No call in {request.quarter.label} has failure-mode labels yet.", 20, {})])
        return
    headline, charts = area.split(Inches(1.0))
    slides.add_text(slide, headline, [(_plain(costliest_answer(e, f, explorer.SOURCES[LABEL_SOURCE])), 16, {})])
    shown = (("lost_conversions", "Lost conversions (bookings)"), ("calls", "Calls with the mode"))
    for (value, title), box in zip(shown, charts.columns(2), strict=True):
        if e.summary[value].drop_nulls().gt(0).any():
            slides.add_picture(slide, _chart_png(pareto(e.summary, value, title, "count"), title,
                                                 f"{e.looked_at:,} judged calls · {f.describe()}", box), box)


def _sessions_in(q: Quarter) -> pl.DataFrame:
    sessions = reviews.list_sessions()
    return sessions.filter((pl.col("period_start") <= q.end) & (pl.col("period_end") >= q.start)).sort("period_start")


def _review_row(s: review_summary.SessionSummary) -> list[str]:
    interval = f" ({s.pass_interval[0]:.0%} – {s.pass_interval[1]:.0%})" if s.pass_interval else ""
    pass_rate = f"{s.pass_rate:.0%}{interval}" if s.pass_rate is not None else "—"
    pass_fail = s.agreement.filter(pl.col("label") == PASS_FAIL)
    agreement = "—" if pass_fail.is_empty() else (f"{pass_fail['agreement'][0]:.0%} of "
                                                  f"{pass_fail['calls'][0]} calls")
    period = f"{s.session.start:%d %b} – {s.session.end:%d %b}"
    decided = _short(s.session.decisions or "—", MAX_DECISION_CHARS)
    return [s.session.name, period, f"{s.scored} of {len(s.session.call_ids)}", pass_rate, agreement, decided]


def _short(text: str, limit: int) -> str:
    """One line of at most `limit` characters (the rest goes to the speaker notes)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def _review_slide(deck: Deck, request: DeckRequest) -> None:
    q = request.quarter
    slide = slides.add_slide(deck, f"Weekly call reviews in {q.label}")
    slides.set_notes(slide, "Calls reviewed: calls a person scored in the session. Pass rate: the share of all "
                            "calls in the period that would pass, estimated from the calls given a pass or fail (each "
                            "group of the draw counted by the calls it stands for), with its 95% range (wide when few "
                            "calls were scored). Agrees with "
                            "the judge: share of calls where the person and the judge gave the same pass or fail, "
                            "estimated for all calls like the pass rate, from the calls scored and judged.")
    area = slides.content_box(deck, slide)
    found = [review_summary.session_summary(session_id) for session_id in _sessions_in(q)["session_id"]]
    summaries = [s for s in found if s is not None]
    if not summaries:
        slides.add_text(slide, area, [(f"No weekly review covered {q.label}.", 20, {})])
        return
    headline, table = area.split(Inches(0.6))
    scored = sum(s.scored for s in summaries)
    sessions = f"{len(summaries)} review session{'s' if len(summaries) != 1 else ''}"
    slides.add_text(slide, headline, [(f"{sessions}, {scored:,} calls scored by people.", 18, {})])
    header = ["Session", "Calls from", "Calls reviewed", "Pass rate (95% range)", "Agrees with the judge", "Decided"]
    slides.add_table(slide, table, header, [_review_row(s) for s in summaries], [2.2, 1.6, 1.3, 1.8, 1.8, 3.6])
    decided = [f"{s.session.name}: {s.session.decisions.strip()}" for s in summaries if s.session.decisions]
    if decided:
        slides.set_notes(slide, "\nDecisions, in full:\n" + "\n".join(decided), append=True)


def _weekly_drift(request: DeckRequest, last_day: date) -> list[str]:
    """The drift sentences of every week of the quarter (weeks ending on the quarter's last day
    with data, and every 7 days before it), each series (measure, agent, direction) once, from its
    newest week. A drift in weeks when a change went live for that agent (a model switch, a prompt
    version) is left to the changes slide, which measures every change one way: two figures for one
    event, from two windows, would contradict each other on screen."""
    thresholds = load_thresholds()
    end = min(request.quarter.end, last_day)
    weeks = ((end - request.quarter.start).days + 1) // thresholds.recent_days
    found: dict[tuple[str, str, bool], str] = {}
    for flags in drift_history(request.filters, "agent", thresholds, weeks=weeks, end=end).weeks if weeks > 0 else []:
        for key, sentence, changed in keyed_sentences(flags):
            if not changed:
                found.setdefault(key, sentence)
    return list(found.values())


def _drift_slide(deck: Deck, request: DeckRequest, last_day: date) -> None:
    q = request.quarter
    slide = slides.add_slide(deck, f"Cost and speed drift in {q.label}")
    found = _weekly_drift(request, last_day)
    shown, more = found[:MAX_DRIFT_SENTENCES], found[MAX_DRIFT_SENTENCES:]
    notes = ["Each week's reply time, pipeline step times, cost, tokens and failure rates per agent are compared "
             "with the weeks before; a change is flagged only when it is large and a statistical test says it is "
             "unlikely to be chance (the Cost & latency drift page explains the thresholds). Each series is said "
             "once, from its newest week; what a prompt or model change did is on the changes slide."]
    slides.set_notes(slide, "\n".join([*notes, *(f"Also: {s}" for s in more)]))
    area = slides.content_box(deck, slide)
    if not shown:
        slides.add_text(slide, area, [(f"No cost or speed drift was flagged in any week of {q.label}.", 20, {})])
        return
    lines: list[Line] = [(f"• {s}", 18, {"space_after": 10}) for s in shown]
    if more:
        lines.append((f"… and {len(more)} more in the speaker notes.", 14, {"colour": MUTED}))
    slides.add_text(slide, area, lines)


def _prompt_slide(deck: Deck, request: DeckRequest) -> None:
    q = request.quarter
    slide = slides.add_slide(deck, f"Prompt changes in {q.label}")
    versions = prompt_history.prompt_versions().filter(
        pl.col("deployed_at").dt.date().is_between(q.start, q.end)
        & (pl.col("agent").is_in(request.agents) if request.agents else pl.lit(True))
    ).sort("deployed_at")
    rows = [[r["agent"], r["version"], f"{r['deployed_at']:%d %b}", r["reason"] or "—"]
            for r in versions.iter_rows(named=True)]
    slides.set_notes(slide, "Every prompt version that went live in the quarter, with the reason its author gave."
                     + "".join(f"\n{a} {v} ({d}): {why}" for a, v, d, why in rows[MAX_PROMPT_ROWS:]))
    area = slides.content_box(deck, slide)
    if not rows:
        slides.add_text(slide, area, [(f"No prompt version went live in {q.label}.", 20, {})])
        return
    slides.add_table(slide, area, ["Agent", "Version", "Went live", "Why"], rows[:MAX_PROMPT_ROWS], [2, 1, 1.2, 6])
    if len(rows) > MAX_PROMPT_ROWS:
        slides.add_text(slide, Box(area.left, area.top + area.height - Inches(0.4), area.width,
                                   Inches(0.4)),
                        [(f"… and {len(rows) - MAX_PROMPT_ROWS} more in the speaker notes.", 14, {"colour": MUTED})])


def _changes_in(request: DeckRequest, covered: Covered) -> pl.DataFrame:
    """The prompt versions and model switches that went live in the covered days (for the
    request's agents), as the drift page marks them."""
    markers = change_markers().filter(pl.col("day").is_between(covered.start, covered.end))
    return markers.filter(pl.col("agent").is_in(request.agents)) if request.agents else markers


def change_effect(agent: str, day: date, last_day: date) -> queries.Overview:
    """A change's effect as the Overview page measures it: the agent's calls in the
    `CHANGE_WINDOW_DAYS` from the day it went live ('current', up to the last day on record) against
    the same number of days before ('previous')."""
    after = Filters(day, min(day + timedelta(days=CHANGE_WINDOW_DAYS - 1), last_day), agents=(agent,))
    return queries.overview(after, day - timedelta(days=CHANGE_WINDOW_DAYS))


def _effect_cell(m: Metric, effect: queries.Overview) -> str:
    now, before = effect.row("current"), effect.row("previous")
    change = format_change(number(now, m.key), number(before, m.key), m.unit)
    if change is None:
        return "—"
    noise = "" if unlikely_noise(m.change_test(now, before)) else ", could be noise"
    values = f"{format_value(number(before, m.key), m.unit)} → {format_value(number(now, m.key), m.unit)}"
    return f"{values} ({change}{noise})"


def _changes_slide(deck: Deck, request: DeckRequest, covered: Covered) -> None:
    changes = _changes_in(request, covered)
    slide = slides.add_slide(deck, f"What the changes did in {covered.label(request.quarter)}")
    slides.set_notes(slide, f"Each change: the agent's calls in the {CHANGE_WINDOW_DAYS} days from the day it went "
                            f"live against the {CHANGE_WINDOW_DAYS} days before, with the Overview's definitions and "
                            "noise tests. A before-and-after comparison, not an experiment: anything else that changed "
                            "in those weeks counts too. " + " ".join(f"{m.label}: {m.help}" for m in CHANGE_METRICS))
    area = slides.content_box(deck, slide)
    if changes.is_empty():
        slides.add_text(slide, area, [(f"No prompt version or model went live in {covered.days()}.", 20, {})])
        return
    rows = []
    for change in changes.iter_rows(named=True):
        effect = change_effect(change["agent"], change["day"], covered.end)
        what = CHANGE_WORDS.get(change["kind"], "{}").format(change["what"])
        rows.append([f"{change['agent']}: {what}", f"{change['day']:%d %b}",
                     *(_effect_cell(m, effect) for m in CHANGE_METRICS)])
    header = ["Change", "Went live", *(m.label for m in CHANGE_METRICS)]
    slides.add_table(slide, area, header, rows[:MAX_PROMPT_ROWS], [2.6, 1.1, 2.3, 2.3, 2.3])


def quote_lines(call_id: str) -> dict[int, str]:
    """Each line of a call's transcript as its view shows it ("0:07 Caller: …", masked when
    redaction is on), by turn, so a person picks a quote by what they read rather than by a turn
    number no transcript shows; refused when there is no such call."""
    detail = call_detail(call_id)
    if detail is None:
        raise DeckRefused(f"There is no call {call_id}.")
    return {row["turn_index"]: f"{clock(row['offset_ms'])} {SPEAKERS.get(row['speaker'], row['speaker'])}: "
                               f"{redact(row['text'])}" for row in detail.turns.iter_rows(named=True)}


class Said(NamedTuple):
    """A quoted line: who spoke, what they said (masked when redaction is on), and when in the call
    ("0:07", as its transcript shows it)."""

    speaker: str
    text: str
    at: str


def quote_text(quote: Quote) -> Said:
    """The quoted line; refused when there is no such call or line."""
    detail = call_detail(quote.call_id)
    if detail is None:
        raise DeckRefused(f"There is no call {quote.call_id}.")
    turn = detail.turns.filter(pl.col("turn_index") == quote.turn)
    if turn.is_empty():
        raise DeckRefused(f"Call {quote.call_id} no longer has the line picked (it has {detail.turns.height}).")
    row = turn.row(0, named=True)
    return Said(SPEAKERS.get(row["speaker"], row["speaker"]), redact(row["text"]), clock(row["offset_ms"]))


def _quote_slide(deck: Deck, quote: Quote) -> None:
    said = quote_text(quote)
    slide = slides.add_slide(deck, "In their words")
    slides.set_notes(slide, f"Chosen on purpose from call {quote.call_id}: the line at {said.at} of its transcript. "
                            "Phone numbers, e-mail addresses and card numbers are masked.")
    area = slides.content_box(deck, slide)
    slides.add_text(slide, area, [(f"“{said.text}”", 28, {"italic": True}),
                                  (f"{said.speaker}, call {quote.call_id}", 16, {"colour": MUTED})],
                    anchor=MSO_ANCHOR.MIDDLE)


def build(request: DeckRequest, progress: Progress | None = None) -> bytes:
    """The deck as .pptx bytes; `progress(step, share done)` is told what is being built."""
    tell = progress or (lambda step, done: None)
    options = check(request)
    for quote in request.quotes:
        quote_text(quote)  # refuse a bad quote before the slow part
    tell("Reading the quarter's metrics", 0.0)
    try:
        deck = slides.open_deck(request.template)
    except (BadZipFile, KeyError, PackageNotFoundError) as unreadable:
        raise DeckRefused(f"{request.template} is not a PowerPoint (.pptx) file.") from unreadable
    covered = Covered.of(request.quarter, options)
    _title_slide(deck, request, covered)
    result = queries.overview(request.filters, request.previous.start)
    for n, (group, panels) in enumerate(GROUPS.items()):
        tell(f"Drawing the charts: {group}", 0.1 + 0.1 * n)
        _group_slide(deck, request, group, panels, result, covered)
    tell("Failure modes", 0.55)
    _failure_mode_slide(deck, request)
    tell("Weekly reviews", 0.65)
    _review_slide(deck, request)
    tell("Checking every week for drift", 0.7)
    _drift_slide(deck, request, options.span[1])
    tell("Prompt changes", 0.85)
    _prompt_slide(deck, request)
    tell("What the changes did", 0.9)
    _changes_slide(deck, request, covered)
    for quote in request.quotes:
        _quote_slide(deck, quote)
    tell("Done", 1.0)
    return slides.to_bytes(deck)
