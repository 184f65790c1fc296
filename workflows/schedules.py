"""From a pack's ``schedule:`` entries to what a scheduler runs: one job per entry, and the
period that job inspects when it fires. Shared by the embedded scheduler and the Prefect
deployments, so both run a pack at the same times for the same periods."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from rules.periods import Period, PeriodKind
from rules.schema import RulePack, Schedule


class ScheduledInspection(BaseModel):
    """One ``schedule:`` entry of one pack: when it fires and what it inspects then."""

    model_config = ConfigDict(frozen=True)

    pack: str  # the pack file's absolute path
    pack_name: str
    cron: str
    timezone: str
    period: PeriodKind
    offset: int
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
        which = "上一" if self.offset == -1 else ("本" if self.offset == 0 else f"{self.offset}")
        return (
            f"{self.pack_name} {self.scope or '全部/all'}: {self.cron} ({self.timezone}) "
            f"→ {which}{self.period} / period offset {self.offset:+d}"
        )


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


def period_due(*, period: PeriodKind, offset: int, timezone: str, now: dt.datetime) -> Period:
    """The period a run firing at ``now`` inspects: the pack's period kind, ``offset`` periods
    from the one containing the local date at ``now`` (the 5th of April 06:00 in Shanghai,
    month, -1 → 2026-03)."""
    local = now.astimezone(ZoneInfo(timezone)).date()
    schedule = Schedule(cron="0 0 * * *", timezone=timezone, period=period, offset=offset)
    return schedule.period_for(local)
