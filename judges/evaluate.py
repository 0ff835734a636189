"""Score a judge against an eval dataset: judge every record's call the way a run would (the same
`judge_call`, so LLM replies go through the same provider, retries and schema check), then compare
its labels and pass/fail with what people and customers said.

Per label: precision (of the calls the judge flagged, the share that had it), recall (of the calls
that had it, the share the judge flagged), Cohen's kappa and support (the calls that had it). A
record counts for a label when its expected labels are complete (a person reviewed the call), or
when it expects that label: a complaint names one problem, so the judge is not marked wrong for
finding another. Pass/fail agreement uses the records where a person gave a pass or fail.

The dollar cap works as in a run: each call's worst case is reserved before it is sent, and no
call starts once the cap could be passed. Nothing is written to the warehouse; it is read only for
an LLM judge's model price (runner.judge_price, as a run reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from judges.dataset import call_for_judging
from judges.providers import Ask
from judges.runner import check_dollar_cap, judge_call, worst_case_dollars
from judges.spec import JudgeSpec
from warehouse.calibration_math import Confusion, confusion
from warehouse.judgements import JudgementRow


@dataclass(frozen=True)
class LabelScore:
    label: str
    judge_knows: bool  # the judge may emit this label at all
    counts: Confusion

    @property
    def precision(self) -> float | None:
        flagged = self.counts.tp + self.counts.fp
        return self.counts.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.counts.tpr

    @property
    def support(self) -> int:
        """Records a person gave the label (an eval dataset's records each count once)."""
        return round(self.counts.positives)


@dataclass
class Evaluation:
    judge: str
    version: str
    records: int
    judged: int = 0
    failed: int = 0
    not_judged: int = 0  # left out at the dollar cap
    cost_usd: float = 0.0
    labels: list[LabelScore] = field(default_factory=list)
    pass_fail: Confusion | None = None  # positive = fail, on records a person passed or failed
    errors: list[str] = field(default_factory=list)

    @property
    def pass_fail_agreement(self) -> float | None:
        c = self.pass_fail
        return (c.tp + c.tn) / c.n if c is not None and c.n else None


def judge_records(
    spec: JudgeSpec, records: list[dict[str, Any]], ask: Ask | None, price: tuple[float, float],
    max_dollars: float | None = None, progress: Callable[[int], None] | None = None,
) -> tuple[list[JudgementRow], int]:
    """Each record's judgement in order, and how many were left out at the cap."""
    check_dollar_cap(max_dollars)
    rows: list[JudgementRow] = []
    spent = 0.0
    for number, record in enumerate(records):
        call = call_for_judging(record)
        if max_dollars is not None and spent + worst_case_dollars(spec, call, price) > max_dollars:
            return rows, len(records) - number
        row = judge_call(spec, call, ask, price, run_id="eval")
        spent += row.cost_usd or 0.0
        rows.append(row)
        if progress is not None:
            progress(number + 1)
    return rows, 0


def score(spec: JudgeSpec, records: list[dict[str, Any]], rows: list[JudgementRow]) -> Evaluation:
    """Compare the judgements (`rows`, in the records' order; failed ones left out) with the
    records' expected verdicts."""
    evaluation = Evaluation(spec.name, spec.version, len(records), not_judged=len(records) - len(rows))
    pairs = []
    for record, row in zip(records, rows, strict=False):
        evaluation.cost_usd += row.cost_usd or 0.0
        if row.status != "ok":
            evaluation.failed += 1
            evaluation.errors.append(f"{row.call_id}: {row.error}")
            continue
        evaluation.judged += 1
        pairs.append((record["expected"], row))
    names = sorted({label for expected, _ in pairs for label in expected["labels"]} | set(spec.labels))
    for label in names:
        counted = [(label in e["labels"], label in row.labels) for e, row in pairs
                   if e.get("labels_complete", True) or label in e["labels"]]  # fmt: skip
        evaluation.labels.append(LabelScore(label, label in spec.labels, _confusion(counted)))
    decided = [(not e["passed"], not row.passed) for e, row in pairs if e.get("passed") is not None]
    evaluation.pass_fail = _confusion(decided)
    return evaluation


def _confusion(pairs: list[tuple[bool, bool]]) -> Confusion:
    return confusion([human for human, _ in pairs], [judge for _, judge in pairs])


def as_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The figures as plain JSON-ready values (what `--json` prints)."""

    def cells(c: Confusion) -> dict[str, Any]:
        return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn, "n": c.n, "kappa": c.kappa}

    pass_fail = evaluation.pass_fail or confusion([], [])
    return {
        "judge": evaluation.judge, "version": evaluation.version, "records": evaluation.records,
        "judged": evaluation.judged, "failed": evaluation.failed, "not_judged": evaluation.not_judged,
        "cost_usd": evaluation.cost_usd,
        "labels": [
            {"label": s.label, "judge_knows": s.judge_knows, "precision": s.precision, "recall": s.recall,
             "support": s.support, **cells(s.counts)}
            for s in evaluation.labels
        ],
        "pass_fail": {"agreement": evaluation.pass_fail_agreement, **cells(pass_fail)},
        "errors": evaluation.errors,
    }  # fmt: skip


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def as_table(evaluation: Evaluation) -> str:
    """The figures as an aligned table for the terminal; a label the judge cannot emit is marked."""
    header = ("label", "precision", "recall", "kappa", "support", "n")
    rows = [
        (s.label + ("" if s.judge_knows else " *"), _figure(s.precision), _figure(s.recall),
         _figure(s.counts.kappa), str(s.support), str(s.counts.n))
        for s in evaluation.labels
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                strict=True)))
        for row in [header, *rows]
    ]
    pf = evaluation.pass_fail or confusion([], [])
    lines += [
        "",
        f"pass/fail agreement {_figure(evaluation.pass_fail_agreement)} (kappa {_figure(pf.kappa)}) on {pf.n:,} "
        "records a person passed or failed",
        f"judge {evaluation.judge} {evaluation.version}: {evaluation.judged:,} of {evaluation.records:,} records "
        f"judged, {evaluation.failed:,} failed, {evaluation.not_judged:,} left at the dollar cap; "
        f"${evaluation.cost_usd:,.4f}",
    ]
    if any(not s.judge_knows for s in evaluation.labels):
        lines.append("* the judge cannot give this label")
    return "\n".join(lines)
