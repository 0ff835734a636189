"""Customer text in the PowerPoint deck is plain text (issue 19): on the hostile warehouse (agent,
model, prompt and session names, review decisions, failure-mode names, a transcript line, each with
a bidi override and terminal escape sequences), no bidi control or control character reaches a slide,
a table cell, the speaker notes or a chart drawn for the deck, and the names are still there, as
present/markdown.py's `plain_text` writes them."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pptx import Presentation

from export import images
from export.deck import DeckRequest, Quote, build
from export.quarter import Quarter
from present.markdown import plain_text
from tests import hostile_fixture
from warehouse.db import connect

BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = set("\n\t\v")  # python-pptx gives paragraphs as \n and line breaks as \v


def _all_text(pptx: bytes) -> list[str]:
    """Every slide's titles, text boxes and table cells, and its speaker notes."""
    found = []
    for slide in Presentation(io.BytesIO(pptx)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                found.append(shape.text_frame.text)
            if shape.has_table:
                found += [cell.text for row in shape.table.rows for cell in row.cells]
        found.append(slide.notes_slide.notes_text_frame.text)
    return found


def _unshowable(text: str) -> set[str]:
    return {ch for ch in text if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in LINE_BREAKS)}


def _strings(spec: object) -> list[str]:
    """Every string in a chart's spec (its data, labels and titles)."""
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, dict):
        return [s for key, value in spec.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(spec, list):
        return [s for value in spec for s in _strings(value)]
    return []


@pytest.fixture(scope="module")
def hostile_deck(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[list[str]]]:
    """The Q3 2026 deck of the hostile agent, quoting the hostile transcript line: its texts and
    the strings of every chart spec handed to vl-convert for it."""
    warehouse, _, _ = hostile_fixture.build(tmp_path_factory.mktemp("hostile"))
    charts: list[list[str]] = []
    draw = images.vlc.vegalite_to_png

    def drawn(spec: dict, **options: object) -> bytes:
        charts.append(_strings(spec))
        return draw(spec, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOARD_DB", str(warehouse))
        patch.setattr(images.vlc, "vegalite_to_png", drawn)
        with connect() as con:
            (turn,) = con.execute("SELECT turn_index FROM turns WHERE call_id = ? AND text = ?",
                                  [hostile_fixture.CALL_ID, hostile_fixture.TEXT]).fetchone()
        request = DeckRequest(Quarter(2026, 3), agents=(hostile_fixture.AGENT,),
                              quotes=(Quote(hostile_fixture.CALL_ID, turn),))
        return _all_text(build(request)), charts


def test_no_bidi_or_control_character_reaches_the_deck(hostile_deck: tuple[list[str], list[list[str]]]) -> None:
    texts, _ = hostile_deck
    assert {ch for text in texts for ch in _unshowable(text)} == set()


def test_the_names_notes_and_quote_are_there_as_plain_text(hostile_deck: tuple[list[str], list[list[str]]]) -> None:
    texts, _ = hostile_deck
    everything = "\n".join(texts)
    for name in (hostile_fixture.AGENT, hostile_fixture.PROMPT, hostile_fixture.SESSION, hostile_fixture.CALL_ID):
        assert plain_text(name) in everything, name
    first_line, second_line = hostile_fixture.TEXT.split("\n")
    assert plain_text(second_line) in everything, "the decisions, in full in the notes"
    assert f"“{plain_text(first_line)}" in everything, "the quote"


def test_the_charts_drawn_for_the_deck_carry_no_bidi_control(hostile_deck: tuple[list[str], list[list[str]]]) -> None:
    """The failure-mode Pareto names the hostile mode: its label is drawn without the override or
    the escape sequence (which made vl-convert abort the process: no deck, and a page's download
    took the app down)."""
    _, charts = hostile_deck
    pareto = [strings for strings in charts if {"Lost conversions (bookings)", "Calls with the mode"} & set(strings)]
    assert pareto, "the deck draws the failure-mode charts"
    assert any(plain_text(hostile_fixture.MODE) in strings for strings in pareto)
    assert {ch for strings in charts for text in strings for ch in _unshowable(text)} == set()
