"""Customer text shown as written and nothing more: the escaping helper (present/markdown.py) checked
against a real CommonMark renderer (markdown-it-py, HTML allowed, as hostile as a renderer gets), CSV
cells that a spreadsheet would run as formulas, the review summary's Markdown, and the CLIs' output
with terminal escape sequences in the data. Every page in a real browser: test_hostile_browser.py."""

from __future__ import annotations

import io
import re
import unicodedata
from html.parser import HTMLParser

import polars as pl
import pytest
from markdown_it import MarkdownIt

from export.table_files import csv_bytes
from present.markdown import WORD_JOINER, code_span, escape_markdown, one_line, plain_text
from warehouse.errors import CallboardError, run_cli

HOSTILE = [
    "<img src=http://127.0.0.2:9/x onerror=alert(1)>",
    "<script>window.__pwned = 1</script>",
    "[x](http://127.0.0.2:9/)",
    "![i](http://127.0.0.2:9/i.png)",
    "bare http://127.0.0.2:9/y and www.example.com and a@b.example",
    "<http://127.0.0.2:9/auto>",
    "**bold** _it_ `code` $x^2$ :red[hi] :smile: # title",
    "| a | b |\n|---|---|",
    "1. list\n- item\n> quote\n    indented\n===",
    "&lt;b&gt; &#60;i&#62;",
    "\\<img src=x>",
    "evil\u202e agent",
    "red \x1b[31mtext\x1b[0m title \x1b]0;owned\x07 link \x1b]8;;http://127.0.0.2:9/\x1b\\here\x1b]8;;\x1b\\",
]
RIGHT_TO_LEFT = "שלום 42"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
AUTOLINK_LITERAL = re.compile(r"(?i)(https?://|\bwww\.|[-.+\w]+@[-\w]+\.)")  # GFM's autolink starts


