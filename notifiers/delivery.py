"""Delivery: claim due outbox rows, render, respect rate limits, send, record the outcome.

Any number of deliverers may run at once (two schedulers, a CLI pass during a flow run):

* A row is *claimed* in its own short transaction: state ``sending`` with a lease and a token.
  PostgreSQL picks the row with ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite, whose writers are
  serialised anyway, with the same atomic ``UPDATE … WHERE state = 'pending'``. The outcome is
  recorded with ``WHERE claim_token = <ours>``, so a deliverer that lost its lease cannot
  overwrite the row.
* Network I/O happens outside any transaction; rows are claimed one at a time so a lease never
  covers a message that waits behind others.
* Rate limits count requests in the database (``RateEvent``) under a per-channel row lock
  (``ChannelGate``), so 20/min per robot holds across processes. A throttling answer pauses
  the channel for every deliverer.

What a crash between the send and its record does, per channel (the lease expires, the row
is claimed again, and the lost attempt is counted):

* inbox: nothing is lost or doubled; the item is written in the transaction that marks the row
  sent, so both commit or neither does.
* webhook: re-sent with the same ``Idempotency-Key``; a receiver that de-duplicates by it
  (and answers 2xx or 409) shows it once.
* e-mail: re-sent with the same Message-ID; mail systems and clients that de-duplicate by
  Message-ID show it once, others show two identical mails.
* DingTalk, WeCom, Feishu robots: these APIs have no idempotency key. The one message that was
  in flight at the crash may arrive twice (at-least-once). Never more than that one: every
  other row is either recorded or was never sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import httpx
import jinja2
from pydantic import BaseModel
from sqlalchemy import and_, case, delete, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dualduty.errors import UserError
from dualduty.settings import get_settings
from models.org import Person
from models.outbox import (
    GROUP_PREFIX,
    ChannelGate,
    Notice,
    OutboxMessage,
    OutboxState,
    RateEvent,
    enqueue,
)
from notifiers.base import (
    Address,
    ChannelBase,
    Delivery,
    DeliveryError,
    Message,
    PermanentError,
    RateLimit,
    RetryableError,
    SendContext,
    redact,
)
from notifiers.channels import Channels, load_channels
from notifiers.rendering import DIGEST, Rendered, TemplateSet, template_set

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SteppingClock:
    """Starts at a given instant and moves only when slept on: for tests and dry runs."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter: half the delay fixed, half random, so retries of
    a channel that was down spread out instead of arriving together when it returns."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        raw = min(self.cap_seconds, self.base_seconds * float(2 ** max(0, attempts - 1)))
        return raw / 2 + rng.uniform(0, raw / 2)


OutcomeState = Literal["sent", "waiting", "dead", "rerouted", "deferred", "lost"]


class Outcome(BaseModel):
    outbox_id: int
    channel: str
    recipient: str
    state: OutcomeState
    detail: str = ""


class DeliveryReport(BaseModel):
    outcomes: list[Outcome] = []
    digests_built: int = 0
    notices_folded: int = 0

    def count(self, state: OutcomeState) -> int:
        return sum(1 for outcome in self.outcomes if outcome.state == state)

    def summary(self) -> str:
        parts = [
            f"已发送/sent {self.count('sent')}",
            f"待重试/waiting {self.count('waiting')}",
            f"限流顺延/deferred {self.count('deferred')}",
            f"转备用/rerouted {self.count('rerouted')}",
            f"失败/dead {self.count('dead')}",
        ]
        if self.digests_built:
            parts.append(f"汇总/digests {self.digests_built} ({self.notices_folded} notices)")
        return ", ".join(parts)


