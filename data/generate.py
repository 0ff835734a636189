"""The deterministic demo-data generator: `python -m data.generate --out DIR [--calls N] [--seed S]`.

It writes the files a real deployment would hand to ingest, so the demo warehouse is built by the
real ingest code:

- `traces/traces-NNN.jsonl`: OTLP/JSON as the OpenTelemetry Collector's file exporter writes it, one
  ExportTraceServiceRequest per line, a few calls per line, about 100k spans per file, mapped as
  docs/trace-format.md says. One line in 33 of the first file (~3%) carries its LLM spans in
  OpenInference attributes instead of GenAI ones, so both conventions are exercised.
- `outcomes/crm.csv` + `crm.toml`, `outcomes/survey.csv` + `survey.toml`: the CRM's and the survey
  tool's exports in their own column names, with the mapping files ingest reads them by.
- `prompts/<agent>/<version>.md`: prompt files with TOML front matter.
- `ground_truth.jsonl`: per call, what was planted (failure-mode labels from the taxonomy in
  warehouse/migrations/0002, and the hallucinated value next to the tool's true one). The
  hallucination's `stated` is the text as spoken; `tool_result` the value as the tool's JSON holds it.

The planted patterns and their dates are described in `data/scenario.py`. Same seed and arguments
give byte-identical files: every day draws from its own PCG64 stream seeded by (seed, day number),
and output is written in call order, one day at a time, so memory stays bounded at any size.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from data import outcomes, scenario
from data.dialogue import Conversation, converse
from data.dice import Dice
from data.prompts import write_prompts
from data.scenario import DEMO_END_DAY, Timeline, timeline
from data.spans import CallMeta, encode_call

CALLS_PER_LINE = 4
SPANS_PER_FILE = 100_000
OPENINFERENCE_EVERY = 33


def daily_volumes(calls: int, first_day: date, days: int, rng: np.random.Generator) -> np.ndarray:
    """Calls per (day, agent): each agent's weekday pattern with a little day-to-day noise, no trend;
    exactly `calls` in total."""
    weights = np.array([[agent.share * agent.weekday_volume[(first_day + timedelta(days=d)).weekday()]
                         for agent in scenario.AGENTS] for d in range(days)])
    weights *= rng.lognormal(0.0, 0.08, size=weights.shape)
    return rng.multinomial(calls, (weights / weights.sum()).ravel()).reshape(weights.shape)


def _start_offsets_ms(count: int, dice: Dice) -> list[int]:
    """Milliseconds after midnight UTC for `count` calls, shaped by the hourly volume."""
    cumulative = list(itertools.accumulate(scenario.HOURLY_VOLUME))
    offsets = []
    for _ in range(count):
        hour = scenario.FIRST_HOUR_UTC + bisect.bisect_right(cumulative, dice.uniform() * cumulative[-1])
        offsets.append(hour * 3_600_000 + int(dice.uniform() * 3_600_000))
    return offsets


def _midnight_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@dataclass
class PlannedCall:
    day: date
    meta: CallMeta
    conversation: Conversation


def _day_calls(day: date, counts: np.ndarray, first_number: int, plan: Timeline, dice: Dice,
               recorded: bool) -> Iterator[PlannedCall]:
    """One day's calls in start order, numbered on from `first_number`; `recorded`: whether they
    name a recording."""
    midnight_ms = _midnight_ms(day)
    starts = sorted((offset, agent_index) for agent_index, count in enumerate(counts)
                    for offset in _start_offsets_ms(int(count), dice))
    for number, (offset, agent_index) in enumerate(starts, start=first_number):
        agent = scenario.AGENTS[agent_index].name
        started = datetime.fromtimestamp((midnight_ms + offset) / 1000, UTC)
        version = plan.prompt_version(agent, started)
        call_id, trace_id = f"call-{number:07d}", dice.hex(16)
        meta = CallMeta(call_id, trace_id, agent, version, plan.model(agent, started), midnight_ms + offset,
                        plan.llm_slowdown(day), recorded, plan.stt_slowdown(day),
                        plan.end_of_turn_setting(agent, started))
        yield PlannedCall(day, meta, converse(agent, version, day, dice))


class TraceWriter:
    """Appends ExportTraceServiceRequest lines, starting a new traces-NNN.jsonl once a file holds
    SPANS_PER_FILE spans."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("traces-*.jsonl"):
            stale.unlink()
        self.directory = directory
        self.files = 0
        self.spans = 0
        self._line_in_file = 0
        self._spans_in_file = 0
        self._handle: IO[bytes] | None = None

    def openinference_line(self) -> bool:
        """Whether the next line is one of the first file's OpenInference lines."""
        next_file = self.files if self._handle else self.files + 1
        return next_file == 1 and self._line_in_file % OPENINFERENCE_EVERY == OPENINFERENCE_EVERY // 2

    def write(self, resource_spans: list[dict], span_count: int) -> None:
        if self._handle is None:
            self.files += 1
            self._handle = open(self.directory / f"traces-{self.files:03d}.jsonl", "wb")  # noqa: SIM115
        self._handle.write(orjson.dumps({"resourceSpans": resource_spans}) + b"\n")
        self._line_in_file += 1
        self._spans_in_file += span_count
        self.spans += span_count
        if self._spans_in_file >= SPANS_PER_FILE:
            self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._line_in_file = self._spans_in_file = 0


