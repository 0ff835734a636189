"""Drawing on PowerPoint slides with python-pptx: a 16:9 presentation (or a company template's
own size, master and layouts), titles, number boxes, pictures fitted into a box, tables, bullets
and speaker notes. Knows nothing about metrics; export/deck.py decides what goes where.

Much of a deck's text comes from customer data (agent names, prompt versions, quotes, review notes
and decisions, failure-mode names), so every text put on a slide or in its notes goes through
`present.markdown.plain_text` here, the one place that writes text: no control character or
escape sequence reaches the file, and a bidi override cannot reverse the deck's own words."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.presentation import Presentation as Deck
from pptx.slide import Slide, SlideLayout
from pptx.util import Emu, Inches, Pt

from present.markdown import plain_text

WIDE = (Emu(12192000), Emu(6858000))  # 13.33 × 7.5 inches, 16:9
MARGIN = Inches(0.5)
GAP = Inches(0.25)
MUTED = RGBColor(0x55, 0x55, 0x55)
GOOD, BAD = RGBColor(0x00, 0x72, 0xB2), RGBColor(0xD5, 0x5E, 0x00)  # Okabe–Ito blue and vermilion
TITLE_LAYOUT, CONTENT_LAYOUT = "Title Slide", "Title Only"
TITLE_PT = 36
_TITLES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)


Line = tuple[str, int, dict[str, Any]]  # text, size in points, options: bold, colour, italic, space_after


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    def columns(self, count: int, gap: int = GAP) -> list[Box]:
        width = (self.width - gap * (count - 1)) // count
        return [Box(self.left + i * (width + gap), self.top, width, self.height) for i in range(count)]

    def split(self, top_height: int, gap: int = GAP) -> tuple[Box, Box]:
        """The box cut in two across: `top_height` on top, the rest under it."""
        return (Box(self.left, self.top, self.width, top_height),
                Box(self.left, self.top + top_height + gap, self.width, self.height - top_height - gap))


def page_size(deck: Deck) -> tuple[int, int]:
    """The slides' width and height in EMU (python-pptx types them optional; a deck always has them)."""
    assert deck.slide_width is not None and deck.slide_height is not None
    return deck.slide_width, deck.slide_height


def _widen(deck: Deck) -> None:
    """python-pptx's own template is 4:3: make it 16:9, stretch the placeholders that have a
    position of their own (the others inherit the master's), and size titles to fit the slides'
    longer names."""
    ratio = WIDE[0] / page_size(deck)[0]
    deck.slide_width, deck.slide_height = WIDE
    for owner in [deck.slide_master, *deck.slide_layouts]:
        for shape in owner.placeholders:
            if shape.element.spPr.find(qn("a:xfrm")) is not None:
                shape.left, shape.width = int(shape.left * ratio), int(shape.width * ratio)
    title_style = deck.slide_master.element.find(qn("p:txStyles")).find(qn("p:titleStyle"))
    title_style.find(qn("a:lvl1pPr")).find(qn("a:defRPr")).set("sz", str(TITLE_PT * 100))


def _drop_slides(deck: Deck) -> None:
    """A template's example slides are not part of our deck; its masters and layouts are."""
    ids = deck.slides._sldIdLst  # python-pptx has no public way to delete a slide
    for slide_id in list(ids):
        deck.part.drop_rel(slide_id.rId)
        ids.remove(slide_id)


def open_deck(template: Path | None) -> Deck:
    """A company template's size, master and layouts, or a plain 16:9 deck."""
    if template is None:
        deck = Presentation()
        _widen(deck)
        return deck
    deck = Presentation(str(template))
    _drop_slides(deck)
    return deck


def _layout(deck: Deck, name: str, title_type: PP_PLACEHOLDER) -> SlideLayout:
    """The layout called `name`, else the one with a title of that type and the fewest other
    placeholders: templates rename layouts, but keep their placeholders."""
    layouts = list(deck.slide_layouts)
    for layout in layouts:
        if layout.name == name:
            return layout
    titled = [lay for lay in layouts if any(p.placeholder_format.type == title_type
                                            for p in lay.placeholders)]  # type: ignore[misc]  # pptx's stub
    return min(titled or layouts, key=lambda lay: len(lay.placeholders))


