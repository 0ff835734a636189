"""docs/outcomes.md stays true: its worked examples are the checked-in fixtures, shown as they
are, and loading them gives the counts, values and refusals the page prints."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from ingest.outcomes import ingest_outcomes
from warehouse.ingest_runs import quarantined

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "outcomes.md").read_text()
COMMAND = re.compile(r"^\$ python -m ingest outcomes (\S+) --mapping (\S+)\n((?:.+\n)+?)```", re.M)
EXAMPLES = COMMAND.findall(DOC)


def code_after(marker: str) -> str:
    """The first fenced block after `marker` in the page."""
    start = DOC.index(marker)
    opened = DOC.index("```", start)
    body = DOC.index("\n", opened) + 1
    return DOC[body:DOC.index("```", body)]


def test_the_page_has_both_worked_examples() -> None:
    assert [Path(data).name for data, _, _ in EXAMPLES] == ["hubspot_deals.csv", "salesforce_opportunities.csv"]


@pytest.mark.parametrize(("data", "mapping", "printed"), EXAMPLES, ids=lambda v: Path(v).stem if "/" in v else "")
def test_each_example_loads_as_the_page_says(warehouse_file: Path, data: str, mapping: str, printed: str) -> None:
    data_path, mapping_path = ROOT / data, ROOT / mapping
    encoding = "latin-1" if 'encoding = "latin-1"' in mapping_path.read_text() else "utf-8-sig"
    shown_data = data_path.read_bytes().decode(encoding).replace("\r\n", "\n")
    assert code_after(f"`{data}`") == shown_data
    shown_mapping = "\n".join(line for line in mapping_path.read_text().splitlines() if not line.startswith("#"))
    assert code_after(f"`{mapping_path.name}`") == shown_mapping.strip() + "\n"
    summary = ingest_outcomes(data_path, mapping_path, db_path=warehouse_file)
    table = dict(line.split(None, 1) for line in printed.splitlines() if not line.startswith(("run ", "seconds")))
    assert table.pop("read") == f"{summary.read} rows"
    assert {k: int(v) for k, v in table.items() if k not in ("kind", "matching", "refused")} == {
        "loaded": summary.loaded, "updated": summary.updated, "unchanged": summary.unchanged,
        "quarantined": summary.quarantined, "unmatched": summary.unmatched}
    assert summary.read == summary.loaded + summary.updated + summary.unchanged + summary.quarantined
    assert table["matching"] == "no call yet: " + ", ".join(summary.unmatched_keys)


def test_the_hubspot_values_and_refusals_are_the_pages(tmp_path: Path, warehouse_file: Path) -> None:
    data, mapping = (ROOT / p for p in EXAMPLES[0][:2])
    summary = ingest_outcomes(data, mapping, db_path=warehouse_file)
    section = DOC[DOC.index("## Worked example: a HubSpot"):DOC.index("## Worked example: a Salesforce")]
    documented = [[cell.strip() for cell in line.strip("|").split("|")]
                  for line in section.splitlines() if re.match(r"^\| \d", line)]
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        stored = con.execute("SELECT record_id, external_key, booked, stage, deal_value_usd, nps, "
                             "strftime(recorded_at, '%Y-%m-%d %H:%M') FROM outcomes ORDER BY record_id").fetchall()
    shown = {None: "", True: "true", False: "false"}
    assert documented == [[r[0], r[1], shown[r[2]] if r[2] is not None else "(pending)", r[3],
                           "" if r[4] is None else f"{r[4]:g}", "" if r[5] is None else str(r[5]), r[6] or ""]
                          for r in stored]
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    for location, reason in zip(refused["location"], refused["reason"], strict=True):
        assert f"  {location}  {reason}\n" in section
    fixed = tmp_path / "hubspot.toml"
    fixed.write_text(mapping.read_text().replace('pending = ["', 'pending = ["Decision maker bought-in", "'))
    again = ingest_outcomes(data, fixed, db_path=warehouse_file)
    assert "(`loaded 1`, `unchanged 5`, `quarantined 1`)" in section
    assert (again.loaded, again.unchanged, again.quarantined) == (1, 5, 1)


def test_the_salesforce_values_are_the_pages(warehouse_file: Path) -> None:
    data, mapping = (ROOT / p for p in EXAMPLES[1][:2])
    summary = ingest_outcomes(data, mapping, db_path=warehouse_file)
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        stored = con.execute("SELECT external_key, booked, deal_value_usd, csat, recorded_at::DATE::VARCHAR, "
                             "extra->>'Account Name' FROM outcomes ORDER BY external_key").fetchall()
    assert stored == [("call-201", True, 1250.0, 5, "2026-11-03", "Café Rouge"),
                      ("call-202", False, 0.0, 2, "2026-11-13", "Müller GmbH"),
                      ("call-203", None, 480.0, 4, None, "García & Co")]
    (reason,) = quarantined(summary.run_id, db_path=warehouse_file)["reason"].to_list()
    assert f"Row 4 is refused: `{reason}`" in DOC
