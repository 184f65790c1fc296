"""Inspection runs: one row per attempt to inspect a pack for a period and scope.

The row is written before any work starts and closed when the run ends, so a run killed halfway
stays visible as ``running`` until the next run of the same pack and scope takes the run lock
and marks it ``abandoned``; the re-run then repeats every step (each one is idempotent).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Float, Index, LargeBinary, String, Table, Text, Unicode, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dualduty.errors import NotFoundError
from models.base import Base


class RunState(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    abandoned = "abandoned"  # the process died; found by the next run of the same pack and scope


class RunCounts(BaseModel):
    """What a run did, step by step. Stored as JSON so a new count needs no migration."""

    model_config = ConfigDict(extra="forbid")

    units: int = 0
    people: int = 0
    evidence_fetched: int = 0
    evidence_new: int = 0
    evidence_changed: int = 0
    findings: int = 0
    passed: int = 0
    failed: int = 0
    no_evidence: int = 0
    cases_opened: int = 0
    cases_still_open: int = 0
    cases_reopened: int = 0
    cases_resolved: int = 0
    notifications: int = 0


class InspectionRun(Base):
    __tablename__ = "inspection_runs"
    __table_args__ = (Index("ix_inspection_runs__key", "pack", "scope", "period", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pack: Mapped[str] = mapped_column(String(100))
    pack_version: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    # Unit code of the subtree inspected; "" = the whole organisation (NULL would break equality
    # in lookups and in the lock name).
    scope: Mapped[str] = mapped_column(String(64), default="")
    trigger: Mapped[str] = mapped_column(String(32))  # cli, scheduler, prefect, demo
    state: Mapped[str] = mapped_column(String(16), default=RunState.running)
    step: Mapped[str] = mapped_column(String(32), default="")  # last step started
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(default=0)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def run_counts(self) -> RunCounts:
        return RunCounts.model_validate(self.counts or {})


def start(
    session: Session,
    *,
    pack: str,
    pack_version: str,
    period: str,
    scope: str | None,
    trigger: str,
    now: dt.datetime,
    flow_run_id: str | None = None,
) -> InspectionRun:
    run = InspectionRun(
        pack=pack,
        pack_version=pack_version,
        period=period,
        scope=scope or "",
        trigger=trigger,
        state=RunState.running,
        started_at=now,
        host=socket.gethostname(),
        pid=os.getpid(),
        flow_run_id=flow_run_id,
        counts={},
    )
    session.add(run)
    session.flush()
    return run


def get_or_raise(session: Session, *, run_id: int) -> InspectionRun:
    run = session.get(InspectionRun, run_id)
    if run is None:
        raise NotFoundError(f"检查运行不存在 / no inspection run {run_id}")
    return run


def mark_step(session: Session, *, run_id: int, step: str, counts: RunCounts) -> None:
    run = get_or_raise(session, run_id=run_id)
    run.step = step
    run.counts = counts.model_dump()


def finish(session: Session, *, run_id: int, counts: RunCounts, now: dt.datetime) -> InspectionRun:
    run = get_or_raise(session, run_id=run_id)
    run.state = RunState.succeeded
    run.counts = counts.model_dump()
    run.finished_at = now
    return run


def fail(session: Session, *, run_id: int, error: str, now: dt.datetime) -> InspectionRun:
    run = get_or_raise(session, run_id=run_id)
    run.state = RunState.failed
    run.error = error
    run.finished_at = now
    return run


def abandon_stale(session: Session, *, pack: str, scope: str | None, now: dt.datetime) -> int:
    """Close runs of this pack and scope left ``running`` by a process that died.

    Call only while holding the run lock of (pack, scope): then no such run can be alive.
    """
    stale = session.scalars(
        select(InspectionRun).where(
            InspectionRun.pack == pack,
            InspectionRun.scope == (scope or ""),
            InspectionRun.state == RunState.running,
        )
    ).all()
    for run in stale:
        run.state = RunState.abandoned
        run.finished_at = now
        run.error = f"进程中断，已由新的运行接替 / interrupted (pid {run.pid} on {run.host})"
    return len(stale)


def latest(session: Session, *, pack: str | None = None, limit: int = 20) -> list[InspectionRun]:
    query = select(InspectionRun).order_by(InspectionRun.id.desc()).limit(limit)
    if pack is not None:
        query = query.where(InspectionRun.pack == pack)
    return list(session.scalars(query).all())


# APScheduler's job store table, declared here with APScheduler's exact shape so that migrations
# create it with the rest of the schema (and autogenerate never proposes dropping it). The
# embedded scheduler (workflows/scheduler.py) points its SQLAlchemyJobStore at this table name.
SCHEDULER_JOBS_TABLE = "apscheduler_jobs"
scheduler_jobs = Table(
    SCHEDULER_JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
