"""Backtests: what a pack would have found over the evidence already stored, and how that differs
from another version of it, before an admin ships a rule change.

Reads only: nothing is gathered, no finding is stored, no case or notification is touched.
Each month of the range is inspected as a scheduled run would inspect it (so quarterly rules are
judged in the month their quarter falls due), and the union of the verdicts is compared by case
key (rule, subject, period).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from dualduty.errors import UserError
from evidence import frames
from evidence.loader import load_frames
from models.session import get_engine
from rules.engine import evaluate
from rules.findings import Finding, Verdict
from rules.periods import Period, PeriodKind
from workflows.packs import LoadedPack, load_pack

Key = tuple[str, str, str]  # rule, subject, period


class Difference(BaseModel):
    """Failing verdicts of one rule or unit under the old and the new pack."""

    key: str
    old_failed: int = 0
    new_failed: int = 0
    old_no_evidence: int = 0
    new_no_evidence: int = 0
    added: int = 0  # fail under the new pack only
    removed: int = 0  # fail under the old pack only

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


class ChangedFinding(BaseModel):
    rule_id: str
    subject_id: str
    period: str
    unit_code: str | None
    old: Verdict | None  # None: the old pack did not judge it
    new: Verdict | None
    explanation: str


class PackRun(BaseModel):
    pack: str
    version: str
    findings: int
    failed: int
    seconds: float


class BacktestReport(BaseModel):
    periods: list[str]
    scope: str | None
    new: PackRun
    old: PackRun | None = None
    by_rule: list[Difference] = Field(default_factory=list)
    by_unit: list[Difference] = Field(default_factory=list)
    changes: list[ChangedFinding] = Field(default_factory=list)  # at most CHANGES_LIMIT
    changes_total: int = 0


CHANGES_LIMIT = 500


def months(first: str, last: str) -> list[Period]:
    """Every month from the start of ``first`` to the end of ``last`` (any period labels)."""
    start, end = Period.parse(first), Period.parse(last)
    if start.start > end.end:
        raise UserError(
            f"起止期间颠倒 / the range {first} … {last} ends before it starts",
            hint="--from must not be later than --to",
        )
    result: list[Period] = []
    current = Period.containing(start.start, PeriodKind.month)
    while current.start <= end.end:
        result.append(current)
        current = current.next()
    return result


def judge(pack: LoadedPack, periods: list[Period], scope: str | None) -> dict[Key, Finding]:
    """The pack's verdicts over the stored evidence for every period (later months win for
    rules without a period, which every month judges again)."""
    con = frames.connect()
    try:
        load_frames(get_engine(), types=pack.rules.evidence, con=con, unit_scope=scope)
        verdicts: dict[Key, Finding] = {}
        for period in periods:
            for finding in evaluate(pack.compiled, con, period, scope=scope):
                verdicts[finding.key] = finding
        return verdicts
    finally:
        con.close()


def _run(pack: LoadedPack, verdicts: dict[Key, Finding], seconds: float) -> PackRun:
    return PackRun(
        pack=pack.name,
        version=pack.version,
        findings=len(verdicts),
        failed=sum(f.verdict == Verdict.failed for f in verdicts.values()),
        seconds=round(seconds, 3),
    )


def _differences(
    keys: Iterable[Key],
    name: dict[Key, str],
    old: dict[Key, Finding],
    new: dict[Key, Finding],
) -> list[Difference]:
    counts: dict[str, Counter[str]] = {}
    for key in keys:
        count = counts.setdefault(name[key], Counter())
        was, now = _verdict(old, key), _verdict(new, key)
        count["old_failed"] += was == Verdict.failed
        count["new_failed"] += now == Verdict.failed
        count["old_no_evidence"] += was == Verdict.no_evidence
        count["new_no_evidence"] += now == Verdict.no_evidence
        count["added"] += now == Verdict.failed and was != Verdict.failed
        count["removed"] += was == Verdict.failed and now != Verdict.failed
    return [Difference(key=group, **count) for group, count in sorted(counts.items())]


def _verdict(verdicts: dict[Key, Finding], key: Key) -> Verdict | None:
    found = verdicts.get(key)
    return found.verdict if found is not None else None


def backtest(
    *, pack: str, against: str | None, first: str, last: str, scope: str | None = None
) -> BacktestReport:
    periods = months(first, last)
    new_pack = load_pack(pack)
    began = time.perf_counter()
    new = judge(new_pack, periods, scope)
    report = BacktestReport(
        periods=[p.label for p in periods],
        scope=scope,
        new=_run(new_pack, new, time.perf_counter() - began),
    )
    old: dict[Key, Finding] = {}
    if against is not None:
        old_pack = load_pack(against)
        began = time.perf_counter()
        old = judge(old_pack, periods, scope)
        report.old = _run(old_pack, old, time.perf_counter() - began)
    keys = set(new) | set(old)
    either = {k: new.get(k) or old[k] for k in keys}
    rule_of = {k: k[0] for k in keys}
    unit_of = {k: either[k].unit_code or "-" for k in keys}
    report.by_rule = _differences(keys, rule_of, old, new)
    report.by_unit = _differences(keys, unit_of, old, new)
    if against is not None:
        changed = sorted(k for k in keys if _verdict(old, k) != _verdict(new, k))
        report.changes_total = len(changed)
        report.changes = [
            ChangedFinding(
                rule_id=k[0],
                subject_id=k[1],
                period=k[2],
                unit_code=either[k].unit_code,
                old=old[k].verdict if k in old else None,
                new=new[k].verdict if k in new else None,
                explanation=either[k].explanation,
            )
            for k in changed[:CHANGES_LIMIT]
        ]
    return report
