"""The in-app inbox: notices shown in the console to the person they are for.

It is the channel of last resort (every other channel falls back to it when a person has no
address there), and the only exactly-once channel: an item is inserted in the same transaction
that marks its outbox row sent, and ``outbox_id`` is unique, so a crash or a second deliverer
can never make two items of one message.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class InboxItem(Base):
    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items__recipient_read", "recipient", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), unique=True
    )
    # A person code (工号), or group:NAME for a group's shared inbox.
    recipient: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]


def add_item(
    session: Session,
    *,
    outbox_id: int | None,
    recipient: str,
    case_id: int | None,
    title: str,
    body_markdown: str,
    link: str | None,
    now: dt.datetime,
) -> InboxItem:
    item = InboxItem(
        outbox_id=outbox_id,
        recipient=recipient,
        case_id=case_id,
        title=title[:300],
        body_markdown=body_markdown,
        link=link,
        created_at=now,
        read_at=None,
    )
    session.add(item)
    session.flush()
    return item


def list_items(
    session: Session,
    *,
    recipient: str,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[InboxItem]:
    """Newest first."""
    statement = (
        select(InboxItem)
        .where(InboxItem.recipient == recipient)
        .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if unread_only:
        statement = statement.where(InboxItem.read_at.is_(None))
    return list(session.scalars(statement))


def unread_count(session: Session, *, recipient: str) -> int:
    statement = (
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.recipient == recipient, InboxItem.read_at.is_(None))
    )
    return int(session.scalar(statement) or 0)


def mark_read(
    session: Session, *, recipient: str, now: dt.datetime, item_ids: list[int] | None = None
) -> int:
    """Mark the recipient's items read (all unread ones when ``item_ids`` is None).

    The recipient is part of the condition, so a console user can only ever mark their own items.
    """
    statement = (
        update(InboxItem)
        .where(InboxItem.recipient == recipient, InboxItem.read_at.is_(None))
        .values(read_at=now)
    )
    if item_ids is not None:
        statement = statement.where(InboxItem.id.in_(item_ids))
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
