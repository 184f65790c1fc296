"""Assess a period end to end in one call: load the scheme and packs, score in one transaction,
write the reports. The CLI and the Prefect flow are both this call plus presentation."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from assessments.gather import rule_infos
from assessments.loading import load_scheme
from assessments.reports import ReportFiles, write_reports
from assessments.service import AssessmentOutcome, Status, run_assessment
from models.base import utcnow
from models.session import get_engine, session_scope
from rules.compiler import load_pack
from rules.periods import Period


class AssessmentRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: AssessmentOutcome
    files: ReportFiles
    seconds: float

    def brief(self) -> AssessmentBrief:
        result = self.outcome.result
        return AssessmentBrief(
            period=result.period,
            status=self.outcome.status,
            assessment_id=self.outcome.assessment_id,
            version=self.outcome.version,
            stale=self.outcome.stale,
            units=len(result.units),
            cadres=len(result.people),
            unrated=sum(c.score is None for c in result.units + result.people),
            shortlisted=sum(e.qualifies for e in result.commendations),
            html=str(self.files.html),
            xlsx=str(self.files.xlsx),
            seconds=round(self.seconds, 3),
        )


class AssessmentBrief(BaseModel):
    """What a flow returns and a log line shows: small, no scorecards."""

    model_config = ConfigDict(frozen=True)

    period: str
    status: Status
    assessment_id: int | None
    version: int | None
    stale: bool
    units: int
    cadres: int
    unrated: int
    shortlisted: int
    html: str
    xlsx: str
    seconds: float


def assess_period(
    *,
    period: str,
    out_dir: Path,
    scheme_path: Path | None = None,
    pack_paths: list[Path] | None = None,
    publish: bool = False,
    reissue: bool = False,
    reason: str = "",
    actor: str = "system",
    engine: Engine | None = None,
    now: dt.datetime | None = None,
) -> AssessmentRun:
    began = time.perf_counter()
    parsed = Period.parse(period)
    scheme = load_scheme(scheme_path)
    rules = rule_infos(load_pack(p) for p in pack_paths or [])
    with session_scope(engine or get_engine()) as session:
        outcome = run_assessment(
            session,
            period=parsed,
            scheme=scheme,
            rules=rules,
            publish_it=publish,
            reissue=reissue,
            reason=reason,
            actor=actor,
            now=now or utcnow(),
        )
    files = write_reports(outcome, out_dir)
    return AssessmentRun(outcome=outcome, files=files, seconds=time.perf_counter() - began)
