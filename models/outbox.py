"""The notification outbox: a message is a row first, then a delivery.

Escalation writes rows with ``enqueue`` in the same transaction as the case change that caused
them, so a case never moves without its notice and a notice never exists for a change that was
rolled back. Delivery (``notifiers.delivery``) claims due rows later, in any number of processes.

The idempotency key is (case, step, channel, recipient): enqueueing the same notice twice (an
escalation run killed halfway and re-run, two schedulers) never makes a second row. The key is
stored as a SHA-256 so it is fixed-length, ASCII (it travels in HTTP headers and Message-IDs)
and unique even when ``case_id`` is NULL.

States::

    pending ──claim──> sending ──> sent
       ^                  │  ├──> pending (retry: next_attempt_at in the future, "waiting")
       │                  │  ├──> dead (permanent error, or max attempts; last_error kept)
       │                  │  └──> rerouted (no address on this channel: a row on the fallback)
       │                  └─(lease expired: the deliverer died)─> claimable again
       ├── digested (folded into one daily digest row for the recipient)
       └── retry (CLI) <── dead

Rate-limit state lives here too (``ChannelGate``, ``RateEvent``): limits hold across processes,
so they are kept in the database rather than in one deliverer's memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, Index, Integer, String, Text, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from dualduty.errors import NotFoundError, UserError
from dualduty.settings import get_settings
from models.base import Base, PortableJSON

GROUP_PREFIX = "group:"


class OutboxState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    dead = "dead"
    rerouted = "rerouted"
    digested = "digested"


STATE_LABELS: dict[OutboxState, str] = {
    OutboxState.pending: "待发送 / pending",
    OutboxState.sending: "发送中 / sending",
    OutboxState.sent: "已发送 / sent",
    OutboxState.dead: "失败 / dead",
    OutboxState.rerouted: "已转备用渠道 / rerouted",
    OutboxState.digested: "已并入汇总 / in digest",
}


class Notice(BaseModel):
    """What a message template may say about a case: names, dates and a link, never evidence.

    Messages go to chat groups and mailboxes outside the discipline system, so a notice carries
    only what is needed to act (which duty, which period, by when) and a link to the console
    where the detail is shown to those entitled to see it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    template: str = Field(
        pattern=r"^[a-z][a-z0-9_-]*$", description="模板名 / template name, e.g. overdue"
    )
    language: Literal["zh", "en"] = "zh"
    case_id: int | None = None
    case_url: str | None = Field(
        default=None, description="Link to the case; filled from settings.console_url if empty."
    )
    rule_id: str = ""
    rule_title: str = ""
    side: str = Field(default="", description="业务 / 党风廉政 (business / integrity)")
    severity: str = ""
    subject_name: str = Field(default="", description="The unit or person the case is about.")
    unit_name: str = ""
    bearer_name: str = ""
    recipient_name: str = Field(default="", description="Filled from the org at delivery.")
    period: str = ""
    step: str = ""
    step_name: str = Field(default="", description="e.g. 逾期催办 / overdue notice")
    due_date: dt.date | None = None
    note: str = Field(default="", max_length=200, description="One short line, no detail.")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages__due", "state", "next_attempt_at"),
        Index("ix_outbox_messages__channel_state", "channel", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    # "single": one notice; "digest": the notices of one recipient folded into one message.
    kind: Mapped[str] = mapped_column(String(16), default="single")
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    step: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    notice: Mapped[dict[str, Any]]
    # Digest rows: the folded notices, in order.
    digest_items: Mapped[list[dict[str, Any]] | None] = mapped_column(PortableJSON)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    # Where this row went instead: the fallback row (rerouted) or the digest row (digested).
    forwarded_to: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    @property
    def is_group(self) -> bool:
        return self.recipient.startswith(GROUP_PREFIX)

    def notice_model(self) -> Notice:
        return Notice.model_validate(self.notice)

    def digest_notices(self) -> list[Notice]:
        return [Notice.model_validate(item) for item in self.digest_items or []]


class ChannelGate(Base):
    """One row per channel: serialises rate-limit decisions and holds a throttling pause.

    Deliverers lock this row (an UPDATE, which locks on PostgreSQL and takes SQLite's write
    lock) before counting recent sends, so two processes cannot both take the last slot.
    """

    __tablename__ = "outbox_channel_gates"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_until: Mapped[dt.datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(300))
    touched_at: Mapped[dt.datetime | None]


class RateEvent(Base):
    """One request made to a channel: the sliding-window log that rate limits count."""

    __tablename__ = "outbox_rate_events"
    __table_args__ = (Index("ix_outbox_rate_events__channel_at", "channel", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]


def dedup_key(*, case_id: int | None, step: str, channel: str, recipient: str) -> str:
    raw = "\x1f".join(["-" if case_id is None else str(case_id), step, channel, recipient])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def group_recipient(name: str) -> str:
    """The recipient string for a named group (a channel's group robot or list address)."""
    return GROUP_PREFIX + name


def case_url(case_id: int) -> str:
    return f"{get_settings().console_url.rstrip('/')}/cases/{case_id}"


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: atomic on both dialects, so two escalation runs racing
    on the same key make one row and neither fails."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    return session.execute(statement).scalar_one_or_none()


def enqueue(
    session: Session,
    *,
    case_id: int | None,
    step: str,
    channel: str,
    recipient: str,
    notice: Notice,
    now: dt.datetime,
    kind: Literal["single", "digest"] = "single",
    digest_items: list[Notice] | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox; None when this (case, step, channel, recipient) exists.

    ``recipient`` is a person code (工号) or ``group:NAME`` (see ``group_recipient``).
    """
    problems = []
    for field, value in (("step", step), ("channel", channel), ("recipient", recipient)):
        if not value.strip():
            problems.append(f"{field} 不能为空 / {field} must not be empty")
    if problems:
        raise UserError("; ".join(problems))
    if notice.case_url is None and case_id is not None:
        notice = notice.model_copy(update={"case_url": case_url(case_id)})
    new_id = _insert_ignoring_duplicates(
        session,
        {
            "dedup_key": dedup_key(
                case_id=case_id, step=step, channel=channel, recipient=recipient
            ),
            "kind": kind,
            "case_id": case_id,
            "step": step,
            "channel": channel,
            "recipient": recipient,
            "notice": notice.model_dump(mode="json"),
            "digest_items": (
                None if digest_items is None else [n.model_dump(mode="json") for n in digest_items]
            ),
            "state": OutboxState.pending.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )
    if new_id is None:
        return None
    return session.get_one(OutboxMessage, new_id)


def get_or_raise(session: Session, *, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFoundError(
            f"通知不存在 / no outbox message {message_id}", hint="see `dualduty notify list`"
        )
    return message


def list_messages(
    session: Session,
    *,
    state: OutboxState | None = None,
    channel: str | None = None,
    case_id: int | None = None,
    limit: int = 100,
) -> list[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        statement = statement.where(OutboxMessage.state == state.value)
    if channel is not None:
        statement = statement.where(OutboxMessage.channel == channel)
    if case_id is not None:
        statement = statement.where(OutboxMessage.case_id == case_id)
    return list(session.scalars(statement))


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ).all()
    return {state: count for state, count in rows}


def requeue(
    session: Session,
    *,
    now: dt.datetime,
    dead: bool = False,
    message_id: int | None = None,
) -> int:
    """Put messages back to pending, due now; returns how many.

    Without ``message_id``: ``dead=False`` hurries the waiting ones (pending, in backoff),
    ``dead=True`` revives the dead ones with a fresh attempt budget. With ``message_id``: that
    message, if it is dead or waiting. Sent messages are never re-sent this way.
    """
    if message_id is not None:
        get_or_raise(session, message_id=message_id)
        states = [OutboxState.dead.value, OutboxState.pending.value]
    else:
        states = [OutboxState.dead.value if dead else OutboxState.pending.value]
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.state.in_(states))
        .values(
            state=OutboxState.pending.value,
            next_attempt_at=now,
            # A revived dead message gets a fresh attempt budget; a hurried one keeps its count.
            attempts=case(
                (OutboxMessage.state == OutboxState.dead.value, 0), else_=OutboxMessage.attempts
            ),
            lease_until=None,
            claim_token=None,
            updated_at=now,
        )
    )
    if message_id is not None:
        statement = statement.where(OutboxMessage.id == message_id)
    elif not dead:
        statement = statement.where(OutboxMessage.next_attempt_at > now)
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