def add_slide(deck: Deck, title: str, subtitle: str | None = None, opening: bool = False) -> Slide:
    """A slide on the template's title layout (`opening`) or its title-only layout, with the title
    (and, on the opening slide, the subtitle) in the layout's own placeholders."""
    layout = _layout(deck, TITLE_LAYOUT, PP_PLACEHOLDER.CENTER_TITLE) if opening else _layout(
        deck, CONTENT_LAYOUT, PP_PLACEHOLDER.TITLE)
    slide = deck.slides.add_slide(layout)
    for shape in list(slide.placeholders):
        kind = shape.placeholder_format.type
        if kind in _TITLES:
            shape.text_frame.text = plain_text(title)
        elif kind == PP_PLACEHOLDER.SUBTITLE and subtitle:
            shape.text_frame.text = plain_text(subtitle)
        else:  # an empty placeholder shows "Click to add text" in PowerPoint
            shape.element.getparent().remove(shape.element)
    return slide


def content_box(deck: Deck, slide: Slide) -> Box:
    """The slide below its title, inside the margins."""
    title = slide.shapes.title
    top = (title.top + title.height if title is not None else 0) + Inches(0.15)
    width, height = page_size(deck)
    return Box(MARGIN, top, width - 2 * MARGIN, height - top - Inches(0.35))


def add_text(slide: Slide, box: Box, lines: list[Line], *, anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
             align: PP_ALIGN = PP_ALIGN.LEFT) -> None:
    """Paragraphs of (text, size in points, options: bold, colour, italic, space_after)."""
    frame = slide.shapes.add_textbox(Emu(box.left), Emu(box.top), Emu(box.width), Emu(box.height)).text_frame
    frame.word_wrap, frame.vertical_anchor = True, anchor
    for n, (text, size, options) in enumerate(lines):
        paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        paragraph.alignment = align
        paragraph.space_after = Pt(options.get("space_after", 6))
        run = paragraph.add_run()
        run.text = plain_text(text)
        run.font.size, run.font.bold, run.font.italic = Pt(size), options.get("bold"), options.get("italic")
        if colour := options.get("colour"):
            run.font.color.rgb = colour


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG header."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def add_picture(slide: Slide, png: bytes, box: Box) -> None:
    """The image as large as fits in the box, keeping its shape, centred across and at the top."""
    width, height = png_size(png)
    scale = min(box.width / width, box.height / height)
    shown_width, shown_height = int(width * scale), int(height * scale)
    slide.shapes.add_picture(io.BytesIO(png), Emu(box.left + (box.width - shown_width) // 2), Emu(box.top),
                             Emu(shown_width), Emu(shown_height))


def add_table(slide: Slide, box: Box, header: list[str], rows: list[list[str]], widths: list[float],
              size: int = 14) -> None:
    """A table with a header row; `widths` are the columns' shares of the box's width."""
    shape = slide.shapes.add_table(len(rows) + 1, len(header), Emu(box.left), Emu(box.top), Emu(box.width),
                                   Emu(min(box.height, Inches(0.45) * (len(rows) + 1))))
    table = shape.table
    for index, share in enumerate(widths):
        table.columns[index].width = Emu(int(box.width * share / sum(widths)))
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text = plain_text(value)
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size, run.font.bold = Pt(size), r == 0


def set_notes(slide: Slide, text: str, *, append: bool = False) -> None:
    """The slide's speaker notes become `text` (or gain it at their end, with `append`)."""
    frame = slide.notes_slide.notes_text_frame
    assert frame is not None  # python-pptx gives every notes slide it makes a body
    frame.text = frame.text + plain_text(text) if append else plain_text(text)


def to_bytes(deck: Deck) -> bytes:
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()