class _Rendered(HTMLParser):
    """The tags and the text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def render(markdown: str) -> _Rendered:
    parsed = _Rendered()
    parsed.feed(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))
    return parsed


def shown(text: str) -> str:
    """What a reader sees of `text`: without the invisible joiners and isolates the helper adds."""
    return re.sub(f"[{WORD_JOINER}\u2068\u2069]", "", text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_its_own_letters_and_nothing_else(text: str) -> None:
    page = render(escape_markdown(text))
    assert set(page.tags) <= {"p", "br"}, page.tags
    expected = plain_text(text)
    assert shown(" ".join("".join(page.text).split())) == " ".join(expected.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_no_address_in_the_text_is_left_for_autolinking(text: str) -> None:
    rendered = "".join(render(escape_markdown(text)).text)
    assert not AUTOLINK_LITERAL.search(rendered), rendered
    assert "127.0.0.2:9" not in rendered or WORD_JOINER in rendered


def test_controls_and_bidi_overrides_are_gone_and_escape_sequences_leave_no_trace() -> None:
    text = plain_text(HOSTILE[-1] + " " + HOSTILE[-2])
    assert not any(unicodedata.category(ch) == "Cc" for ch in text)
    assert not set(BIDI_CONTROLS) & set(text)
    assert text == "red text title  link here evil agent"


def test_right_to_left_text_is_isolated_per_line_and_left_to_right_text_is_not_touched() -> None:
    assert plain_text(f"{RIGHT_TO_LEFT}\nplain") == f"\u2068{RIGHT_TO_LEFT}\u2069\nplain"
    assert escape_markdown("plain words") == "plain words"
    assert escape_markdown(f"x{BIDI_CONTROLS}y") == "xy"


def test_one_line_and_code_span_keep_to_one_line() -> None:
    assert one_line("said | then\nhung up") == "said \\| then hung up"
    assert code_span("a`b\nc\u202ed") == "`ab cd`"
    assert escape_markdown(None) == one_line(None) == plain_text(None) == ""


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://127.0.0.2:9\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_csv_cell_that_starts_like_a_formula_is_written_as_text(cell: str) -> None:
    frame = pl.DataFrame({"note": [cell, "fine"], "labels": [[cell, "ok"], []], "delta": [-1.5, 2.0]})
    back = pl.read_csv(io.BytesIO(csv_bytes(frame)))
    assert back["note"].to_list() == ["'" + cell, "fine"]
    assert back["labels"].to_list() == ["'" + cell + "; ok", ""]
    assert back["delta"].to_list() == [-1.5, 2.0], "figures stay figures"


def test_the_review_summary_markdown_escapes_names_and_notes(tmp_path, monkeypatch) -> None:
    from datetime import date

    from present.review_summary import to_markdown
    from tests import synthetic
    from warehouse import review_summary, reviews

    warehouse = tmp_path / "callboard.duckdb"
    monkeypatch.setenv("CALLBOARD_DB", str(warehouse))
    synthetic.build(warehouse, calls=40)
    name = "<img src=http://127.0.0.2:9/n>"
    session_id = reviews.create_session(reviews.SessionSpec(name, date(2026, 9, 1), date(2026, 10, 30), seed=3,
                                                            sample_size=5))  # fmt: skip
    call_id = reviews.get_session(session_id).call_ids[0]
    reviews.save_review(reviews.Review(session_id, call_id, "[me](http://127.0.0.2:9/r)", 2, False,
                                       notes="![i](http://127.0.0.2:9/i.png) see http://127.0.0.2:9/y", test_case=True))
    reviews.save_decisions(session_id, "<script>x()</script>\n- fix it")
    page = render(to_markdown(review_summary.session_summary(session_id)))
    assert set(page.tags) <= {"h1", "h2", "ul", "li", "p", "br", "table", "thead", "tbody", "tr", "th", "td", "code"}
    text = "".join(page.text)
    assert name in shown(text) and "<script>x()</script>" in shown(text)
    assert not AUTOLINK_LITERAL.search(text)


def _printing(text: str) -> int:
    print(f"agent {text} done")
    raise CallboardError(f"No agent {text}.")


def test_the_clis_print_data_without_its_terminal_escape_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(lambda: _printing(HOSTILE[-1] + " " + HOSTILE[-2])) == 2
    out, err = capsys.readouterr()
    for stream in (out, err):
        assert not re.search(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]", stream), repr(stream)
    assert out == "agent red text title  link here evil agent done\n"
    assert err == "error: No agent red text title  link here evil agent.\n"


def test_the_ingest_cli_lists_a_refused_record_without_its_escapes(warehouse_file, capsys) -> None:
    from datetime import datetime

    from ingest.cli import main
    from warehouse.db import transaction
    from warehouse.migrate import migrate

    with transaction(warehouse_file) as con:
        migrate(con)
        con.execute("INSERT INTO ingest_runs (run_id, kind, started_at, records_quarantined, status) "
                    "VALUES ('run-1', 'traces', ?, 1, 'done')", [datetime(2026, 10, 1)])
        con.execute("INSERT INTO quarantine VALUES ('run-1', ?, 'line 3', ?, ?, ?)",
                    ["calls\x1b]0;owned\x07.jsonl", "bad \x1b[2Jline\x9b1m", b"{}", datetime(2026, 10, 1)])
    assert main(["quarantine", "run-1"]) == 0
    out = capsys.readouterr().out
    assert "calls.jsonl\n" in out and "bad line1m" in out
    assert not re.search("[\x1b\x07\x9b]", out), repr(out)


def test_the_csv_downloads_of_the_pages_neutralise_formulas(tmp_path, monkeypatch) -> None:
    """The failure-mode calls CSV and the review summary's CSV, clicked as on the page, over the
    hostile warehouse: a model name, a reviewer and a note that would run as formulas."""
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import app_test as app_test_module

    from tests import hostile_fixture
    from tests.test_export_leaks import APP, RecordingFiles, downloads

    warehouse, session_id, _ = hostile_fixture.build(tmp_path)
    monkeypatch.setenv("CALLBOARD_DB", str(warehouse))
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingFiles)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    start, end = hostile_fixture.PERIOD
    files = {}
    for page, params in (("app_pages/failure_modes.py", {"start": str(start), "end": str(end)}),
                         ("app_pages/review_summary.py", {"session": session_id})):
        at.query_params.update(params)
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        files |= {f"{page}: {label}": payload for label, payload in downloads(at).items() if "CSV" in label}
    cells = {name: [c for row in pl.read_csv(io.BytesIO(payload), infer_schema=False).iter_rows() for c in row if c]
             for name, payload in files.items()}  # fmt: skip
    calls = [c for name, found in cells.items() if name.startswith("app_pages/failure_modes.py") for c in found]
    summary = next(c for name, c in cells.items() if name.startswith("app_pages/review_summary.py: Download calls"))
    assert "'" + hostile_fixture.FORMULA_MODEL in calls
    assert {"'" + hostile_fixture.FORMULA_NOTE, "'-ana"} <= set(summary)
    for name, found in cells.items():
        assert not [c for c in found if re.match(r"[=+@\t\r]|-\D", c)], name
