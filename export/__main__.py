"""`python -m export deck --quarter 2026Q3 --out deck.pptx [--template FILE.pptx] [--agent A]
[--quote CALL_ID@LINE]`: the quarterly strategy deck from the command line. User mistakes get one
clear line on stderr and exit code 2 (warehouse.errors.run_cli); a bug shows its traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.deck import DeckRefused, DeckRequest, Quote, build
from export.quarter import Quarter
from export.redaction import SETTING, enabled
from warehouse.errors import run_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export", description="Exports for quarterly strategy decks.")
    commands = parser.add_subparsers(dest="command", required=True)
    deck = commands.add_parser("deck", help="Build the quarterly PowerPoint deck.")
    deck.add_argument("--quarter", required=True, help="The quarter, like 2026Q3.")
    deck.add_argument("--out", required=True, type=Path, help="Where to write the .pptx file.")
    deck.add_argument("--template", type=Path, help="A .pptx whose master and layouts the deck uses (branding).")
    deck.add_argument("--agent", action="append", default=[], help="Only this agent's calls (repeat for more).")
    deck.add_argument("--quote", action="append", default=[], metavar="CALL_ID@LINE",
                      help="Add a slide quoting a line of a call's transcript, picked by its time as the "
                           "transcript shows it: call-00042@0:07 (with the speaker when two lines start in the "
                           "same second: 'call-00042@0:07 Caller'). Masked for PII. Repeat for more.")
    return parser


def _progress(step: str, done: float) -> None:
    print(f"[{done:4.0%}] {step}", file=sys.stderr)


def _deck(args: argparse.Namespace) -> int:
    request = DeckRequest(Quarter.parse(args.quarter), tuple(args.agent), args.template,
                          tuple(Quote.picked(q) for q in args.quote))
    pptx = build(request, _progress)
    try:
        args.out.write_bytes(pptx)
    except OSError as error:
        raise DeckRefused(f"Cannot write {args.out}: {error.strerror}.") from error
    masked = "PII masked" if enabled() else f"PII NOT masked ({SETTING}=0)"
    print(f"Wrote {args.out} ({len(pptx) / 1e6:.1f} MB, {masked}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_cli(lambda: _deck(args))


if __name__ == "__main__":
    sys.exit(main())
