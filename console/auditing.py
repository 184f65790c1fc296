"""The console's entries in the audit log: logins, failed logins, denied access, views,
decisions, comments.

``record`` writes inside the request's transaction (a decision and its audit entry land
together). ``record_and_commit`` commits at once, for events whose request fails: a denied
access or a failed login must be on record even though nothing else is saved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow


def actor_of(username: str) -> str:
    """``user:NAME`` for a named user (claimed or real); ``anonymous`` for none."""
    return f"user:{username}" if username else "anonymous"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    detail: dict[str, Any],
    now: dt.datetime,
) -> None:
    audit.record(
        session,
        actor=actor_of(actor),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
        now=now,
    )


def record_and_commit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    detail: dict[str, Any],
) -> None:
    """For events whose request then fails (a denied access, a failed login): commit now, so
    the refusal's rollback cannot take the entry with it. Done in the request's own session:
    a second connection would wait for the locks this one may already hold."""
    record(
        session,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
        now=utcnow(),
    )
    session.commit()