@dataclass
class _Pass:
    """What one delivery pass carries from message to message."""

    session_factory: SessionFactory
    channels: Channels
    templates: TemplateSet
    clock: Clock
    http: httpx.Client
    backoff: Backoff
    rng: random.Random
    lease: dt.timedelta
    max_wait_seconds: float
    environ: Mapping[str, str] | None
    secrets: list[str]
    report: DeliveryReport
    skip_channels: set[str] = field(default_factory=set)

    def context(self, session: Session | None = None, *, timeout: float = 10.0) -> SendContext:
        return SendContext(
            http=self.http,
            session=session,
            environ=None if self.environ is None else dict(self.environ),
            now=self.clock.now(),
            timeout=timeout,
        )

    def clean(self, text: str) -> str:
        return redact(text, self.secrets)[:1000]

    def outcome(self, row: OutboxMessage, state: OutcomeState, detail: str = "") -> None:
        detail = self.clean(detail)
        self.report.outcomes.append(
            Outcome(
                outbox_id=row.id,
                channel=row.channel,
                recipient=row.recipient,
                state=state,
                detail=detail,
            )
        )
        log = logger.warning if state in ("dead", "lost") else logger.info
        log("outbox #%s %s -> %s: %s %s", row.id, row.channel, row.recipient, state, detail)


# --- addresses and rendering ----------------------------------------------------------------


def resolve_address(session: Session, *, channel: ChannelBase, recipient: str) -> Address | None:
    """The recipient's address on ``channel``; None when it has none there (use the fallback).

    Raises PermanentError for a person code that is not in the organisation at all.
    """
    if recipient.startswith(GROUP_PREFIX):
        name = recipient[len(GROUP_PREFIX) :]
        if channel.accepts_any_group:
            return Address(recipient=recipient, name=name, is_group=True)
        if name in channel.groups:
            return Address(
                recipient=recipient, name=name, value=channel.groups[name], is_group=True
            )
        return None
    person = session.get(Person, recipient)
    if person is None:
        raise PermanentError(f"未知人员 / unknown person {recipient!r}")
    key = channel.contact_key()
    if key is None:
        return Address(recipient=recipient, name=person.name, value=recipient)
    value = (person.contacts or {}).get(key)
    if not value or not isinstance(value, str):
        return None
    return Address(recipient=recipient, name=person.name, value=value)


def _local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def render_row(templates: TemplateSet, row: OutboxMessage, address: Address) -> Rendered:
    if row.kind == "digest":
        notices = row.digest_notices()
        language = row.notice_model().language
        day = dt.date.fromisoformat(row.notice_model().period)
        return templates.render_digest(
            notices, recipient_name=address.name, day=day, language=language
        )
    notice = row.notice_model()
    if not notice.recipient_name and address.name and not address.is_group:
        notice = notice.model_copy(update={"recipient_name": address.name})
    return templates.render(notice)


def build_message(row: OutboxMessage, address: Address, rendered: Rendered) -> Message:
    notice = row.notice_model()
    console = get_settings().console_url.rstrip("/")
    return Message(
        outbox_id=row.id,
        key=row.dedup_key,
        channel=row.channel,
        address=address,
        title=rendered.title,
        markdown=rendered.markdown,
        link=notice.case_url or console,
        language=notice.language,
        case_id=row.case_id,
        step=row.step,
        template=notice.template,
    )


# --- claiming and recording -----------------------------------------------------------------


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            OutboxMessage.state == OutboxState.pending.value,
            OutboxMessage.next_attempt_at <= now,
        ),
        and_(
            OutboxMessage.state == OutboxState.sending.value,
            OutboxMessage.lease_until < now,
        ),
    )