def _batched(items: Iterable[PlannedCall], size: int) -> Iterator[list[PlannedCall]]:
    batch: list[PlannedCall] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ground_truth(call: PlannedCall, labels: set[str]) -> bytes:
    meta = call.meta
    return orjson.dumps({"call_id": meta.call_id, "agent": meta.agent, "day": call.day.isoformat(),
                         "prompt_version": meta.prompt_version, "model": meta.model, "planted": sorted(labels),
                         "hallucination": call.conversation.hallucination}) + b"\n"


def _csv_writer(stack: ExitStack, path: Path, header: tuple[str, ...]) -> Any:
    writer = csv.writer(stack.enter_context(path.open("w", newline="")), lineterminator="\n")
    writer.writerow(header)
    return writer


def _day_stream(seed: int, day_number: int) -> Dice:
    return Dice(np.random.Generator(np.random.PCG64([seed, day_number])))


def generate(out_dir: Path, calls: int = 20_000, seed: int = 7, days: int = 90,
             end_day: date = DEMO_END_DAY, recorded_days: int = 0) -> dict:
    """Write the demo data set for `days` days ending on `end_day` into `out_dir` (replacing an
    earlier one there); return a summary of what was written. The calls of the last
    `recorded_days` days name a recording (`call-0001234.ogg` in the recordings folder), which
    data/audio.py synthesizes after the warehouse is built."""
    plan = timeline(end_day, days)
    volumes = daily_volumes(calls, plan.first_day, days, np.random.Generator(np.random.PCG64(seed)))
    prompt_files = write_prompts(out_dir / "prompts", plan)
    outcome_dir = out_dir / "outcomes"
    outcome_dir.mkdir(parents=True, exist_ok=True)
    (outcome_dir / "crm.toml").write_text(outcomes.CRM_MAPPING)
    (outcome_dir / "survey.toml").write_text(outcomes.SURVEY_MAPPING)
    traces = TraceWriter(out_dir / "traces")
    surveys, first_number = 0, 1
    with ExitStack() as stack:
        stack.callback(traces.close)
        crm = _csv_writer(stack, outcome_dir / "crm.csv", outcomes.CRM_COLUMNS)
        survey = _csv_writer(stack, outcome_dir / "survey.csv", outcomes.SURVEY_COLUMNS)
        truth = stack.enter_context(open(out_dir / "ground_truth.jsonl", "wb"))
        for day_number in range(days):
            dice = _day_stream(seed, day_number)
            day = plan.first_day + timedelta(days=day_number)
            recorded = day_number >= days - recorded_days
            planned = _day_calls(day, volumes[day_number], first_number, plan, dice, recorded)
            for batch in _batched(planned, CALLS_PER_LINE):
                openinference = traces.openinference_line()
                encoded = [encode_call(call.conversation, call.meta, dice, openinference) for call in batch]
                traces.write([item.resource_spans for item in encoded], sum(item.span_count for item in encoded))
                for call, item in zip(batch, encoded, strict=True):
                    labels = set(call.conversation.labels)
                    if max(item.latencies_ms, default=0) > scenario.SLOW_TURN_MS:
                        labels.add("slow_turn")
                    crm.writerow(outcomes.crm_row(call.meta.call_id, call.meta.agent, call.conversation,
                                                  item.ended_ms, dice))
                    answer = outcomes.survey_row(surveys + 1, call.meta.trace_id, call.conversation, labels,
                                                 item.ended_ms, dice)
                    if answer:
                        survey.writerow(answer)
                        surveys += 1
                    truth.write(_ground_truth(call, labels))
            first_number += int(volumes[day_number].sum())
        first_ms = _midnight_ms(plan.first_day)
        crm.writerows(outcomes.orphan_rows(calls + 1, first_ms, first_ms + days * 86_400_000,
                                           _day_stream(seed, days)))
    return {"calls": calls, "spans": traces.spans, "trace_files": traces.files,
            "crm_rows": calls + outcomes.ORPHAN_ROWS, "orphan_crm_rows": outcomes.ORPHAN_ROWS,
            "survey_rows": surveys, "prompt_files": prompt_files,
            "first_day": plan.first_day.isoformat(), "last_day": plan.end_day.isoformat(), "out_dir": str(out_dir)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the data set into")
    parser.add_argument("--calls", type=int, default=20_000, help="number of calls (default 20,000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--days", type=int, default=90, help="days of calls, ending on the demo end day")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.days < 1:
        parser.error("--calls and --days must be at least 1")
    began = time.perf_counter()
    summary = generate(args.out, calls=args.calls, seed=args.seed, days=args.days)
    print(f"{summary['calls']:,} calls ({summary['first_day']} to {summary['last_day']}), {summary['spans']:,} spans "
          f"in {summary['trace_files']} trace files, {summary['crm_rows']:,} CRM rows, {summary['survey_rows']:,} "
          f"survey rows, {summary['prompt_files']} prompt files -> {summary['out_dir']} "
          f"in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
