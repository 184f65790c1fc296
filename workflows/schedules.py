"""From ``schedule:`` entries to what a scheduler runs: one job per entry, and the period that job
covers when it fires. A pack's entries are inspections, an assessment scheme's are assessments.
Shared by the embedded scheduler and the Prefect deployments, so both run them at the same times
for the same periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from rules.periods import Period, PeriodKind
from rules.schema import RulePack, Schedule

if TYPE_CHECKING:
    from assessments.scheme import Scheme


class ScheduledRun(BaseModel):
    """One ``schedule:`` entry: when it fires and which period a firing covers."""

    model_config = ConfigDict(frozen=True)

    cron: str
    timezone: str
    period: PeriodKind
    offset: int

    def due(self, now: dt.datetime) -> Period:
        """The period a firing at ``now`` covers."""
        return period_due(period=self.period, offset=self.offset, timezone=self.timezone, now=now)

    def when(self) -> str:
        which = "上一" if self.offset == -1 else ("本" if self.offset == 0 else f"{self.offset}")
        return (
            f"{self.cron} ({self.timezone}) → {which}{self.period} / period offset {self.offset:+d}"
        )


class ScheduledInspection(ScheduledRun):
    """One ``schedule:`` entry of one pack: when it fires and what it inspects then."""

    pack: str  # the pack file's absolute path
    pack_name: str
    scope: str | None

    @property
    def job_id(self) -> str:
        return f"inspect:{self.pack_name}:{self.scope or '*'}:{self.period}{self.offset:+d}"

    @property
    def schedule(self) -> Schedule:
        return Schedule(
            cron=self.cron,
            timezone=self.timezone,
            period=self.period,
            offset=self.offset,
            scope=self.scope,
        )

    def describe(self) -> str:
        return f"{self.pack_name} {self.scope or '全部/all'}: {self.when()}"


class ScheduledAssessment(ScheduledRun):
    """One ``schedule:`` entry of an assessment scheme: when it fires and what it assesses."""

    scheme: str  # the scheme file's absolute path
    scheme_name: str
    packs: list[str]  # rule packs for rule titles and catalogue tags (absolute paths)
    publish: bool  # the scheme's auto_publish: publish the closed period, else leave a draft

    @property
    def job_id(self) -> str:
        return f"assess:{self.scheme_name}:{self.period}{self.offset:+d}"

    def describe(self) -> str:
        outcome = "自动发布 / published" if self.publish else "草稿 / draft"
        return f"考核 / assessment {self.scheme_name}: {self.when()}, {outcome}"


def scheduled_inspections(pack: RulePack, path: str) -> list[ScheduledInspection]:
    return [
        ScheduledInspection(
            pack=path,
            pack_name=pack.pack,
            cron=entry.cron,
            timezone=entry.timezone,
            period=entry.period,
            offset=entry.offset,
            scope=entry.scope,
        )
        for entry in pack.schedule
    ]


def scheduled_assessments(
    scheme: Scheme, path: str, packs: Sequence[str]
) -> list[ScheduledAssessment]:
    return [
        ScheduledAssessment(
            scheme=path,
            scheme_name=scheme.scheme,
            packs=list(packs),
            publish=scheme.auto_publish,
            cron=entry.cron,
            timezone=entry.timezone,
            period=entry.period,
            offset=entry.offset,
        )
        for entry in scheme.schedule
    ]


def period_due(*, period: PeriodKind, offset: int, timezone: str, now: dt.datetime) -> Period:
    """The period a run firing at ``now`` covers: the entry's period kind, ``offset`` periods
    from the one containing the local date at ``now`` (the 5th of April 06:00 in Shanghai,
    month, -1 → 2026-03)."""
    local = now.astimezone(ZoneInfo(timezone)).date()
    schedule = Schedule(cron="0 0 * * *", timezone=timezone, period=period, offset=offset)
    return schedule.period_for(local)
