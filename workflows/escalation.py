"""An escalation pass as plain library code: advance every case whose next ladder step is due,
then deliver what the outbox holds. Run after each inspection and on its own schedule.

Both halves are idempotent (a ladder step is committed once per case; a notification is keyed
by case, step, channel and recipient), so a pass killed halfway and run again sends nothing
twice. Advancing is committed in batches, so a pass over many due cases never holds one huge
transaction and a kill loses at most one batch of work (which the next pass redoes).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from pydantic import BaseModel, Field

from dualduty.settings import get_settings
from evidence.relatives import StoredRelatives
from models.base import utcnow
from models.escalation import OrgRecipientResolver, escalate_due
from models.session import session_factory, session_scope
from models.users import no_declared_relatives
from notifiers.delivery import deliver_due
from rules.ladders import Ladder, default_ladders
from rules.workdays import WorkCalendar
from workflows.packs import load_pack

ADVANCE_BATCH = 200
DELIVERY_BATCH = 100
MAX_DELIVERY_PASSES = 50  # 5,000 messages per pass; the rest wait for the next pass


class EscalationReport(BaseModel):
    examined: int = 0  # due cases looked at
    fired: int = 0  # ladder steps taken
    queued: int = 0  # new outbox rows
    awaiting_approval: int = 0  # stopped at a step an inspector must approve
    failures: list[str] = Field(default_factory=list)  # "case 12: …", skipped this pass
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    seconds: float = 0.0  # time spent in the library, without any orchestration

    def __str__(self) -> str:
        return (
            f"{self.examined} due, {self.fired} steps, {self.queued} queued, "
            f"{self.awaiting_approval} awaiting approval, {self.delivered} delivered, "
            f"{self.retrying} retrying, {self.dead} dead, {len(self.failures)} failed"
        )


def ladders_and_titles(packs: Sequence[str]) -> tuple[dict[str, Ladder], dict[str, str]]:
    """The shipped ladders plus the packs' own, and rule titles for the messages."""
    ladders = default_ladders()
    titles: dict[str, str] = {}
    for path in packs:
        pack = load_pack(path)
        ladders.update(pack.compiled.ladders)
        titles.update({rule.id: rule.title.zh for rule in pack.rules.rules})
    return ladders, titles


def recipient_resolver() -> OrgRecipientResolver:
    """Recipients as the console routes cases: the same declared-relatives lookup (settings
    ``relatives_*``), so an inspector recused from a case is never sent its messages."""
    relatives = StoredRelatives.from_settings(get_settings()) or no_declared_relatives
    return OrgRecipientResolver(relatives=relatives)


def advance(*, packs: Sequence[str] = (), now: dt.datetime) -> EscalationReport:
    """Take every due ladder step, committing each batch of cases."""
    began = time.perf_counter()
    ladders, titles = ladders_and_titles(packs)
    calendar = WorkCalendar.from_settings()
    recipients = recipient_resolver()
    report = EscalationReport()
    after: int | None = None
    while True:
        with session_scope() as session:
            batch = escalate_due(
                session,
                ladders=ladders,
                now=now,
                calendar=calendar,
                recipients=recipients,
                titles=titles,
                after_case_id=after,
                limit=ADVANCE_BATCH,
            )
        report.examined += batch.examined
        report.fired += len(batch.fired)
        report.queued += sum(f.messages for f in batch.fired)
        report.awaiting_approval += len(batch.awaiting_approval)
        report.failures += [f"case {f.case_id}: {f.error}" for f in batch.failures]
        if batch.examined < ADVANCE_BATCH or batch.last_case_id is None:
            report.seconds = time.perf_counter() - began
            return report
        after = batch.last_case_id


def deliver() -> EscalationReport:
    """Deliver due outbox messages in batches until a batch comes back short. Delivery keeps
    its own clock (retries, backoff and rate limits need real time), so it takes no ``now``."""
    began = time.perf_counter()
    report = EscalationReport()
    for _ in range(MAX_DELIVERY_PASSES):
        result = deliver_due(session_factory(), limit=DELIVERY_BATCH)
        report.delivered += result.count("sent") + result.count("rerouted")
        report.retrying += result.count("waiting") + result.count("deferred")
        report.dead += result.count("dead") + result.count("lost")
        if len(result.outcomes) < DELIVERY_BATCH:
            break
    report.seconds = time.perf_counter() - began
    return report


def combine(advanced: EscalationReport, delivered: EscalationReport) -> EscalationReport:
    return advanced.model_copy(
        update={
            "delivered": delivered.delivered,
            "retrying": delivered.retrying,
            "dead": delivered.dead,
            "seconds": advanced.seconds + delivered.seconds,
        }
    )


def run_escalation(
    *, packs: Sequence[str] = (), now: dt.datetime | None = None
) -> EscalationReport:
    return combine(advance(packs=packs, now=now or utcnow()), deliver())
