"""The one call the CLI, the Prefect flow and the console make: assess a period.

A period with a published assessment is shown as published: re-running it never changes the
announced scores. The current data are still scored, so the caller learns whether anything
moved since (``stale``) and can re-issue a new version on purpose. A draft (nothing published)
is scored from the current data each time; the same data give the same draft.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from assessments.gather import gather_inputs
from assessments.inputs import PreviousScore, PreviousScores, RuleInfo
from assessments.loading import LoadedScheme
from assessments.results import AssessmentResult
from assessments.scoring import score
from assessments.snapshots import get_published, publish, published_history, result_of
from dualduty.errors import UserError
from dualduty.problems import Problem
from dualduty.settings import get_settings
from rules.periods import Period

HISTORY_PERIODS = 4

Status = Literal["draft", "published", "unchanged", "reissued", "published_stands"]
STATUS_LABELS: dict[str, str] = {
    "draft": "草稿（未发布）/ draft, not published",
    "published": "已发布 / published",
    "unchanged": "已发布，内容未变 / already published, unchanged",
    "reissued": "已重新发布新版本 / re-issued as a new version",
    "published_stands": "已发布版本保持不变 / the published version stands",
}


class AssessmentOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: AssessmentResult = Field(description="What to show: the published one if any.")
    status: Status
    assessment_id: int | None = None
    version: int | None = None
    stale: bool = Field(
        default=False,
        description="A published version exists and today's data or scheme score differently.",
    )
    history: list[AssessmentResult] = Field(
        default_factory=list, description="Published results of earlier periods, oldest first."
    )
    notes: list[str] = Field(default_factory=list)

    @property
    def status_label(self) -> str:
        label = STATUS_LABELS[self.status]
        return f"{label}（第{self.version}版）" if self.version else label


def run_assessment(
    session: Session,
    *,
    period: Period,
    scheme: LoadedScheme,
    rules: list[RuleInfo] | None = None,
    publish_it: bool = False,
    reissue: bool = False,
    reason: str = "",
    actor: str = "system",
    now: dt.datetime,
) -> AssessmentOutcome:
    name = scheme.scheme.scheme
    current = get_published(session, scheme_name=name, period=period.label)
    inputs = gather_inputs(
        session,
        period=period,
        scheme=scheme.scheme,
        rules=rules,
        previous=_previous_scores(session, period=period, scheme=scheme, rules=rules),
    )
    result = score(scheme=scheme, inputs=inputs)
    history = [
        result_of(row)
        for row in published_history(
            session, scheme_name=name, before=period, count=HISTORY_PERIODS
        )
    ]
    notes = _notes(scheme, rules, inputs.pack_versions())
    if publish_it or reissue:
        _require_closed(period, now)
        row = publish(
            session,
            scheme=scheme,
            inputs=inputs,
            result=result,
            actor=actor,
            now=now,
            reissue=reissue,
            reason=reason,
        )
        status: Status
        if current is not None and row.id == current.id:
            status = "unchanged"
        else:
            status = "reissued" if reissue else "published"
        return AssessmentOutcome(
            result=result_of(row),
            status=status,
            assessment_id=row.id,
            version=row.version,
            history=history,
            notes=notes,
        )
    if current is not None:
        stale = (current.scheme_sha256, current.inputs_sha256) != (scheme.sha256, inputs.sha256())
        if stale:
            notes.append(
                f"当前方案或数据的计算结果与已发布第{current.version}版不同；已发布结果保持不变，"
                "如需更新请用 --reissue 发布新版本 / today's scheme or data score differently "
                "from the published version, which stands; re-issue to publish a new version"
            )
        return AssessmentOutcome(
            result=result_of(current),
            status="published_stands",
            assessment_id=current.id,
            version=current.version,
            stale=stale,
            history=history,
            notes=notes,
        )
    return AssessmentOutcome(result=result, status="draft", history=history, notes=notes)


def _previous_scores(
    session: Session, *, period: Period, scheme: LoadedScheme, rules: list[RuleInfo] | None
) -> PreviousScores:
    """The previous period's published scores, or, when it was never published, its scores
    computed from today's data (said so in ``source``)."""
    before = period.previous()
    row = get_published(session, scheme_name=scheme.scheme.scheme, period=before.label)
    if row is not None:
        previous = result_of(row)
        source = f"已发布第{row.version}版 / published version {row.version}"
    else:
        inputs = gather_inputs(session, period=before, scheme=scheme.scheme, rules=rules)
        previous = score(scheme=scheme, inputs=inputs)
        source = "未发布，按当前数据计算 / not published: computed from today's data"
    return PreviousScores(
        period=before.label,
        source=source,
        scores=[
            PreviousScore(subject_kind=c.subject_kind, subject_id=c.subject_id, score=c.score)
            for c in previous.units + previous.people
        ],
    )


def _require_closed(period: Period, now: dt.datetime) -> None:
    today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    if period.end >= today:
        raise UserError(
            [
                Problem(
                    message=(
                        f"{period.label} 尚未结束（至 {period.end}），不能发布 / the period has not "
                        f"ended (it ends {period.end}); only closed periods are published"
                    ),
                    field="period",
                    hint="run without --publish to see a draft",
                )
            ]
        )


def _notes(scheme: LoadedScheme, rules: list[RuleInfo] | None, packs: list[str]) -> list[str]:
    notes = []
    uses_tags = any(d.match.tags for d in scheme.scheme.deductions) or any(
        b.passing is not None and b.passing.tags for b in scheme.scheme.bonuses
    )
    known = {r.pack for r in rules or []}
    missing = sorted({p.split("@")[0] for p in packs} - known)
    if missing:
        notes.append(
            f"未提供规则包 {', '.join(missing)}：报告显示规则编号而非标题"
            + ("，按目录项（tags）匹配的扣分项不会匹配" if uses_tags else "")
            + " / packs not given: rule ids shown instead of titles"
            + (", and items matching on tags cannot match" if uses_tags else "")
        )
    return notes
