"""Ugly real-world files: one CRM export's content written every way spreadsheets and CRMs write
it (a byte-order mark, Windows line ends, semicolons, tabs, quoted commas and semicolons, US and
European dates, decimal commas, currency signs, words in any case, blank cells, duplicate rows,
Latin-1), and a call log the same way. Every good value must land on the right call, and every
bad one be quarantined with a reason that names the column, the value and the fix.
The 1 GB file is in bench/exports.py (streamed: peak memory far below the file's size)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from ingest.call_logs import ingest_call_log
from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from tests.export_files import balanced, reasons, rows, write

# call, stage, deal value, NPS, closed, note: what every variant below says
CANONICAL = [
    ("c-1", "Closed Won", 1250.5, 9, datetime(2026, 3, 13, 14, 5), "Zoë Smith, VIP"),
    ("c-2", "Closed Lost", None, 6, datetime(2026, 3, 4, 9, 0), "left; voicemail"),
    ("c-3", "Closed Won", 99.0, None, datetime(2026, 3, 5, 0, 0), ""),
    ("c-4", "Closed Lost", 0.0, 10, datetime(2026, 3, 20, 17, 30), 'said "call back"'),
]
MAPPING = '''[source]
name = "crm"
join_on = "call_id"
{options}
[columns]
call_id = "Call ID"
booked = "Stage"
deal_value_usd = "Amount"
nps = "NPS"
recorded_at = "Closed"

[values]
booked = {{ true = ["Closed Won"], false = ["Closed Lost"] }}
'''


def _quoted(value: str, delimiter: str) -> str:
    if any(c in value for c in (delimiter, '"', ",", ";", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _export(delimiter: str, line_end: str, stage: Callable[[str], str], amount: Callable[[float], str],
            closed: Callable[[datetime], str], duplicate: bool = False) -> str:
    header = delimiter.join(["Call ID", "Stage", "Amount", "NPS", "Closed", "Note"])
    lines = [delimiter.join(_quoted(v, delimiter) for v in (
        call, stage(word), "" if value is None else amount(value), "" if nps is None else str(nps), closed(when), note))
        for call, word, value, nps, when, note in CANONICAL]
    if duplicate:
        lines.insert(2, lines[0])
    return line_end.join([header, *lines]) + line_end


VARIANTS: dict[str, tuple[str, str, str]] = {  # name: (file text, mapping options, encoding)
    "bom-crlf-us-dollars": ("\ufeff" + _export(",", "\r\n", str, lambda v: f"${v:,.2f}",
                                               lambda d: f"{d.month}/{d.day}/{d.year} {d:%I:%M %p}"), "", "utf-8"),
    "semicolons-decimal-commas-eu-dates": (_export(";", "\n", str.upper,
                                                   lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","),
                                                   lambda d: f"{d:%d.%m.%Y %H:%M}"), "", "utf-8"),
    "tabs-iso-offsets-lowercase": (_export("\t", "\n", str.lower, lambda v: f"{v}",
                                           lambda d: f"{d:%Y-%m-%dT%H:%M:%S}+00:00"), "", "utf-8"),
    "latin1-eu-slashes-duplicates": (_export(",", "\r\n", str, lambda v: f"£{v:.2f}".replace(".", ","),
                                             lambda d: f"{d:%d/%m/%Y %H:%M}", duplicate=True),
                                     'encoding = "latin-1"\ndecimal = ","\n', "latin-1"),
    "unix-milliseconds-mixed-case": (_export(",", "\n", str.title, lambda v: f"{v:.1f}",
                                             lambda d: str(int((d - datetime(1970, 1, 1)).total_seconds() * 1000))),
                                     "", "utf-8"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_good_value_lands_on_its_call(tmp_path: Path, warehouse_file: Path, variant: str) -> None:
    text, options, encoding = VARIANTS[variant]
    export = write(tmp_path, "export.csv", text.encode(encoding))
    mapping = write(tmp_path, "m.toml", MAPPING.format(options=options))
    summary = ingest_outcomes(export, mapping, db_path=warehouse_file)
    assert balanced(summary) and summary.quarantined == 0, reasons(warehouse_file, summary.run_id)
    assert summary.read == len(CANONICAL) + ("duplicates" in variant)
    stored = rows(warehouse_file, "SELECT external_key, booked, deal_value_usd, nps, recorded_at, extra->>'Note' "
                  "FROM outcomes ORDER BY external_key")
    assert stored == [(call, word == "Closed Won", value, nps, when, note or None)
                      for call, word, value, nps, when, note in CANONICAL]


def test_every_bad_value_is_quarantined_with_a_reason_to_act_on(tmp_path: Path, warehouse_file: Path) -> None:
    text = ("Call ID;Stage;Amount;NPS;Closed;Note\r\n"
            "c-1;Closed Won;1.250,50;9;13.03.2026 14:05;fine\r\n"
            "c-2;Maybe;;6;04.03.2026;an unknown word\r\n"
            "c-3;closed won;lots;;05.03.2026;not a number\r\n"
            "c-4;Closed Lost;0;11;20.03.2026;NPS out of range\r\n"
            "c-5;Closed Lost;0;7;31.02.2026;no such day\r\n"
            ";Closed Won;10;8;01.03.2026;no call id\r\n"
            "c-7;Closed Won;10;8,5;01.03.2026;half an NPS\r\n")
    summary = ingest_outcomes(write(tmp_path, "bad.csv", text), write(tmp_path, "m.toml", MAPPING.format(options="")),
                              db_path=warehouse_file)
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (7, 1, 6)
    assert rows(warehouse_file, "SELECT external_key, deal_value_usd FROM outcomes") == [("c-1", 1250.5)]
    assert reasons(warehouse_file, summary.run_id) == [
        ("row 2", "booked: Maybe in column 'Stage' is none of Closed Won (true), Closed Lost (false)"),
        ("row 3", "deal_value_usd: lots in column 'Amount' is not a number"),
        ("row 4", "nps 11 is outside 0–10"),
        ("row 5", "recorded_at: 31.02.2026 in column 'Closed' is not a date"),
        ("row 6", "no call_id in column 'Call ID'"),
        ("row 7", "nps 8,5 in column 'NPS' is not a whole number"),
    ]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\xef\xbb\xbf\r\n", "is empty"),
    (b"Call ID,Stage\nc-1,Caf\xe9\n", r"is not UTF-8 \(line 2\)"),
])
def test_files_that_cannot_be_read_are_one_sentence(tmp_path: Path, warehouse_file: Path, content: bytes,
                                                    message: str) -> None:
    with pytest.raises(IngestError, match=message):
        ingest_outcomes(write(tmp_path, "x.csv", content), write(tmp_path, "m.toml", MAPPING.format(options="")),
                        db_path=warehouse_file)


def test_a_header_only_export_loads_nothing_and_says_so(tmp_path: Path, warehouse_file: Path) -> None:
    summary = ingest_outcomes(write(tmp_path, "x.csv", "Call ID,Stage,Amount,NPS,Closed\r\n"),
                              write(tmp_path, "m.toml", MAPPING.format(options="")), db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (0, 0, 0)


def test_an_ugly_call_log_lands_turn_by_turn(tmp_path: Path, warehouse_file: Path) -> None:
    """Latin-1, semicolons, CRLF, speakers in any case, a quoted semicolon, blank call cells on later
    rows, a duplicated turn row and a bad speaker."""
    text = ("Call;Agent;Start;Turn;Who;Said\r\n"
            "c-1;Salon Bot;13.03.2026 14:05;0;ASSISTANT;Bonjour, ça va?\r\n"
            'c-1;;;1;User;"Yes; a cut please"\r\n'
            'c-1;;;1;User;"Yes; a cut please"\r\n'
            "c-1;;;2;Narrator;(music)\r\n"
            "c-1;;;3;assistant;Friday at 3?\r\n")
    mapping = ('[source]\nname = "salon"\nlayout = "turns"\nencoding = "latin-1"\n[columns]\ncall_id = "Call"\n'
               'agent = "Agent"\nstarted_at = "Start"\nturn_index = "Turn"\nspeaker = "Who"\ntext = "Said"\n')
    summary = ingest_call_log(write(tmp_path, "log.csv", text.encode("latin-1")), write(tmp_path, "m.toml", mapping),
                              db_path=warehouse_file)
    assert balanced(summary) and (summary.read, summary.loaded, summary.quarantined) == (5, 3, 2)
    assert rows(warehouse_file, "SELECT agent, started_at FROM calls") == [("Salon Bot", datetime(2026, 3, 13, 14, 5))]
    assert rows(warehouse_file, "SELECT turn_index, speaker, text FROM turns ORDER BY turn_index") == [
        (0, "agent", "Bonjour, ça va?"), (1, "customer", "Yes; a cut please"), (3, "agent", "Friday at 3?")]
    assert [r for _, r in reasons(warehouse_file, summary.run_id)] == [
        "turn 1 of call c-1 appears on an earlier row too",
        "speaker Narrator in column 'Who' is not in [speakers] (customer: customer, user, caller, human, client; "
        "agent: agent, assistant, bot, ai; skip: system, developer, tool, function)"]