def _claim_next(p: _Pass) -> tuple[int, str] | None:
    now = p.clock.now()
    token = uuid.uuid4().hex
    with p.session_factory() as session, session.begin():
        paused = set(
            session.scalars(select(ChannelGate.channel).where(ChannelGate.paused_until > now))
        )
        excluded = p.skip_channels | paused
        candidates = (
            select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if excluded:
            candidates = candidates.where(OutboxMessage.channel.not_in(sorted(excluded)))
        digest_channels = p.channels.digest_channels()
        if digest_channels:
            # Single notices on a digest channel wait to be folded; only digests go out.
            candidates = candidates.where(
                not_(
                    and_(
                        OutboxMessage.kind == "single",
                        OutboxMessage.channel.in_(digest_channels),
                    )
                )
            )
        target: ColumnElement[bool]
        if session.get_bind().dialect.name == "postgresql":
            # Lock the candidate row, skipping rows other deliverers hold: they never wait on
            # each other and never claim the same row.
            row_id = session.scalar(candidates.with_for_update(skip_locked=True))
            if row_id is None:
                return None
            target = OutboxMessage.id == row_id
        else:
            # SQLite runs one writer at a time: this UPDATE picks and claims atomically.
            target = OutboxMessage.id == candidates.scalar_subquery()
        interrupted = OutboxMessage.state == OutboxState.sending.value
        claimed = session.execute(
            update(OutboxMessage)
            .where(target, _due(now))
            .values(
                state=OutboxState.sending.value,
                lease_until=now + p.lease,
                claim_token=token,
                updated_at=now,
                # A lease that expired means a deliverer died mid-send: count that attempt.
                attempts=case(
                    (interrupted, OutboxMessage.attempts + 1), else_=OutboxMessage.attempts
                ),
                last_error=case(
                    (interrupted, "上次投递中断 / previous attempt interrupted (lease expired)"),
                    else_=OutboxMessage.last_error,
                ),
            )
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    if claimed is None:
        return None
    return claimed, token


def _finish(session: Session, row_id: int, token: str, now: dt.datetime, **values: object) -> bool:
    """Record an outcome if the claim is still ours; False when another deliverer took over."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
        .values(lease_until=None, claim_token=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _record(
    p: _Pass, row: OutboxMessage, token: str, outcome: OutcomeState, **values: object
) -> None:
    with p.session_factory() as session, session.begin():
        if not _finish(session, row.id, token, p.clock.now(), **values):
            outcome, values = "lost", {"last_error": "lease lost to another deliverer"}
    p.outcome(row, outcome, str(values.get("last_error") or values.get("provider_ref") or ""))


def _mark_dead(p: _Pass, row: OutboxMessage, token: str, error: str) -> None:
    _record(
        p,
        row,
        token,
        "dead",
        state=OutboxState.dead.value,
        attempts=row.attempts + 1,
        last_error=p.clean(error),
    )


def _release(p: _Pass, row: OutboxMessage, token: str, until: dt.datetime, reason: str) -> None:
    """Give the row back without counting an attempt (rate limit, paused channel)."""
    with p.session_factory() as session, session.begin():
        _finish(
            session,
            row.id,
            token,
            p.clock.now(),
            state=OutboxState.pending.value,
            next_attempt_at=until,
        )
    p.outcome(row, "deferred", reason)


def _reroute(p: _Pass, row: OutboxMessage, token: str, channel: ChannelBase) -> None:
    reason = f"收件人在渠道 {row.channel} 上无地址 / recipient has no address on {row.channel}"
    if channel.fallback is None:
        _mark_dead(p, row, token, reason + "; 无备用渠道 / no fallback channel")
        return
    now = p.clock.now()
    with p.session_factory() as session, session.begin():
        fallback_row = enqueue(
            session,
            case_id=row.case_id,
            step=row.step,
            channel=channel.fallback,
            recipient=row.recipient,
            notice=row.notice_model(),
            now=now,
            kind="digest" if row.kind == "digest" else "single",
            digest_items=row.digest_notices() if row.kind == "digest" else None,
        )
        forwarded = fallback_row.id if fallback_row is not None else None
        if not _finish(
            session,
            row.id,
            token,
            now,
            state=OutboxState.rerouted.value,
            last_error=f"{reason} -> {channel.fallback}",
            forwarded_to=forwarded,
        ):
            session.rollback()
            p.outcome(row, "lost", "lease lost to another deliverer")
            return
    p.outcome(row, "rerouted", f"{reason} -> {channel.fallback}")


# --- rate limits ----------------------------------------------------------------------------


def _lock_gate(session: Session, channel: str, now: dt.datetime) -> ChannelGate:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(ChannelGate)
        .values(channel=channel, paused_until=None, pause_reason=None, touched_at=now)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    # An UPDATE locks the row on PostgreSQL and takes SQLite's write lock: decisions about
    # this channel's next slot are serialised across processes from here to the commit.
    session.execute(
        update(ChannelGate)
        .where(ChannelGate.channel == channel)
        .values(touched_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.get_one(ChannelGate, channel, populate_existing=True)


def try_acquire(
    session_factory: SessionFactory, *, channel: str, limits: list[RateLimit], now: dt.datetime
) -> float:
    """Take a send slot: 0.0 when taken (and recorded), else the seconds until one frees."""
    if not limits:
        # Nothing to count, so nothing to serialise: only a throttling pause can hold us.
        with session_factory() as session:
            paused_until = session.scalar(
                select(ChannelGate.paused_until).where(ChannelGate.channel == channel)
            )
        if paused_until is not None and paused_until > now:
            return (paused_until - now).total_seconds()
        return 0.0
    with session_factory() as session, session.begin():
        gate = _lock_gate(session, channel, now)
        if gate.paused_until is not None and gate.paused_until > now:
            return (gate.paused_until - now).total_seconds()
        longest = max(limit.per_seconds for limit in limits)
        since = now - dt.timedelta(seconds=longest)
        recent = list(
            session.scalars(
                select(RateEvent.at)
                .where(RateEvent.channel == channel, RateEvent.at > since)
                .order_by(RateEvent.at)
            )
        )
        wait = 0.0
        for limit in limits:
            window_start = now - dt.timedelta(seconds=limit.per_seconds)
            inside = [at for at in recent if at > window_start]
            if len(inside) >= limit.count:
                # A slot frees when the oldest of the last `count` requests leaves the window.
                frees_at = inside[-limit.count] + dt.timedelta(seconds=limit.per_seconds)
                wait = max(wait, (frees_at - now).total_seconds())
        if wait > 0:
            return wait
        session.add(RateEvent(channel=channel, at=now))
        session.execute(
            delete(RateEvent).where(RateEvent.channel == channel, RateEvent.at <= since)
        )
        return 0.0


def pause_channel(
    session_factory: SessionFactory,
    *,
    channel: str,
    until: dt.datetime,
    reason: str,
    now: dt.datetime,
) -> None:
    with session_factory() as session, session.begin():
        gate = _lock_gate(session, channel, now)
        if gate.paused_until is None or gate.paused_until < until:
            gate.paused_until = until
            gate.pause_reason = reason[:300]


def _take_slot(p: _Pass, row: OutboxMessage, token: str, channel: ChannelBase) -> bool:
    """Wait (on the injected clock) for a slot up to max_wait; else defer the row."""
    limits = channel.effective_rate_limits()
    while True:
        wait = try_acquire(p.session_factory, channel=row.channel, limits=limits, now=p.clock.now())
        if wait <= 0:
            return True
        if wait > p.max_wait_seconds:
            until = p.clock.now() + dt.timedelta(seconds=wait)
            p.skip_channels.add(row.channel)
            _release(
                p, row, token, until, f"限流，{wait:.0f}s 后再发 / rate limited for {wait:.0f}s"
            )
            return False
        p.clock.sleep(wait)


# --- one message ----------------------------------------------------------------------------


def _deliver_one(p: _Pass, row_id: int, token: str) -> None:
    with p.session_factory() as session:
        row = session.get_one(OutboxMessage, row_id)
        session.expunge(row)
        channel = p.channels.get(row.channel)
        if channel is None:
            _mark_dead(
                p, row, token, f"未知渠道 / unknown channel {row.channel!r} in {p.channels.source}"
            )
            return
        if row.attempts >= channel.max_attempts:
            _mark_dead(
                p,
                row,
                token,
                f"尝试 {row.attempts} 次后放弃 / gave up after {row.attempts} attempts; {row.last_error or ''}",
            )
            return
        try:
            address = resolve_address(session, channel=channel, recipient=row.recipient)
        except PermanentError as error:
            _mark_dead(p, row, token, str(error))
            return
    if address is None:
        _reroute(p, row, token, channel)
        return
    try:
        message = build_message(row, address, render_row(p.templates, row, address))
    except (UserError, jinja2.TemplateError, ValueError) as error:
        _mark_dead(p, row, token, f"模板错误 / template error: {error}")
        return
    if not _take_slot(p, row, token, channel):
        return
    if channel.transactional:
        _send_in_transaction(p, row, token, channel, message)
        return
    try:
        delivery = channel.send(message, client=p.context(timeout=channel.timeout_seconds))
    except DeliveryError as error:
        _failed(p, row, token, channel, error)
        return
    except Exception as error:  # a bug in a notifier must not stop the pass or lose the row
        logger.error("outbox #%s: notifier failed: %s", row.id, p.clean(repr(error)))
        _failed(
            p,
            row,
            token,
            channel,
            RetryableError(f"内部错误 / internal error: {type(error).__name__}"),
        )
        return
    _sent(p, row, token, delivery)


def _sent(p: _Pass, row: OutboxMessage, token: str, delivery: Delivery) -> None:
    now = p.clock.now()
    _record(
        p,
        row,
        token,
        "sent",
        state=OutboxState.sent.value,
        attempts=row.attempts + 1,
        sent_at=now,
        provider_ref=(delivery.provider_ref or delivery.detail or None),
        last_error=None,
    )


def _send_in_transaction(
    p: _Pass, row: OutboxMessage, token: str, channel: ChannelBase, message: Message
) -> None:
    now = p.clock.now()
    try:
        with p.session_factory() as session, session.begin():
            delivery = channel.send(message, client=p.context(session))
            if not _finish(
                session,
                row.id,
                token,
                now,
                state=OutboxState.sent.value,
                attempts=row.attempts + 1,
                sent_at=now,
                provider_ref=delivery.provider_ref,
                last_error=None,
            ):
                session.rollback()
                p.outcome(row, "lost", "lease lost to another deliverer")
                return
    except DeliveryError as error:
        _failed(p, row, token, channel, error)
        return
    p.outcome(row, "sent", delivery.provider_ref or "")


def _failed(
    p: _Pass, row: OutboxMessage, token: str, channel: ChannelBase, error: DeliveryError
) -> None:
    text = p.clean(str(error))
    attempts = row.attempts + 1
    if isinstance(error, PermanentError) or attempts >= channel.max_attempts:
        if not isinstance(error, PermanentError):
            text = f"尝试 {attempts} 次后放弃 / gave up after {attempts} attempts: {text}"
        _record(
            p, row, token, "dead", state=OutboxState.dead.value, attempts=attempts, last_error=text
        )
        return
    assert isinstance(error, RetryableError)
    now = p.clock.now()
    delay = max(p.backoff.delay(attempts, p.rng), error.retry_after or 0.0)
    retry_at = now + dt.timedelta(seconds=delay)
    if error.throttled:
        pause_channel(
            p.session_factory,
            channel=row.channel,
            until=now + dt.timedelta(seconds=error.retry_after or delay),
            reason=text,
            now=now,
        )
    if error.throttled or error.channel_down:
        p.skip_channels.add(row.channel)
    _record(
        p,
        row,
        token,
        "waiting",
        state=OutboxState.pending.value,
        attempts=attempts,
        next_attempt_at=retry_at,
        last_error=f"{text} (retry at {retry_at.isoformat(timespec='seconds')})",
    )


# --- digests --------------------------------------------------------------------------------


def digest_cutoff(digest_at: dt.time, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The latest daily digest moment at or before ``now`` (digest_at is local time)."""
    local = now.astimezone(zone)
    today = dt.datetime.combine(local.date(), digest_at, tzinfo=zone)
    moment = today if today <= local else today - dt.timedelta(days=1)
    return moment.astimezone(dt.UTC)


def build_digests(
    session_factory: SessionFactory, *, channels: Channels, now: dt.datetime
) -> tuple[int, int]:
    """Fold each recipient's held notices into one digest row; returns (digests, notices)."""
    zone = _local_zone()
    built = folded = 0
    for name in channels.digest_channels():
        channel = channels.get_or_raise(name)
        assert channel.digest_at is not None
        cutoff = digest_cutoff(channel.digest_at, now, zone)
        day = cutoff.astimezone(zone).date()
        with session_factory() as session, session.begin():
            statement = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == name,
                    OutboxMessage.kind == "single",
                    OutboxMessage.state == OutboxState.pending.value,
                    OutboxMessage.created_at <= cutoff,
                )
                .order_by(OutboxMessage.recipient, OutboxMessage.id)
            )
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            by_recipient: dict[str, list[OutboxMessage]] = {}
            for row in session.scalars(statement):
                by_recipient.setdefault(row.recipient, []).append(row)
            for recipient, rows in by_recipient.items():
                notices = [row.notice_model() for row in rows]
                digest = enqueue(
                    session,
                    case_id=None,
                    step=f"digest:{day.isoformat()}:{rows[0].id}",
                    channel=name,
                    recipient=recipient,
                    notice=Notice(
                        template=DIGEST,
                        language=notices[0].language,
                        period=day.isoformat(),
                        step="digest",
                    ),
                    now=now,
                    kind="digest",
                    digest_items=notices,
                )
                if digest is None:  # another deliverer folded these first
                    continue
                result = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_([row.id for row in rows]),
                        OutboxMessage.state == OutboxState.pending.value,
                    )
                    .values(
                        state=OutboxState.digested.value,
                        forwarded_to=digest.id,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                built += 1
                folded += int(getattr(result, "rowcount", 0) or 0)
    return built, folded


# --- the pass -------------------------------------------------------------------------------


def deliver_due(
    session_factory: SessionFactory,
    *,
    now: dt.datetime | None = None,
    clock: Clock | None = None,
    channels: Channels | None = None,
    templates: TemplateSet | None = None,
    http: httpx.Client | None = None,
    limit: int = 100,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    lease_seconds: float = 300.0,
    max_wait_seconds: float = 5.0,
    environ: Mapping[str, str] | None = None,
) -> DeliveryReport:
    """One delivery pass: fold due digests, then send up to ``limit`` due messages.

    ``clock`` (or ``now``, a clock that starts there and moves only when slept on) drives
    due times, backoff, leases and rate limits, so tests run minutes of schedule in
    milliseconds. Short rate-limit waits (up to ``max_wait_seconds``) are slept through;
    longer ones defer the message and skip its channel for the rest of the pass. Each
    transaction is committed here: the caller passes a session factory, not a session.
    """
    if clock is None:
        clock = SteppingClock(now) if now is not None else SystemClock()
    channels = channels if channels is not None else load_channels()
    own_http = http is None
    client = http if http is not None else httpx.Client(follow_redirects=False)
    report = DeliveryReport()
    p = _Pass(
        session_factory=session_factory,
        channels=channels,
        templates=templates or template_set(),
        clock=clock,
        http=client,
        backoff=backoff or Backoff(),
        rng=rng or random.Random(),
        lease=dt.timedelta(seconds=lease_seconds),
        max_wait_seconds=max_wait_seconds,
        environ=environ,
        secrets=channels.secret_values(environ),
        report=report,
    )
    try:
        report.digests_built, report.notices_folded = build_digests(
            session_factory, channels=channels, now=clock.now()
        )
        for _ in range(limit):
            claimed = _claim_next(p)
            if claimed is None:
                break
            _deliver_one(p, *claimed)
    finally:
        if own_http:
            client.close()
    return report


# --- one message now, without the outbox (``dualduty notify test``) -------------------------


def send_now(
    session: Session,
    *,
    channels: Channels,
    channel_name: str,
    recipient: str | None,
    notice: Notice,
    http: httpx.Client,
    now: dt.datetime,
    templates: TemplateSet | None = None,
    environ: Mapping[str, str] | None = None,
) -> Delivery:
    """Render and send one message at once. Errors are DeliveryError with secrets removed;
    the caller commits (the inbox writes through ``session``)."""
    channel = channels.get_or_raise(channel_name)
    secrets = channels.secret_values(environ)
    if recipient is None:
        address = Address(recipient=GROUP_PREFIX + channel_name, name="", is_group=True)
    else:
        found = resolve_address(session, channel=channel, recipient=recipient)
        if found is None:
            raise UserError(
                f"{recipient} 在渠道 {channel_name} 上没有地址 / has no address on {channel_name}",
                hint=f"add contacts.{channel.contact_key()} to the person, or use group:NAME "
                f"with NAME in the channel's groups",
            )
        address = found
    rendered = (templates or template_set()).render(
        notice
        if notice.recipient_name or address.is_group
        else notice.model_copy(update={"recipient_name": address.name})
    )
    message = Message(
        outbox_id=None,
        key=uuid.uuid4().hex,
        channel=channel_name,
        address=address,
        title=rendered.title,
        markdown=rendered.markdown,
        link=notice.case_url or get_settings().console_url.rstrip("/"),
        language=notice.language,
        template=notice.template,
    )
    context = SendContext(
        http=http,
        session=session,
        environ=None if environ is None else dict(environ),
        now=now,
        timeout=channel.timeout_seconds,
    )
    try:
        return channel.send(message, client=context)
    except DeliveryError as error:
        raise type(error)(redact(str(error), secrets)) from None
