"""Batch judge runs: pick calls, judge them concurrently, store the judgements.

DuckDB lets one process hold the warehouse at a time, so a run never keeps it open while a provider
thinks: `plan_run` reads everything it needs in one short connection, then workers call the
provider with the file closed, and the results are written in small batches, each one short
transaction. Interrupting a run loses at most the unwritten batch; the next run skips every call
this judge version already judged, so it resumes where the last one stopped.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from judges.prompt import render_prompt
from judges.providers import Ask, mask_keys
from judges.rules import judge_with_rules
from judges.spec import JudgeSpec
from judges.verdict import InvalidReply, Verdict, verdict_from_reply
from warehouse.db import connect, transaction
from warehouse.errors import CallboardError
from warehouse.judgements import (
    CallForJudging,
    JudgementRow,
    insert_judgements,
    judged_call_ids,
    load_calls,
    model_price,
    period_call_ids,
    session_call_ids,
)

CHARS_PER_TOKEN = 4  # a rough, conservative rule of thumb for English text and JSON
ESTIMATED_OUTPUT_TOKENS = 250  # a judgement (score, labels, two sentences, a few quotes)
# Results are written every WRITE_EVERY_S (or sooner once WRITE_BATCH_MAX wait): a slow LLM run lands
# a few rows every couple of seconds, a fast rules run a few thousand, and either way the warehouse is
# opened at most every couple of seconds, for milliseconds, so other processes barely wait.
WRITE_EVERY_S = 2.0
WRITE_BATCH_MAX = 2_000


class RunError(CallboardError):
    """A run that cannot start, with a sentence the user can act on."""


@dataclass(frozen=True)
class Selection:
    """Which calls a run is about: a review session's sample, or a period of UTC days."""

    session_id: str | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Plan:
    spec: JudgeSpec
    selected: int  # calls in the selection
    skipped: int  # of those, already judged by this judge version
    calls: list[CallForJudging]  # to judge now (after --limit)
    price: tuple[float, float]  # dollars per million input and output tokens


@dataclass(frozen=True)
class Estimate:
    calls: int
    input_tokens: int
    output_tokens: int
    dollars: float
    ceiling_dollars: float  # if every reply used the judge's max_output_tokens


@dataclass
class JudgeRunSummary:
    run_id: str
    judge: str
    version: str
    selected: int
    skipped: int
    to_judge: int
    judged: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    stopped_at_cap: bool = False
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def judge_price(
    spec: JudgeSpec, con: duckdb.DuckDBPyConnection | None = None, path: Path | None = None
) -> tuple[float, float]:
    """Dollars per million input and output tokens: nothing for the rules judge (which never opens
    the warehouse for it), else the model's list price from `con` or, without one, from the
    warehouse at `path`. A missing price is an error: the cost and the dollar cap depend on it."""
    if spec.provider == "rules":
        return 0.0, 0.0
    if con is None:
        with connect(path) as con:
            return judge_price(spec, con)
    price = model_price(con, spec.provider, spec.model or "")
    if price is None:
        raise RunError(
            f"model_prices has no price for {spec.provider} {spec.model}, so the cost and dollar cap cannot be "
            "computed. Add its price first."
        )
    if not all(math.isfinite(dollars) for dollars in price):
        raise RunError(
            f"The price of {spec.provider} {spec.model} in model_prices is not a finite number ({price[0]} input, "
            f"{price[1]} output per million tokens), so the dollar cap could not hold. Set its price again."
        )
    return price


def check_dollar_cap(max_dollars: float | None) -> None:
    """Refuse a cap that could not stop a run: every comparison with NaN is false, and an infinite
    or negative cap is no cap a person meant to set."""
    if max_dollars is not None and not (math.isfinite(max_dollars) and max_dollars >= 0):
        raise RunError(f"--max-dollars must be a finite number of dollars, zero or more (got {max_dollars}).")


def plan_run(spec: JudgeSpec, selection: Selection, limit: int | None = None, path: Path | None = None) -> Plan:
    """Everything a run needs from the warehouse, read in one short connection."""
    with connect(path) as con:
        if selection.session_id is not None:
            call_ids = session_call_ids(con, selection.session_id)
            if call_ids is None:
                raise RunError(f"There is no review session {selection.session_id!r}.")
        elif selection.start is not None and selection.end is not None:
            call_ids = period_call_ids(con, selection.start, selection.end)
        else:
            raise RunError("Choose the calls: a review session, or a start and an end day.")
        done = judged_call_ids(con, spec.version)
        todo = [call_id for call_id in dict.fromkeys(call_ids) if call_id not in done]
        calls = load_calls(con, todo[:limit] if limit is not None else todo)
        price = judge_price(spec, con)
    selected = len(set(call_ids))
    return Plan(spec, selected, selected - len(todo), calls, price)


def _dollars(price: tuple[float, float], input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * price[0] + output_tokens * price[1]) / 1e6


def estimated_input_tokens(spec: JudgeSpec, call: CallForJudging) -> int:
    """What the prompt (and the schema sent with it) will roughly cost in input tokens."""
    if spec.provider == "rules":
        return 0
    prompt = render_prompt(spec, call)
    return (len(prompt.system) + len(prompt.user) + len(str(spec.output_schema))) // CHARS_PER_TOKEN


