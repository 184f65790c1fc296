"""Assessments in the console (/assessments): the period's scores, charts and shortlist for
inspectors and admins, and the same as HTML and XLSX downloads.

The page shows the published version when there is one (never recomputed), otherwise a draft
from today's data. Publishing stays a deliberate command (``dualduty assess --publish``).
Inspectors see the units of their jurisdiction and the cadres whose unit lies in it; ranks stay
those among all peers, which the page says. Every view and export is in the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from assessments import snapshots
from assessments.loading import load_scheme
from assessments.reports import charts, render_html, text
from assessments.reports.xlsx import build_workbook
from assessments.results import EVIDENCE_LABELS, Scorecard, by_peer_group
from assessments.service import AssessmentOutcome, run_assessment
from console.auditing import actor_of
from console.deps import Db, PageUser, Principal, State, render, require_role
from console.guards import access_for
from dualduty.errors import UserError
from models.audit import record
from models.base import utcnow
from models.cases.history import local_date
from models.users import Role
from rules.findings import Side
from rules.periods import Period, PeriodKind

router = APIRouter()

# A downloaded report has inline CSS and no script; let it render if opened in place.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/assessments")
def assessments_page(
    request: Request, state: State, db: Db, principal: PageUser, period: str | None = None
) -> Response:
    outcome, chosen = _outcome(db, principal, state, period)
    result = outcome.result
    unit_groups = list(by_peer_group(result.units).items())
    record(
        db,
        actor=actor_of(principal.user.username),
        action="assessment.view",
        subject_type="assessment",
        subject_id=outcome.assessment_id or chosen.label,
        detail={"period": chosen.label, "status": outcome.status},
        now=utcnow(),
    )
    return render(
        request,
        state,
        "assessments.html",
        {
            "outcome": outcome,
            "r": result,
            "period": chosen.label,
            "period_title": text.period_title(chosen.label),
            "recent": _recent_quarters(utcnow()),
            "versions": snapshots.versions(db, scheme_name=result.scheme_name, period=chosen.label),
            "unit_groups": unit_groups,
            "cadre_groups": list(by_peer_group(result.people).items()),
            "unit_charts": {
                label: charts.side_bars(cards, f"{label}得分 / scores", label=lambda c: c.name)
                for label, cards in unit_groups
                if any(c.score is not None for c in cards)
            },
            "shortlist": [e for e in result.commendations],
            "evidence_labels": EVIDENCE_LABELS,
            "fmt": text.score,
            "delta": text.delta,
            "side": _side,
            "scope": principal.user.jurisdiction
            if principal.user.role_enum is Role.inspector
            else None,
            "quoted_period": quote(chosen.label),
        },
        principal=principal,
    )


@router.get("/assessments/{period}/report.html")
def report_html(
    request: Request, state: State, db: Db, principal: PageUser, period: str
) -> Response:
    outcome, chosen = _outcome(db, principal, state, period)
    _audit_export(db, principal, outcome, chosen, "html")
    return Response(
        render_html(outcome),
        media_type="text/html; charset=utf-8",
        headers={
            "content-security-policy": REPORT_CSP,
            "content-disposition": _attachment(f"assessment-{chosen.label}.html"),
        },
    )


@router.get("/assessments/{period}/report.xlsx")
def report_xlsx(
    request: Request, state: State, db: Db, principal: PageUser, period: str
) -> Response:
    import io

    outcome, chosen = _outcome(db, principal, state, period)
    _audit_export(db, principal, outcome, chosen, "xlsx")
    buffer = io.BytesIO()
    build_workbook(outcome).save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX_TYPE,
        headers={"content-disposition": _attachment(f"assessment-{chosen.label}.xlsx")},
    )


def _outcome(
    db: Session, principal: Principal, state: Any, period: str | None
) -> tuple[AssessmentOutcome, Period]:
    require_role(principal, Role.admin, Role.inspector)
    try:
        chosen = Period.parse(period) if period else _last_closed_quarter(utcnow())
        outcome = run_assessment(db, period=chosen, scheme=load_scheme(), now=utcnow())
    except UserError as error:
        raise HTTPException(400, str(error)) from error
    return _within_jurisdiction(outcome, access_for(state, db, principal).scope), chosen


def _within_jurisdiction(outcome: AssessmentOutcome, scope: list[str] | None) -> AssessmentOutcome:
    """Admins (scope None) see everything; inspectors the units in their subtree, the cadres
    whose unit lies in it, and the shortlist entries about either."""
    if scope is None:
        return outcome
    allowed = set(scope)
    result = outcome.result
    units = [c for c in result.units if c.subject_id in allowed]
    people = [c for c in result.people if c.unit_code in allowed]
    shown = {("unit", c.subject_id) for c in units} | {("person", c.subject_id) for c in people}
    commendations = [e for e in result.commendations if (e.subject_kind, e.subject_id) in shown]
    narrowed = result.model_copy(
        update={"units": units, "people": people, "commendations": commendations}
    )
    return outcome.model_copy(update={"result": narrowed, "history": []})


def _audit_export(
    db: Session, principal: Principal, outcome: AssessmentOutcome, period: Period, kind: str
) -> None:
    record(
        db,
        actor=actor_of(principal.user.username),
        action="assessment.export",
        subject_type="assessment",
        subject_id=outcome.assessment_id or period.label,
        detail={"period": period.label, "format": kind, "status": outcome.status},
        now=utcnow(),
    )


def _attachment(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def _side(card: Scorecard, side: str) -> Any:
    return card.side(Side(side)).score if card.sides else None


def _last_closed_quarter(now: dt.datetime) -> Period:
    return Period.containing(local_date(now), PeriodKind.quarter).previous()


def _recent_quarters(now: dt.datetime) -> list[str]:
    labels, current = [], _last_closed_quarter(now)
    for _ in range(6):
        labels.append(current.label)
        current = current.previous()
    return labels
