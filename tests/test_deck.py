"""The quarterly deck, opened again with python-pptx: its slides and titles, pictures on the
metric slides, key numbers equal to warehouse.queries.period_metrics for the quarter and the one
before, a company template's master and layouts, a quote picked by its line as the transcript shows it, and the
CLI's answers to mistakes."""

from __future__ import annotations

import io
import re
import shutil
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE_TYPE

from export.__main__ import main
from export.deck import CHANGE_METRICS, CHANGE_WINDOW_DAYS, DeckRefused, DeckRequest, Quote, build, quote_text
from export.quarter import Quarter
from export.slides import MUTED
from present.formats import format_value
from ui.call_view import transcript_lines
from warehouse import queries, reviews
from warehouse.calls import call_detail
from warehouse.db import connect, transaction
from warehouse.drift.queries import change_markers
from warehouse.filters import Filters
from warehouse.metric_registry import GROUPS, unlikely_noise

TITLES = ["Voice agents", *GROUPS, "Failure modes", "Weekly call reviews",
          "Cost and speed drift", "Prompt changes", "What the changes did"]  # fmt: skip
METRIC_SLIDES_END = 1 + len(GROUPS)  # one slide per group of metrics, after the title slide


@pytest.fixture(scope="module")
def quarter(demo_build: tuple[Path, Path]) -> Quarter:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOARD_DB", str(demo_build[0]))
        return Quarter.of(queries.filter_options().last_day)


@pytest.fixture(scope="module")
def deck(demo_build: tuple[Path, Path], quarter: Quarter) -> Presentation:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOARD_DB", str(demo_build[0]))
        return Presentation(io.BytesIO(build(DeckRequest(quarter))))


def texts(slide) -> list[str]:
    return [p.text for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs]


def test_one_slide_per_part_in_order(deck: Presentation) -> None:
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert len(titles) == len(TITLES)
    assert all(title.startswith(start) for title, start in zip(titles, TITLES, strict=True)), titles
    assert deck.slide_width * 9 == deck.slide_height * 16


def test_metric_slides_show_every_trend_as_a_picture(deck: Presentation) -> None:
    for slide, panels in zip(list(deck.slides)[1:METRIC_SLIDES_END], GROUPS.values(), strict=True):
        pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == len(panels)
        assert all(p.image.content_type == "image/png" for p in pictures)
    pareto = deck.slides[METRIC_SLIDES_END]
    assert [s for s in pareto.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE], "no Pareto chart"


def test_key_numbers_are_the_warehouse_figures_for_the_quarter_and_the_one_before(
    deck: Presentation, quarter: Quarter, demo_warehouse: Path
) -> None:
    before = quarter.previous()
    now = queries.period_metrics(Filters(quarter.start, quarter.end))
    then = queries.period_metrics(Filters(before.start, before.end))
    assert now["calls"] and then["calls"], "the demo should cover both quarters"
    for slide, panels in zip(list(deck.slides)[1:METRIC_SLIDES_END], GROUPS.values(), strict=True):
        shown = texts(slide)
        for panel in panels:
            value = shown[shown.index(panel.label) + 1]
            assert value == format_value(now[panel.key], panel.unit), panel.key
            change = shown[shown.index(panel.label) + 2]
            assert change.endswith(f"({format_value(then[panel.key], panel.unit)})"), (panel.key, change)


def test_metric_definitions_are_in_the_speaker_notes(deck: Presentation) -> None:
    for slide, panels in zip(list(deck.slides)[1:METRIC_SLIDES_END], GROUPS.values(), strict=True):
        notes = slide.notes_slide.notes_text_frame.text
        assert all(p.help in notes for p in panels)


def test_no_transcript_text_without_a_quote(deck: Presentation, demo_warehouse: Path) -> None:
    with connect() as con:
        call_id = con.execute("SELECT call_id FROM calls LIMIT 1").fetchone()[0]
    said = {t for t in call_detail(call_id).turns["text"].to_list() if len(t) > 30}
    everything = " ".join(t for slide in deck.slides for t in texts(slide))
    assert said and not any(t in everything for t in said)