def worst_case_dollars(spec: JudgeSpec, call: CallForJudging, price: tuple[float, float]) -> float:
    """What judging `call` could cost at most (its estimated prompt plus every one of the judge's
    max_output_tokens): the amount reserved against a dollar cap before the call is sent."""
    output_tokens = spec.max_output_tokens if spec.provider != "rules" else 0
    return _dollars(price, estimated_input_tokens(spec, call), output_tokens)


def estimate(plan: Plan) -> Estimate:
    """The dry run's figures: tokens and dollars if every planned call is judged."""
    input_tokens = sum(estimated_input_tokens(plan.spec, call) for call in plan.calls)
    llm = plan.spec.provider != "rules"
    output_tokens = ESTIMATED_OUTPUT_TOKENS * len(plan.calls) if llm else 0
    ceiling_output = plan.spec.max_output_tokens * len(plan.calls) if llm else 0
    return Estimate(
        calls=len(plan.calls),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        dollars=_dollars(plan.price, input_tokens, output_tokens),
        ceiling_dollars=_dollars(plan.price, input_tokens, ceiling_output),
    )


def _assess(spec: JudgeSpec, call: CallForJudging, ask: Ask | None) -> tuple[Verdict | None, str | None, int, int]:
    """The verdict, or the reason there is none, and the tokens it took."""
    if spec.provider == "rules":
        return judge_with_rules(spec, call), None, 0, 0
    if ask is None:
        raise ValueError(f"The {spec.name} judge needs a provider to ask.")
    reply = ask(render_prompt(spec, call))
    if reply.problem is not None:
        return None, reply.problem, reply.input_tokens, reply.output_tokens
    try:
        return verdict_from_reply(spec, reply.output), None, reply.input_tokens, reply.output_tokens
    except InvalidReply as error:
        return None, str(error), reply.input_tokens, reply.output_tokens


def judge_call(
    spec: JudgeSpec, call: CallForJudging, ask: Ask | None, price: tuple[float, float], run_id: str
) -> JudgementRow:
    """One call's judgement row. Never raises: whatever goes wrong becomes a failed judgement with
    its reason (keys masked: it is stored, printed and exported), so one bad call cannot stop a batch."""
    started = time.perf_counter()
    try:
        verdict, problem, input_tokens, output_tokens = _assess(spec, call, ask)
    except Exception as error:
        verdict, problem, input_tokens, output_tokens = None, f"{type(error).__name__}: {error}", 0, 0
    problem = None if problem is None else mask_keys(problem)
    failed = JudgementRow(
        call_id=call.call_id,
        judge_name=spec.name,
        judge_version=spec.version,
        provider=spec.provider,
        model=spec.model,
        status="failed",
        error=problem,
        run_id=run_id,
        created_at=datetime.now(UTC).replace(tzinfo=None),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=_dollars(price, input_tokens, output_tokens),
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    if verdict is None:
        return failed
    return replace(
        failed,
        status="ok",
        error=None,
        score=verdict.score,
        passed=verdict.passed,
        labels=verdict.labels,
        hallucination=verdict.hallucination,
        rationale=verdict.rationale,
        evidence=verdict.evidence,
    )


def run_plan(
    plan: Plan,
    ask: Ask | None,
    *,
    concurrency: int = 4,
    max_dollars: float | None = None,
    path: Path | None = None,
    progress: Callable[[JudgeRunSummary], None] | None = None,
) -> JudgeRunSummary:
    """Judge the planned calls with at most `concurrency` in flight, writing as results arrive.

    The dollar cap is kept by reserving each call's worst case (its estimated prompt plus the
    judge's max_output_tokens) before starting it: once spent plus reserved would pass the cap, no
    new call starts, the calls in flight finish and are stored, and the run ends cleanly."""
    check_dollar_cap(max_dollars)
    spec = plan.spec
    summary = JudgeRunSummary(uuid.uuid4().hex[:12], spec.name, spec.version, plan.selected, plan.skipped,
                              len(plan.calls))
    started = time.perf_counter()
    pending = iter(plan.calls)
    in_flight: dict[Future[JudgementRow], float] = {}
    unwritten: list[JudgementRow] = []
    last_write = time.monotonic()

    def write() -> None:
        nonlocal last_write
        if unwritten:
            with transaction(path) as con:
                insert_judgements(con, unwritten)
            unwritten.clear()
        last_write = time.monotonic()

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="judge")
    try:
        while True:
            while len(in_flight) < max(1, concurrency) and not summary.stopped_at_cap:
                call = next(pending, None)
                if call is None:
                    break
                worst = worst_case_dollars(spec, call, plan.price)
                if max_dollars is not None and summary.cost_usd + sum(in_flight.values()) + worst > max_dollars:
                    summary.stopped_at_cap = True
                    break
                in_flight[pool.submit(judge_call, spec, call, ask, plan.price, summary.run_id)] = worst
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                row = future.result()
                unwritten.append(row)
                summary.input_tokens += row.input_tokens
                summary.output_tokens += row.output_tokens
                summary.cost_usd += row.cost_usd or 0.0
                if row.status == "ok":
                    summary.judged += 1
                else:
                    summary.failed += 1
                    summary.errors.append(f"{row.call_id}: {row.error}")
                if progress is not None:
                    progress(summary)
            if len(unwritten) >= WRITE_BATCH_MAX or time.monotonic() - last_write >= WRITE_EVERY_S:
                write()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        unwritten.extend(f.result() for f in in_flight if f.done() and not f.cancelled())
        write()
        summary.seconds = time.perf_counter() - started
    return summary
