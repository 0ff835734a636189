"""The Judges page lists every judge file and what each version's runs judged."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from judges.spec import all_judges, load_judge

APP = Path(__file__).resolve().parent.parent / "app.py"


def judges_page() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/judges.py").run()
    assert not at.exception
    return at


def test_lists_every_judge_and_the_demo_run_of_the_rules_judge(demo_warehouse: Path) -> None:
    at = judges_page()
    available, versions, history = (frame.value for frame in at.dataframe)
    assert sorted(available["Judge"]) == sorted(j.name for j in all_judges())
    rules = versions[versions["judge_name"] == "rules"].iloc[0]
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    judged, failed = con.execute(
        "SELECT count(DISTINCT call_id) FILTER (status = 'ok'), count(*) FILTER (status = 'failed') FROM judgements"
    ).fetchone()
    con.close()
    assert rules["judge_version"] == load_judge("rules").version
    assert (rules["calls_judged"], rules["failures"]) == (judged, failed)
    assert len(history) >= 1


def test_before_any_run_the_page_says_how_to_start(warehouse_file: Path) -> None:
    at = judges_page()
    assert "No judge has run yet" in at.info[0].value
    assert "python -m judges run" in at.code[0].value


def test_without_the_llm_extra_the_page_names_the_command_that_installs_it(
        demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def info_text() -> str:
        return " ".join(info.value for info in judges_page().info)

    assert "pip install -e '.[llm]'" not in info_text()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "anthropic" else find_spec(name, *rest))
    assert "`.venv/bin/pip install -e '.[llm]'` installs them" in info_text()
