"""Publishing assessments as versioned snapshots, and reading them back unchanged.

Publishing stores the scheme text, the input snapshot and the result together. Nothing later
(a new rule-pack version, an edited scheme, a re-inspection) rewrites it: a changed assessment
is issued as a new version, the old one is kept and marked superseded, and both are in the
audit log. Service functions take the session and never commit.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.inputs import AssessmentInputs
from assessments.loading import LoadedScheme, parse_scheme
from assessments.results import AssessmentResult
from assessments.scoring import score
from dualduty.errors import NotFoundError, UserError
from dualduty.problems import Problem
from models.assessments import Assessment, AssessmentStatus
from models.audit import record
from rules.periods import Period


def get_published(session: Session, *, scheme_name: str, period: str) -> Assessment | None:
    return session.scalars(
        select(Assessment).where(
            Assessment.scheme_name == scheme_name,
            Assessment.period == period,
            Assessment.status == AssessmentStatus.published.value,
        )
    ).one_or_none()


def get_or_raise(session: Session, *, assessment_id: int) -> Assessment:
    row = session.get(Assessment, assessment_id)
    if row is None:
        raise NotFoundError(f"考核结果不存在 / no assessment {assessment_id}")
    return row


def versions(session: Session, *, scheme_name: str, period: str) -> list[Assessment]:
    """Every version issued for the period, oldest first (superseded ones included)."""
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.scheme_name == scheme_name, Assessment.period == period)
            .order_by(Assessment.version)
        )
    )


def published_history(
    session: Session, *, scheme_name: str, before: Period, count: int
) -> list[Assessment]:
    """The published assessments of up to ``count`` periods of the same kind before ``before``,
    oldest first: the trend a report draws."""
    labels: list[str] = []
    current = before
    for _ in range(count):
        current = current.previous()
        labels.append(current.label)
    rows = session.scalars(
        select(Assessment).where(
            Assessment.scheme_name == scheme_name,
            Assessment.period.in_(labels),
            Assessment.status == AssessmentStatus.published.value,
        )
    )
    return sorted(rows, key=lambda r: Period.parse(r.period).start)


def publish(
    session: Session,
    *,
    scheme: LoadedScheme,
    inputs: AssessmentInputs,
    result: AssessmentResult,
    actor: str,
    now: dt.datetime,
    reissue: bool = False,
    reason: str = "",
) -> Assessment:
    """Store ``result`` as the published assessment of its period.

    With a version already published: the same scheme and inputs return it unchanged (publishing
    twice is harmless); anything different is refused unless ``reissue``, which supersedes it
    with a new version and keeps the old one.
    """
    if result.inputs_sha256 != inputs.sha256() or result.scheme_sha256 != scheme.sha256:
        raise ValueError("result was not computed from these inputs and this scheme")
    current = get_published(session, scheme_name=result.scheme_name, period=result.period)
    if current is not None and not reissue:
        if (current.scheme_sha256, current.inputs_sha256) == (scheme.sha256, inputs.sha256()):
            return current
        raise UserError(
            [
                Problem(
                    message=(
                        f"{result.period} 已发布第{current.version}版，方案或数据已变化；已发布结果保持不变 / "
                        f"version {current.version} of {result.period} is published and the "
                        "scheme or the data changed since; it stays as published"
                    ),
                    field="period",
                    hint="to issue a new version (the old one is kept), pass --reissue with a reason",
                )
            ]
        )
    if reissue and current is None:
        raise UserError(
            f"{result.period} 尚无已发布版本，无需重新发布 / nothing published for {result.period} "
            "to re-issue",
            hint="publish it with --publish",
        )
    if reissue and not reason.strip():
        raise UserError(
            "重新发布须说明理由 / a re-issue needs a written reason",
            hint='pass --reason "…" (e.g. 规则包修订后重新计算)',
        )
    issued = versions(session, scheme_name=result.scheme_name, period=result.period)
    version = max((r.version for r in issued), default=0) + 1
    if current is not None:
        current.status = AssessmentStatus.superseded.value
        current.superseded_at = now
        # Flushed first: the partial unique index allows one published row at a time.
        session.flush()
    row = Assessment(
        scheme_name=result.scheme_name,
        period=result.period,
        version=version,
        status=AssessmentStatus.published.value,
        scheme_version=result.scheme_version,
        scheme_sha256=scheme.sha256,
        scheme_text=scheme.text,
        pack_versions=result.pack_versions,
        inputs_sha256=result.inputs_sha256,
        inputs=inputs.model_dump(mode="json"),
        results_sha256=result.sha256(),
        results=result.model_dump(mode="json"),
        published_by=actor,
        published_at=now,
        reason=reason.strip(),
    )
    session.add(row)
    session.flush()
    if current is not None:
        current.superseded_by = row.id
    record(
        session,
        actor=actor,
        action="assessment.reissue" if current is not None else "assessment.publish",
        subject_type="assessment",
        subject_id=row.id,
        detail={
            "scheme": row.scheme_name,
            "period": row.period,
            "version": row.version,
            "scheme_sha256": row.scheme_sha256,
            "inputs_sha256": row.inputs_sha256,
            "results_sha256": row.results_sha256,
            "supersedes": current.id if current is not None else None,
            "reason": row.reason,
        },
        now=now,
    )
    session.flush()
    return row


def result_of(row: Assessment) -> AssessmentResult:
    return AssessmentResult.model_validate(row.results)


def inputs_of(row: Assessment) -> AssessmentInputs:
    return AssessmentInputs.model_validate(row.inputs)


def scheme_of(row: Assessment) -> LoadedScheme:
    return parse_scheme(row.scheme_text, source=f"assessment {row.id} scheme")


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    assessment_id: int
    inputs_intact: bool
    results_intact: bool
    rescored_identically: bool

    @property
    def ok(self) -> bool:
        return self.inputs_intact and self.results_intact and self.rescored_identically


def verify(session: Session, *, assessment_id: int) -> Verification:
    """Re-score a stored assessment from its own scheme text and inputs and compare."""
    row = get_or_raise(session, assessment_id=assessment_id)
    inputs = inputs_of(row)
    stored = result_of(row)
    rescored = score(scheme=scheme_of(row), inputs=inputs)
    return Verification(
        assessment_id=row.id,
        inputs_intact=inputs.sha256() == row.inputs_sha256,
        results_intact=stored.sha256() == row.results_sha256,
        rescored_identically=rescored == stored,
    )
