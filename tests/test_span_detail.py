"""A step of a call in full (warehouse/span_detail.py, present/waterfall.py, the call view): plain
labels, and for known spans of the demo the fields the raw rows hold."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from present.markdown import escape_markdown
from present.waterfall import SELECTION, steps, waterfall
from tests.independent import _rows
from warehouse.span_detail import span_detail

APP = str(Path(__file__).resolve().parent.parent / "app.py")
JARGON = ("stt", "tts", "llm", "chat ", "execute_tool", "ChatCompletion")


def _spans(**columns: list) -> pl.DataFrame:
    n = len(columns["kind"])
    base = {"span_id": [f"s{i}" for i in range(n)], "name": [None] * n, "tool_name": [None] * n,
            "start_ms": [i * 100 for i in range(n)], "end_ms": [i * 100 + 50 for i in range(n)],
            "duration_ms": [50.0] * n, "is_error": [False] * n, "is_slow": [False] * n, "model": [None] * n,
            "cost_usd": [None] * n, "error_type": [None] * n}  # fmt: skip
    return pl.DataFrame(base | columns)


def test_steps_have_plain_names_not_span_names() -> None:
    spans = _spans(kind=["stt", "llm", "tool", "tts", "eot", "call", "other"],
                   name=["stt", "chat gpt-4.1-mini", "execute_tool get_price", "tts", "end_of_turn", "call", "vad"],
                   tool_name=[None, None, "get_price", None, None, None, None])
    assert steps(spans)["step"].to_list() == ["1 Speech-to-text", "2 Model", "3 Tool: get_price", "4 Speech",
                                              "5 End of turn", "6 Whole call", "7 vad"]
    chart = waterfall(spans).to_dict()
    shown = {row["step"] for row in next(iter(chart["datasets"].values()))}
    assert not any(word in label for label in shown for word in JARGON)
    assert [p["name"] for p in chart["params"]] == [SELECTION]  # a click on a bar selects its step


def _known(path: Path, condition: str) -> dict:
    """One span of the demo with its raw columns, attributes (parsed here) and call."""
    row = _rows(path, f"""SELECT s.*, s.attributes::VARCHAR AS raw, c.agent, c.prompt_version FROM spans s
                          JOIN calls c USING (call_id) WHERE {condition} ORDER BY s.call_id, s.started_at LIMIT 1""")[0]
    return row | {"attributes": json.loads(row["raw"])}


def test_a_model_step_shows_its_messages_system_prompt_tokens_and_cost(demo_warehouse: Path) -> None:
    raw = _known(demo_warehouse, "s.kind = 'llm' AND s.finish_reasons IN ('tool_calls', 'tool_use')")
    step = span_detail(raw["call_id"], raw["span_id"], path=demo_warehouse)
    sent = json.loads(raw["attributes"]["gen_ai.input.messages"])
    answered = json.loads(raw["attributes"]["gen_ai.output.messages"])[0]["parts"][0]
    assert [(m.role, m.text) for m in step.input] == [("Caller", sent[0]["parts"][0]["content"])]
    assert step.output[0].role == "Agent"
    assert step.output[0].text == f"Calls {answered['name']} with {json.dumps(answered['arguments'])}"
    prompt = _rows(demo_warehouse, f"SELECT prompt_text FROM prompt_versions WHERE agent = '{raw['agent']}' "
                                   f"AND version = '{raw['prompt_version']}'")[0]["prompt_text"]
    assert step.system_prompt == prompt and step.system_prompt_source == (
        f"prompt {raw['prompt_version']} of {raw['agent']}")
    assert (step.model, step.input_tokens, step.output_tokens) == (raw["model"], raw["input_tokens"],
                                                                  raw["output_tokens"])
    assert step.cost_usd == pytest.approx(raw["cost_usd"])
    assert step.duration_ms == pytest.approx(raw["duration_ms"]) and step.error is None


def test_a_tool_step_shows_its_arguments_and_result_or_its_error(demo_warehouse: Path) -> None:
    raw = _known(demo_warehouse, "s.kind = 'tool' AND NOT s.is_error")
    step = span_detail(raw["call_id"], raw["span_id"], path=demo_warehouse)
    assert step.input[0].role == "Arguments" and step.input[0].is_data
    assert json.loads(step.input[0].text) == json.loads(raw["attributes"]["gen_ai.tool.call.arguments"])
    assert json.loads(step.output[0].text) == json.loads(raw["attributes"]["gen_ai.tool.call.result"])
    failed = _known(demo_warehouse, "s.kind = 'tool' AND s.is_error")
    broken = span_detail(failed["call_id"], failed["span_id"], path=demo_warehouse)
    assert broken.error == failed["attributes"]["error.type"] and broken.output == []
    assert json.loads(broken.input[0].text) == json.loads(failed["attributes"]["gen_ai.tool.call.arguments"])


def test_speech_steps_show_what_was_heard_and_what_was_said(demo_warehouse: Path) -> None:
    heard = _known(demo_warehouse, "s.kind = 'stt'")
    step = span_detail(heard["call_id"], heard["span_id"], path=demo_warehouse)
    assert [(m.role, m.text) for m in step.output] == [("Heard", heard["attributes"]["output.value"])]
    said = _known(demo_warehouse, "s.kind = 'tts'")
    turn = _rows(demo_warehouse, f"SELECT text FROM turns WHERE call_id = '{said['call_id']}' "
                                 f"AND turn_index = {said['turn_index']}")[0]["text"]
    assert [(m.role, m.text) for m in span_detail(said["call_id"], said["span_id"], path=demo_warehouse).input] == [
        ("To say", turn)]


def test_an_unknown_span_is_none(demo_warehouse: Path) -> None:
    assert span_detail("call-none", "span-none", path=demo_warehouse) is None


def test_the_call_view_opens_a_picked_step(demo_warehouse: Path) -> None:
    st.cache_data.clear()
    raw = _known(demo_warehouse, "s.kind = 'tool' AND NOT s.is_error")
    (day,) = _rows(demo_warehouse, f"SELECT day FROM calls WHERE call_id = '{raw['call_id']}'")[0].values()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"start": str(day), "end": str(day), "q": raw["call_id"], "call": raw["call_id"]})
    at.run()
    at.switch_page("app_pages/calls.py").run()
    picker = at.selectbox(key="calls_call_view_step")
    assert not any(word in label for label in picker.options for word in JARGON)
    picker.set_value(raw["span_id"]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert json.loads(at.code[0].value) == json.loads(raw["attributes"]["gen_ai.tool.call.arguments"])
    assert any(escape_markdown(f"Tool: {raw['tool_name']}") in m.value for m in at.markdown)
