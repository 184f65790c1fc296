"""What an inspection's findings become: verdict sets for all of them, cases for those that act.

The engine hands over every verdict as one Arrow table (a million rows for a large company, most
of them passes). All of it is kept, columnar, as verdict sets (``models.verdicts``), which is what
assessments read. Only the findings a case is made of cross into Python objects and the
``findings`` table: failures (which open or keep cases) and findings on keys that already have a
case (a pass resolves it, a no-evidence finding is recorded on it). Everything is written in the
caller's transaction, so a run killed halfway leaves nothing half-recorded.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel
from sqlalchemy.orm import Session

from models.audit import lock_chain
from models.cases import ReconcileReport, case_keys, reconcile
from models.verdicts import StoredVerdicts, store_verdicts
from rules.engine import findings
from rules.findings import FindingKey, Verdict

_KEY_SEPARATOR = "\x1f"


class Recorded(BaseModel):
    verdicts: StoredVerdicts
    cases: ReconcileReport


def record_findings(
    session: Session,
    table: pa.Table,
    *,
    inspected: str,
    scope: str | None,
    inspection_id: int | None,
    now: dt.datetime,
) -> Recorded:
    """Store the verdict sets of ``table`` (``rules.engine.FINDINGS_SCHEMA``) and reconcile the
    findings that act on cases. ``inspected`` is the inspection's period label."""
    # The chain lock first (reconcile takes it too): cases read below are then current.
    lock_chain(session)
    stored = store_verdicts(
        session, table, inspected=inspected, scope=scope, inspection_id=inspection_id, now=now
    )
    packs = table["pack"].unique().to_pylist() if table.num_rows else []
    acting = actionable(table, case_keys(session, packs=[p for p in packs if p is not None]))
    report = reconcile(session, findings=findings(acting), inspection_id=inspection_id, now=now)
    return Recorded(verdicts=stored, cases=report)


def actionable(table: pa.Table, keys: set[FindingKey]) -> pa.Table:
    """The failures, and every finding whose key has a case."""
    failed = pc.equal(table["verdict"], Verdict.failed.value)
    if not keys:
        return table.filter(failed)
    joined = pc.binary_join_element_wise(
        table["rule_id"].cast(pa.string()),
        table["subject_id"],
        table["period"],
        _KEY_SEPARATOR,
    )
    wanted = pa.array([_KEY_SEPARATOR.join(key) for key in keys], pa.string())
    return table.filter(pc.or_(failed, pc.is_in(joined, value_set=wanted)))
