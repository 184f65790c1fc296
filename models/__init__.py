"""Tables and the keyword-only service functions that change them.

Service functions take the session and never commit: the caller owns the transaction, so an
inspection's reconcile, its audit entries and its outbox rows land together or not at all.
Importing this package registers every table on ``Base.metadata`` (Alembic and tests rely on it).
"""

from models import (
    assessments,
    audit,
    cases,
    evidence,
    findings,
    inbox,
    inspections,
    org,
    outbox,
    users,
    verdicts,
)
from models.base import Base

__all__ = [
    "Base",
    "assessments",
    "audit",
    "cases",
    "evidence",
    "findings",
    "inbox",
    "inspections",
    "org",
    "outbox",
    "users",
    "verdicts",
]
