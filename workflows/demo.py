"""The demo inspection: the sample packs over the sample company's January-October exports,
through the ordinary pipeline (gather, evaluate, reconcile), then one escalation pass.

The periods are those the exports cover: the three quarters and October (which judge every
month, quarter, half-year and deadline falling due in them), and the year for the yearly duties,
as if inspected at year end with the evidence so far. The planted violations
(``dualduty/demo/evidence/planted.csv``) are what it should find; the demo prints both.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select

from dualduty.demo.generate_evidence import EVIDENCE_DIR, sample_pack_paths
from models.cases import Case
from models.session import session_scope
from rules.periods import PeriodKind
from workflows import pipeline
from workflows.escalation import EscalationReport, run_escalation
from workflows.packs import load_pack
from workflows.summary import InspectionRequest, InspectionSummary

DEMO_PERIODS = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-10")
DEMO_YEAR = "2026"

Key = tuple[str, str, str]  # rule, subject, period


class DemoCase(BaseModel):
    pack: str
    rule_id: str
    subject_id: str
    period: str
    unit_code: str | None
    bearer: str | None
    state: str
    ladder_step: str | None
    planted: bool


class DemoReport(BaseModel):
    inspections: list[InspectionSummary] = Field(default_factory=list)
    cases: list[DemoCase] = Field(default_factory=list)
    planted: int = 0
    found: int = 0  # planted violations with a case
    unexpected: int = 0  # cases for nothing planted
    escalation: EscalationReport = Field(default_factory=EscalationReport)


def planted_keys(path: Path = EVIDENCE_DIR / "planted.csv") -> set[Key]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {(row["规则"], row["主体"], row["期间"]) for row in csv.DictReader(handle)}


def requests() -> list[InspectionRequest]:
    """Every inspection the demo runs, pack by pack."""
    result = []
    for path in sample_pack_paths():
        pack = load_pack(path)
        for period in DEMO_PERIODS:
            result.append(InspectionRequest(pack=str(pack.path), period=period, trigger="demo"))
        yearly = [
            plan.id
            for plan in pack.compiled.plans
            if plan.period.kind is PeriodKind.year and not plan.period.deadline
        ]
        if yearly:
            result.append(
                InspectionRequest(
                    pack=str(pack.path), period=DEMO_YEAR, rules=yearly, trigger="demo"
                )
            )
    return result


def inspect_samples(
    *, on_inspection: Callable[[InspectionRequest, InspectionSummary], None] | None = None
) -> list[InspectionSummary]:
    """Run every demo inspection (no escalation: that is one pass afterwards)."""
    summaries = []
    gathered: set[str] = set()
    for request in requests():
        # Each pack's sources once: the other periods judge what is then stored.
        summary = pipeline.run_inspection(
            request, gather=request.pack not in gathered, escalate=False
        )
        gathered.add(request.pack)
        summaries.append(summary)
        if on_inspection is not None:
            on_inspection(request, summary)
    return summaries


def escalate_samples() -> EscalationReport:
    return run_escalation(packs=[str(p) for p in sample_pack_paths()])


def cases() -> tuple[list[DemoCase], int, int, int]:
    """Every case with whether it was planted; and planted, found, unexpected counts."""
    planted = planted_keys()
    with session_scope() as session:
        rows = session.execute(
            select(
                Case.pack,
                Case.rule_id,
                Case.subject_id,
                Case.period,
                Case.unit_code,
                Case.bearer_person,
                Case.state,
                Case.ladder_step,
            ).order_by(Case.pack, Case.rule_id, Case.period, Case.subject_id)
        ).all()
    found = [
        DemoCase(
            pack=pack,
            rule_id=rule,
            subject_id=subject,
            period=period,
            unit_code=unit,
            bearer=bearer,
            state=state,
            ladder_step=step,
            planted=(rule, subject, period) in planted,
        )
        for pack, rule, subject, period, unit, bearer, state, step in rows
    ]
    keys = {(c.rule_id, c.subject_id, c.period) for c in found}
    return found, len(planted), len(planted & keys), len(keys - planted)


def run_demo(
    *, on_inspection: Callable[[InspectionRequest, InspectionSummary], None] | None = None
) -> DemoReport:
    report = DemoReport(inspections=inspect_samples(on_inspection=on_inspection))
    report.escalation = escalate_samples()
    report.cases, report.planted, report.found, report.unexpected = cases()
    return report
