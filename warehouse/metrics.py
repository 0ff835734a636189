"""The owned metrics, each defined once as an ibis expression over the named tables.

Every page, the metrics CLI, the deck export and the tests call these definitions; docs/metrics.md
explains them in words. Because they are ibis expressions over `Tables`, the same definition runs on
the DuckDB file, on a Parquet lake or on Spark.

Each `*_metrics(..., by)` function returns one row per group in `by` (for example a period label or
a day), so one scan serves the headline figure, its comparison and its trend. With each value come
its sample size and what its noise test needs (a standard deviation, a share above the pooled
percentile), as `warehouse/metric_registry.py` declares per metric.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from typing import TypeAlias

import ibis
import ibis.expr.types as ir
from ibis import _

from warehouse import end_reasons
from warehouse.errors import CallboardError
from warehouse.filters import Filters
from warehouse.prepared import FilterParams
from warehouse.tables import Tables

DEAD_AIR_SECONDS = 3  # the default silence that counts as dead air


Scope = Filters | FilterParams  # the filters as values, or as parameters of a prepared read
Day: TypeAlias = date | ir.DateValue  # a day as a value, or as an expression (a prepared read's parameter)


def as_day(day: Day) -> ibis.DateValue:
    """A day as an expression: a value becomes a literal, a parameter stays itself."""
    return day if isinstance(day, ibis.Expr) else ibis.literal(day, type="date")


def _in_period(day: ibis.Column, start: Day, end: Day) -> ibis.BooleanValue:
    return (day >= as_day(start)) & (day <= as_day(end))


def _picked(values: tuple[str, ...] | ibis.ArrayValue) -> bool:
    """Whether a filter list narrows: values picked, or a parameter (bound to the values picked)."""
    return isinstance(values, ibis.Expr) or bool(values)


def scoped_calls(t: Tables, f: Scope, start: Day | None = None, end: Day | None = None) -> ibis.Table:
    """Calls whose day lies in [start, end] (default: the filters' period) and that match the
    filters' agents, prompt versions and models."""
    calls = t.calls.filter(_in_period(t.calls.day, f.start if start is None else start,
                                      f.end if end is None else end))
    for column, values in (("agent", f.agents), ("prompt_version", f.prompt_versions), ("model", f.models)):
        if _picked(values):
            calls = calls.filter(calls[column].isin(values))
    return calls


def outcome_per_call(t: Tables, calls: ibis.Table | None = None) -> ibis.Table:
    """One outcome row per call (of `calls` only, when given: the outcomes are narrowed to them
    before they are grouped, so a short period does not group every outcome ever loaded).
    Re-importing an export replaces its rows (ingest keys them by source and the export's own id),
    so an updated CRM record is already the only one. When two sources speak of one call, a booking
    or resolution in either counts, and a survey answer is the highest given."""
    o = t.outcomes.filter(t.outcomes.call_id.notnull())
    if calls is not None:
        o = o.semi_join(calls, "call_id")
    return o.group_by("call_id").aggregate(
        booked=o.booked.max(),
        nps=o.nps.max(),
        resolved=o.resolved.max(),
        escalated=o.escalated.max(),
        deal_value_usd=o.deal_value_usd.max(),
    )


def latest_judgement_per_call(t: Tables, calls: ibis.Table | None = None) -> ibis.Table:
    """Each call's most recent successful judgement, from whichever judge made it (of `calls`
    only, when given: narrowed before the ranking, as `outcome_per_call`)."""
    j = t.judgements.filter(t.judgements.status == "ok")
    if calls is not None:
        j = j.semi_join(calls, "call_id")
    newest_first = ibis.row_number().over(group_by=j.call_id, order_by=ibis.desc(j.created_at))
    j = j.mutate(rank=newest_first)
    return j.filter(j.rank == 0).select("call_id", "judge_name", "score", "passed", "hallucination", "labels")


def _rate(condition: ibis.BooleanValue) -> ibis.FloatingScalar:
    """Share of rows where `condition` holds, among rows where it is known (NULLs are left out)."""
    return condition.cast("float64").mean()


def period_label(day: ibis.Column, f: Scope) -> ibis.StringValue:
    """'current' for days in the filters' period, 'previous' for the period of the same length before."""
    return ibis.cases((day >= as_day(f.start), "current"), else_="previous")


def _nps_answer(nps: ibis.NumericColumn) -> ibis.FloatingValue:
    """A survey answer's part in NPS: +100 for a promoter (9–10), −100 for a detractor (0–6), 0
    for a passive, NULL without an answer. NPS is its mean, so it has a standard deviation.
    Built from cast comparisons rather than 100.0 literals, which Spark reads as decimals (its mean
    would then be rounded to 5 places)."""
    return ((nps >= 9).cast("float64") - (nps <= 6).cast("float64")) * 100


def with_outcomes(calls: ibis.Table, t: Tables) -> ibis.Table:
    """Each of `calls` with its outcome's columns (`outcome_per_call`; NULL when it has none)."""
    outcomes = outcome_per_call(t, calls.select("call_id"))
    return calls.left_join(outcomes, calls.call_id == outcomes.call_id)


def call_metrics(calls: ibis.Table, t: Tables, by: Sequence[str]) -> ibis.Table:
    """Calls, conversion, NPS, resolution, error rate and cost per call, per group.

    - conversion_rate: booked calls / calls whose outcome says booked or not (conversion_n);
    - nps: % promoters (9–10) minus % detractors (0–6) among calls with a survey answer
      (nps_responses), i.e. the mean of `_nps_answer`;
    - resolution_rate: resolved calls / calls whose outcome says resolved or not (resolution_n);
    - error_rate: calls with at least one failed span / calls;
    - cost_per_call_usd: mean cost of the calls whose cost is known (priced_calls); a call with a
      span no list price covers has no cost rather than an understated one, and is counted in
      unpriced_calls instead;
    - hang_up_rate: calls the caller hung up on / calls whose source says how they ended (ended_calls).
    """
    return call_figures(with_outcomes(calls, t), by)


def call_figures(c: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """`call_metrics` per group of calls that carry their outcome already (`with_outcomes`): a
    caller that groups the same calls two ways joins their outcomes once."""
    nps, cost = _nps_answer(c.nps), c.cost_usd
    return c.group_by(list(by)).aggregate(
        calls=c.count(),
        conversion_rate=_rate(c.booked),
        conversion_n=c.booked.count(),
        nps=nps.mean(),
        nps_sd=nps.std(),
        nps_responses=c.nps.count(),
        resolution_rate=_rate(c.resolved),
        resolution_n=c.resolved.count(),
        error_rate=_rate(c.error_count > 0),
        cost_per_call_usd=cost.mean(),
        cost_per_call_sd=cost.std(),
        priced_calls=cost.count(),
        unpriced_calls=c.count() - cost.count(),
        hang_up_rate=_rate(c.end_reason == end_reasons.CALLER_HUNG_UP),
        ended_calls=c.end_reason.count(),
    )


def scoped_turns(t: Tables, f: Scope, start: Day | None = None, end: Day | None = None) -> ibis.Table:
    """The turns of the calls in scope. A turn's `day` is its call's day, so a period alone needs
    no join (and reads only those days); the other filters do."""
    turns = t.turns.filter(_in_period(t.turns.day, f.start if start is None else start, f.end if end is None else end))
    return turns.semi_join(scoped_calls(t, f, start, end), "call_id") if f.narrows_calls else turns


def agent_replies(t: Tables, f: Scope, start: Day | None = None, end: Day | None = None) -> ibis.Table:
    """Agent turns with a response latency, for the calls in scope."""
    turns = scoped_turns(t, f, start, end)
    return turns.filter(turns.speaker == "agent", turns.response_latency_ms.notnull())


QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95}


def _pooled_quantiles(replies: ibis.Table, pooled_within: Sequence[str]) -> ibis.Table:
    """Each reply with the percentiles of all the replies given (`pooled_p50` …), or of those
    sharing its `pooled_within` columns: one pass that groups them, joined back."""
    pooled = _with_percentiles(replies, pooled_within, "pooled_{}")
    if not pooled_within:  # one row, aggregated (as a window over every reply it ran on one thread)
        return replies.cross_join(pooled)
    return replies.inner_join(pooled, list(pooled_within))


def _with_percentiles(rows: ibis.Table, by: Sequence[str], name: str, **more: ibis.Scalar) -> ibis.Table:
    """Per group of `by`, the `QUANTILES` of the replies' latency as columns `name.format(p50)` …,
    computed together (one list of percentiles: one sort of each group's replies, not three), and
    the aggregates `more`."""
    percentiles = rows.response_latency_ms.quantile(list(QUANTILES.values()))
    grouped = rows.group_by(list(by)) if by else rows
    table = grouped.aggregate(_percentiles=percentiles, **more)
    return table.mutate(**{name.format(key): table._percentiles[i] for i, key in enumerate(QUANTILES)}).drop(
        "_percentiles")


def agent_replies_of(t: Tables, calls: ibis.Table, start: Day, end: Day) -> ibis.Table:
    """Agent turns with a response latency in the given calls (whose days lie in [start, end]),
    each with the calls' columns. A turn's `day` is its call's day, so the turns are narrowed to
    those days before the join: a 28-day comparison reads 28 days of turns, not every turn."""
    turns = t.turns.filter(_in_period(t.turns.day, start, end), t.turns.speaker == "agent",
                           t.turns.response_latency_ms.notnull())  # fmt: skip
    return turns.select("call_id", "response_latency_ms").inner_join(calls, "call_id")


def latency_metrics(
    replies: ibis.Table, by: Sequence[str], pooled_within: Sequence[str] = (), noise_shares: bool = True
) -> ibis.Table:
    """p50, p90 and p95 of the agent's response latency (end of the customer's utterance to the start
    of the agent's reply), over every reply in the group; exact, not approximate, percentiles.

    For Mood's quantile test, each group's share of replies above the percentile of all the
    replies given (every group pooled, or only those with the same `pooled_within` columns, such
    as an agent's replies in two arms of a comparison): groups that share one distribution each
    have about half (p50), 10% (p90) or 5% (p95) above it. A caller that tests nothing (a trend
    by day) passes `noise_shares=False` and skips that second pass over the replies."""
    table = _pooled_quantiles(replies, pooled_within) if noise_shares else replies
    latency = table.response_latency_ms
    shares = {f"latency_{name}_share_above_pooled": _rate(latency > table[f"pooled_{name}"])
              for name in QUANTILES if noise_shares}  # fmt: skip
    figures = _with_percentiles(table, by, "latency_{}_ms", replies=table.count(), **shares)
    return figures.select(*by, "replies", *(f"latency_{name}_ms" for name in QUANTILES), *shares)


def judged_calls(calls: ibis.Table, t: Tables) -> ibis.Table:
    """The `calls` that have a successful judgement, each with its latest (`latest_judgement_per_call`)."""
    return calls.inner_join(latest_judgement_per_call(t, calls.select("call_id")), "call_id")


def judge_metrics(calls: ibis.Table, t: Tables, by: Sequence[str]) -> ibis.Table:
    """Mean eval score (1–5) and the share of calls flagged as hallucinating, over the calls that
    have a successful judgement (each call counts once: its latest judgement)."""
    return judge_figures(judged_calls(calls.select("call_id", *by), t), by)


def judge_figures(j: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """`judge_metrics` per group of `judged_calls`."""
    return j.group_by(list(by)).aggregate(
        judged_calls=j.count(),
        eval_score=j.score.mean(),
        eval_score_sd=j.score.std(),
        hallucination_rate=_rate(j.hallucination),
    )


def dead_air_threshold_ms() -> int:
    """The silence that counts as dead air, in ms: `CALLBOARD_DEAD_AIR_SECONDS` (default 3 s, the
    pause after which callers ask "hello?")."""
    raw = os.environ.get("CALLBOARD_DEAD_AIR_SECONDS") or str(DEAD_AIR_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 3600:
        raise CallboardError(f"CALLBOARD_DEAD_AIR_SECONDS must be a number of seconds above 0, not {raw!r}.")
    return round(seconds * 1000)


def _epoch_ms(ts: ibis.TimestampValue) -> ibis.IntegerValue:
    """Milliseconds since the epoch, the same on every engine (Spark's epoch seconds are whole,
    DuckDB's fractional: floor both, then add the millisecond field)."""
    return ts.epoch_seconds().floor().cast("int64") * 1000 + ts.millisecond().cast("int64")


def turn_gaps(turns: ibis.Table) -> ibis.Table:
    """Each turn with its start and end in ms and `gap_ms`: its start minus the latest end of the
    call's earlier turns (by start), the silence before it when positive; negative when it starts
    while someone is still speaking. `over` says it started while the previous turn's other
    speaker was still talking (an interruption by this turn's speaker)."""
    timed = turns.mutate(start_ms=_epoch_ms(turns.started_at), end_ms=_epoch_ms(turns.ended_at))
    order = [timed.start_ms, timed.turn_index]
    earlier = ibis.window(group_by=timed.call_id, order_by=order, rows=(None, -1))
    timed = timed.mutate(heard_until=timed.end_ms.max().over(earlier),
                         previous_speaker=timed.speaker.lag().over(group_by=timed.call_id, order_by=order))
    return timed.mutate(gap_ms=timed.start_ms - timed.heard_until,
                        over=(timed.start_ms < timed.heard_until) & (timed.speaker != timed.previous_speaker))


CONVERSATION_COLUMNS = ("caller_barge_ins", "agent_talk_overs", "longest_silence_ms", "agent_speech_s", "speech_s",
                        "longest_wait_ms")


def _conversation_figures(g: ibis.Table) -> dict[str, ibis.Scalar]:
    """The per-call figures of `CONVERSATION_COLUMNS` over `turn_gaps` rows, as aggregates."""
    seconds = (g.end_ms - g.start_ms).cast("float64") / 1000
    agent = g.speaker == "agent"
    return {
        "caller_barge_ins": (g.over & (g.speaker == "customer")).ifelse(1, 0).sum().cast("int32"),
        "agent_talk_overs": (g.over & agent).ifelse(1, 0).sum().cast("int32"),
        "longest_silence_ms": (g.gap_ms > 0).ifelse(g.gap_ms, 0).max().cast("int64"),
        "agent_speech_s": (seconds * agent.cast("float64")).sum(),  # no float literal: Spark reads those as decimals
        "speech_s": seconds.sum(),
        "longest_wait_ms": g.response_latency_ms.max().cast("int32"),
    }


def call_conversation(turns: ibis.Table) -> ibis.Table:
    """Per call, from its turn times, what `calls` stores of its conversation (`CONVERSATION_COLUMNS`,
    defined in migration 0011): interruptions each way (`caller_barge_ins`: the caller starts while
    the agent speaks; `agent_talk_overs`: the reverse), the longest silence between turns (the call
    has dead air when it reaches the threshold, `has_dead_air`), speaking time in seconds (the
    agent's and everyone's, an overlap counted for both speakers) and the longest reply wait.
    Ingest computes it once per call as it writes the call's turns (`warehouse/conversation_loading.py`),
    so the metrics read the columns instead of a window over every turn."""
    g = turn_gaps(turns)
    return g.group_by("call_id").aggregate(**_conversation_figures(g))


def conversation_per_call(turns: ibis.Table, dead_air_ms: int) -> ibis.Table:
    """`call_conversation` with what depends on the dead-air setting or is only shown for one call:
    `dead_air` (silences between turns of `dead_air_ms` or more) and the first agent word (ms since
    the epoch). Read from the turns, so only for a few calls (the call view, the listed search hits)."""
    g = turn_gaps(turns)
    return g.group_by("call_id").aggregate(
        **_conversation_figures(g),
        dead_air=(g.gap_ms >= dead_air_ms).ifelse(1, 0).sum(),
        first_agent_word_ms=ibis.cases((g.speaker == "agent", g.start_ms), else_=ibis.null("int64")).min(),
    )


def has_dead_air(calls: ibis.Table, dead_air_ms: int) -> ibis.BooleanValue:
    """Whether a call (with turns) has a silence of `dead_air_ms` or more: its longest one reaches it."""
    return calls.longest_silence_ms >= dead_air_ms


def talked_over(calls: ibis.Table) -> ibis.BooleanValue:
    """Whether anyone talked over the other in a call (with turns): an interruption either way."""
    return (calls.caller_barge_ins + calls.agent_talk_overs) > 0


def has_turns(calls: ibis.Table) -> ibis.BooleanValue:
    """Whether a call has a transcript: its conversation columns are filled (`call_conversation`)."""
    return calls.speech_s.notnull()


CONVERSATION_SUMS = ("voice_calls", "interrupted_calls", "dead_air_calls", "agent_s", "speech_s", "aa", "ab", "bb")


def conversation_sums(calls: ibis.Table, by: Sequence[str], dead_air_ms: int) -> ibis.Table:
    """Per group, the sums the conversation metrics are made of (`CONVERSATION_SUMS`): calls with
    turns, with an interruption, with dead air, and the agent's (a) and everyone's (s) speaking
    seconds with Σa², Σa·s, Σs². Read from the calls' own conversation columns (`call_conversation`).
    Sums add up, so a caller can read them once per day and make the period's figures from the
    days' sums (`conversation_from_sums`)."""
    c = calls.filter(has_turns(calls))
    a, s = c.agent_speech_s, c.speech_s
    return c.group_by(list(by)).aggregate(
        voice_calls=c.count(),
        interrupted_calls=talked_over(c).cast("int64").sum(),
        dead_air_calls=has_dead_air(c, dead_air_ms).cast("int64").sum(),
        agent_s=a.sum(), speech_s=s.sum(), aa=(a * a).sum(), ab=(a * s).sum(), bb=(s * s).sum(),
    )


def conversation_from_sums(sums: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """Interruption share, dead-air share and talk ratio per group of `by`, from finer groups'
    `conversation_sums` (summed again).

    - interruption_rate: calls with any interruption, either way / calls with turns (voice_calls);
    - dead_air_rate: calls with any silence of the dead-air threshold or more between turns / voice_calls;
    - talk_ratio: the agent's speaking time / everyone's, summed over the calls (a ratio of sums,
      so a long call weighs more). Its noise test is Welch's on the ratio: `talk_ratio_sd` is the
      standard deviation of each call's agent_speech - ratio × speech, divided by the mean
      speech per call (the delta method), so that sd / √n is the ratio's standard error.
    """
    g = sums.group_by(list(by)).aggregate(**{name: sums[name].sum() for name in CONVERSATION_SUMS})
    ratio = g.agent_s / g.speech_s
    residual_sq = g.aa - 2 * ratio * g.ab + ratio * ratio * g.bb
    mean_speech = g.speech_s / g.voice_calls
    spread = (residual_sq / (g.voice_calls - 1)).sqrt() / mean_speech
    return g.mutate(
        interruption_rate=g.interrupted_calls.cast("float64") / g.voice_calls,
        dead_air_rate=g.dead_air_calls.cast("float64") / g.voice_calls,
        talk_ratio=ratio,
        talk_ratio_sd=ibis.cases((g.voice_calls > 1, spread), else_=ibis.null("float64")),
    ).drop(*(name for name in CONVERSATION_SUMS if name != "voice_calls"))


def conversation_metrics(calls: ibis.Table, by: Sequence[str], dead_air_ms: int) -> ibis.Table:
    """The conversation metrics of the calls that have turns, per group (`conversation_from_sums`)."""
    return conversation_from_sums(conversation_sums(calls, by, dead_air_ms), by)


WAIT_STAGES = ("end_of_turn", "speech_to_text", "model", "speech_synthesis")


def wait_stages(t: Tables, f: Scope, start: Day | None = None, end: Day | None = None) -> ibis.Table:
    """Each agent reply's caller wait split into consecutive stages, from the spans of its turn:
    end of turn (the caller's last word → end-of-turn detection decides), speech-to-text (→ the
    final transcript), model (→ the last LLM or tool step gives its first token, when its span says
    when (`first_output_ms`, a streaming reply is heard before it is complete), else ends) and
    speech synthesis (→ the agent is heard).
    End of turn and speech-to-text end where the stack's own measure from the caller's last word
    says (`end_of_turn_delay_ms`, `transcription_delay_ms`: LiveKit's `user_turn`), else where
    their spans end. The two run in the order the stack runs them: the first to finish counts from
    the caller's last word, the other from there (LiveKit decides the turn on the transcript, so
    speech-to-text comes first; Pipecat and Callboard's own traces decide first).
    A stage whose span is missing is 0 and its time goes to the next one, so the four always add
    up to the wait. Replies that talk over the caller (a negative wait) have no stages.
    A span's `day` is its call's first day, as its turns' is (the loaders keep it so, and the lake
    partitions spans by it), so the spans of the period's replies are the period's spans, even
    those after midnight: only they are read, not every span. Joining them to the replies picks
    theirs; only when the filters narrow the calls are they first narrowed to the replies' calls."""
    start, end = f.start if start is None else start, f.end if end is None else end
    replies = agent_replies(t, f, start, end).filter(_.response_latency_ms >= 0)
    replies = replies.mutate(heard_ms=_epoch_ms(replies.started_at))
    replies = replies.mutate(said_ms=replies.heard_ms - replies.response_latency_ms)
    spans = t.spans
    s = spans.filter(_in_period(spans.day, start, end),
                     spans.kind.isin(["eot", "stt", "llm", "tool"]) | spans.end_of_turn_delay_ms.notnull()
                     | spans.transcription_delay_ms.notnull(), spans.turn_index.notnull())
    if f.narrows_calls:
        s = s.semi_join(replies, "call_id")
    s = s.mutate(end_ms=_epoch_ms(_.ended_at))
    s = s.mutate(ready_ms=ibis.coalesce(_epoch_ms(s.started_at) + s.first_output_ms.round().cast("int64"), s.end_ms))
    ends = s.group_by("call_id", "turn_index").aggregate(
        eot_end=s.end_ms.max(where=s.kind == "eot"),
        stt_end=s.end_ms.max(where=s.kind == "stt"),
        model_end=s.ready_ms.max(where=s.kind.isin(["llm", "tool"])),
        eot_after=s.end_of_turn_delay_ms.max(),
        stt_after=s.transcription_delay_ms.max(),
    )
    r = replies.left_join(ends, ["call_id", "turn_index"])
    eot = ibis.coalesce(r.said_ms + r.eot_after.round().cast("int64"), r.eot_end, r.said_ms)
    stt = ibis.coalesce(r.said_ms + r.stt_after.round().cast("int64"), r.stt_end, eot)
    stt_first = stt < eot
    listened = ibis.greatest(eot, stt)
    model = ibis.coalesce(r.model_end, listened)
    return r.select(
        "call_id", "turn_index", "day", "response_latency_ms",
        end_of_turn=eot - stt_first.ifelse(stt, r.said_ms), speech_to_text=stt - stt_first.ifelse(r.said_ms, eot),
        model=model - listened, speech_synthesis=r.heard_ms - model,
    )