def _a_caller_line(agent: str) -> tuple[str, str, str]:
    """A call of `agent` in the demo, the time of its second line as its transcript in the app shows
    it (the call view's own lines), and what the caller said there."""
    with connect() as con:
        (call_id,) = con.execute("SELECT call_id FROM turns JOIN calls USING (call_id) WHERE agent = ? AND "
                                 "turn_index = 1 AND speaker = 'customer' ORDER BY call_id LIMIT 1", [agent]).fetchone()
    line = transcript_lines(call_detail(call_id))[1]
    assert line["who"] == "Caller"
    return call_id, line["clock"], line["text"]


def test_a_wrong_line_is_refused_with_the_calls_lines(tmp_path: Path, demo_warehouse: Path, quarter: Quarter,
                                                      capsys: pytest.CaptureFixture) -> None:
    call_id, at, said = _a_caller_line("clinic-scheduler")
    assert main(["deck", "--out", str(tmp_path / "d.pptx"), "--quarter", str(quarter), "--quote",
                 f"{call_id}@59:59"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: Call {call_id} has no line at 59:59; its lines: ") and "\n" not in error
    lines = [f"{line['clock']} {line['who']}: " for line in transcript_lines(call_detail(call_id))]
    assert all(line in error for line in lines) and f"{at} Caller: {said[:20]}" in error
    assert not (tmp_path / "d.pptx").exists()


def test_two_lines_in_the_same_second_are_told_apart_by_the_speaker(demo_warehouse_copy: Path) -> None:
    call_id, at, said = _a_caller_line("estate-qualifier")
    with transaction() as con:  # the agent's first line starts in the same second as the caller's second
        con.execute("UPDATE turns SET started_at = (SELECT started_at FROM turns WHERE call_id = ? AND turn_index = 1) "
                    "+ INTERVAL 100 MILLISECOND WHERE call_id = ? AND turn_index = 2", [call_id, call_id])
    with pytest.raises(DeckRefused, match=f"has 2 lines at {at}: add the speaker, like {call_id}@{at} Caller"):
        Quote.picked(f"{call_id}@{at}")
    assert Quote.picked(f"{call_id}@{at} caller") == Quote(call_id, 1)
    assert Quote.picked(f" {call_id} @ {at}  Agent ") == Quote(call_id, 2)
    assert quote_text(Quote(call_id, 1)).text == said


@pytest.mark.parametrize(("arguments", "message"), [
    (["--quarter", "2026Q5"], "is not a quarter"),
    (["--quarter", "2019Q1"], "No calls in Q1 2019"),
    (["--quarter", "{quarter}", "--template", "missing.pptx"], "no template file"),
    (["--quarter", "{quarter}", "--agent", "nobody"], "No calls from agent nobody"),
    (["--quarter", "{quarter}", "--quote", "call-x"], "is not a quote"),
    (["--quarter", "{quarter}", "--quote", "call-x:3"], "is not a quote"),
    (["--quarter", "{quarter}", "--quote", "no-such-call@0:01"], "There is no call no-such-call"),
])  # fmt: skip
def test_the_cli_answers_a_mistake_in_one_line_with_exit_2(
    arguments: list[str], message: str, tmp_path: Path, demo_warehouse: Path, quarter: Quarter,
    capsys: pytest.CaptureFixture,
) -> None:
    arguments = [a.format(quarter=quarter) for a in arguments]
    assert main(["deck", "--out", str(tmp_path / "d.pptx"), *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error and "Traceback" not in error
    assert not (tmp_path / "d.pptx").exists()


def test_a_file_that_is_not_a_pptx_is_refused(tmp_path: Path, demo_warehouse: Path, quarter: Quarter) -> None:
    bad = tmp_path / "bad.pptx"
    bad.write_text("not a deck")
    with pytest.raises(DeckRefused, match="not a PowerPoint"):
        build(DeckRequest(quarter, template=bad))


def test_a_change_is_coloured_only_when_its_noise_test_says_it_is_unlikely_to_be_noise(
    deck: Presentation, quarter: Quarter, demo_warehouse: Path
) -> None:
    result = queries.overview(Filters(quarter.start, quarter.end), quarter.previous().start)
    now, then = result.row("current"), result.row("previous")
    verdicts = set()
    for slide, panels in zip(list(deck.slides)[1:METRIC_SLIDES_END], GROUPS.values(), strict=True):
        runs = [r for s in slide.shapes if s.has_text_frame for p in s.text_frame.paragraphs for r in p.runs]
        shown = [r.text for r in runs]
        for panel in panels:
            change, verdict = runs[shown.index(panel.label) + 2], shown[shown.index(panel.label) + 3]
            test = panel.change_test(now, then)
            news = unlikely_noise(test)
            said = "too few to test" if test is None else "unlikely to be noise" if news else "could be noise"
            assert verdict.startswith(said), (panel.key, verdict)
            assert verdict.endswith(f", n = {now[panel.n_key]:,}")
            assert (change.font.color.rgb != MUTED) == news, panel.key
            verdicts.add(news)
    assert verdicts == {True, False}, "the demo's quarters should hold both news and noise"


def test_the_title_gives_the_days_on_record_not_the_quarters_end(deck: Presentation, quarter: Quarter,
                                                                 demo_warehouse: Path) -> None:
    last = queries.filter_options().last_day
    assert last < quarter.end, "the demo ends inside its last quarter"
    title, subtitle = texts(deck.slides[0])[:2]
    assert title.endswith(f"{quarter.label} so far")
    assert subtitle.startswith(f"{quarter.start:%d %b %Y} – {last:%d %b %Y}")
    assert f"{quarter.end:%d %b}" not in " ".join(texts(deck.slides[0]))


def _cells(slide) -> list[list[str]]:
    (table,) = [s.table for s in slide.shapes if s.has_table]
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_what_each_change_did_is_what_the_overview_measures_for_the_weeks_around_it(
    deck: Presentation, quarter: Quarter, demo_warehouse: Path
) -> None:
    """The deck's figures for a change equal the Overview's definitions (queries.period_metrics, the
    page's function) over the agent's calls in the 4 weeks before and after, change by change; the
    model switch and the prompt change the demo plants are both there."""
    last = queries.filter_options().last_day
    header, *rows = _cells(deck.slides[-1])
    assert header[2:] == [m.label for m in CHANGE_METRICS]
    markers = change_markers().filter(pl.col("day").is_between(quarter.start, last))
    assert len(rows) == markers.height >= 2
    assert {r[0] for r in rows} >= {"salon-booker: switch to gpt-4.1-mini", "clinic-scheduler: prompt v2"}
    for row, marker in zip(rows, markers.iter_rows(named=True), strict=True):
        day, agent = marker["day"], (marker["agent"],)
        after = queries.period_metrics(Filters(day, min(day + timedelta(days=CHANGE_WINDOW_DAYS - 1), last), agent))
        before = queries.period_metrics(Filters(day - timedelta(days=CHANGE_WINDOW_DAYS), day - timedelta(days=1),
                                                agent))
        for m, cell in zip(CHANGE_METRICS, row[2:], strict=True):
            assert cell.startswith(f"{format_value(before[m.key], m.unit)} → {format_value(after[m.key], m.unit)}")


def test_each_drift_is_told_once_and_no_change_gets_a_second_figure(deck: Presentation) -> None:
    """A series (measure, agent, direction) appears once across the drift slide and its notes; a
    drift in weeks when a change went live for the agent is left to the changes slide, so the model
    switch's cost is given once."""
    drift = next(s for s in deck.slides if s.shapes.title.text.startswith("Cost and speed drift"))
    told = [t.removeprefix("• ") for t in texts(drift) if t.startswith("• ")]
    told += [line.removeprefix("Also: ") for line in drift.notes_slide.notes_text_frame.text.splitlines()
             if line.startswith("Also: ")]
    subjects = [re.split(r" (rose|fell) ", t)[0] + (" up" if " rose " in t else " down") for t in told]
    assert told and len(subjects) == len(set(subjects))
    assert not any("switch to" in t or "going live" in t for t in told)
    everything = " ".join(t for slide in deck.slides for t in texts(slide))
    assert everything.count("Cost per call on salon-booker") == 0


@dataclass(frozen=True)
class TeamsDeck:
    """A deck a team writes with the CLI, and what went into it: the quoted call, its line's time and
    what the caller said there, the decisions saved on the review, and what the CLI printed."""

    deck: Presentation
    call_id: str
    at: str
    said: str
    decided: str
    printed: str


@pytest.fixture(scope="module")
def teams_deck(demo_build: tuple[Path, Path], quarter: Quarter, tmp_path_factory: pytest.TempPathFactory) -> TeamsDeck:
    """One deck built the way a team builds theirs, shared by the tests that each check one of its
    inputs (a deck takes ~4 CPU-seconds): written by the CLI with the company's template, for one
    agent, with a quote picked by its line, from a copy of the demo where a review's decisions were
    saved. The template is a 16:9 deck with its own background, a renamed title-only layout and a
    slide of its own (which the deck must drop)."""
    folder = tmp_path_factory.mktemp("teams-deck")
    template = Presentation()
    template.slide_width, template.slide_height = 12192000, 6858000
    fill = template.slide_master.background.fill
    fill.solid()
    fill.fore_color.rgb = RGBColor(0x12, 0x34, 0x56)
    template.slide_layouts[5].name = "Acme headline"  # the title-only layout, renamed
    template.slides.add_slide(template.slide_layouts[0]).shapes.title.text = "Example slide of the template"
    template.save(folder / "acme.pptx")
    shutil.copyfile(demo_build[0], folder / "demo.duckdb")
    decided = "Ship prompt v3 for salon-booker; escalate the gpt-4.1-mini latency to the platform team."
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOARD_DB", str(folder / "demo.duckdb"))
        last = queries.filter_options().last_day
        session = reviews.create_session(reviews.SessionSpec("Deck test week", last - timedelta(days=6), last, seed=1,
                                                             sample_size=5))
        reviews.save_decisions(session, decided)
        call_id, at, said = _a_caller_line("salon-booker")
        printed = io.StringIO()
        with redirect_stdout(printed):
            assert main(["deck", "--quarter", str(quarter), "--out", str(folder / "deck.pptx"), "--template",
                         str(folder / "acme.pptx"), "--agent", "salon-booker", "--quote", f"{call_id}@{at}"]) == 0
    return TeamsDeck(Presentation(folder / "deck.pptx"), call_id, at, said, decided, printed.getvalue())


def test_the_cli_writes_the_deck_with_a_quote_picked_by_its_line(teams_deck: TeamsDeck) -> None:
    """The quote is picked as the transcript shows it, by the line's time: no turn number to guess."""
    deck, call_id, at = teams_deck.deck, teams_deck.call_id, teams_deck.at
    assert "agent: salon-booker" in texts(deck.slides[0])[1]
    quote = deck.slides[-1]
    assert texts(quote) == ["In their words", f"“{teams_deck.said}”", f"Caller, call {call_id}"]
    assert f"the line at {at} of its transcript" in quote.notes_slide.notes_text_frame.text
    assert "Wrote" in teams_deck.printed


def test_a_company_template_gives_its_master_and_layouts(teams_deck: TeamsDeck) -> None:
    deck = teams_deck.deck
    assert deck.slides[0].shapes.title.text.startswith("Voice agents"), "the template's own slide is dropped"
    assert deck.slide_master.background.fill.fore_color.rgb == RGBColor(0x12, 0x34, 0x56)
    assert {s.slide_layout.name for s in list(deck.slides)[1:]} == {"Acme headline"}
    assert (deck.slide_width, deck.slide_height) == (12192000, 6858000)


def test_the_reviews_decisions_are_in_the_deck(teams_deck: TeamsDeck) -> None:
    slide = next(s for s in teams_deck.deck.slides if s.shapes.title.text.startswith("Weekly call reviews"))
    rows = _cells(slide)
    (ours,) = [row for row in rows if row[0] == "Deck test week"]
    assert rows[0][-1] == "Decided" and ours[-1].startswith("Ship prompt v3 for salon-booker;")
    assert teams_deck.decided in slide.notes_slide.notes_text_frame.text
