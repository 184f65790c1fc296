"""The outbox table and its service functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from dualduty.errors import NotFoundError, UserError
from models import outbox
from models.outbox import Notice, OutboxMessage, OutboxState, dedup_key, enqueue, group_recipient
from tests.notifiers.conftest import NOW, notice


def test_enqueue_twice_makes_one_message(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        first = enqueue(
            session, case_id=7, step="L1", channel="mail", recipient="P1", notice=notice(7), now=NOW
        )
        again = enqueue(
            session, case_id=7, step="L1", channel="mail", recipient="P1", notice=notice(7), now=NOW
        )
        other_step = enqueue(
            session, case_id=7, step="L2", channel="mail", recipient="P1", notice=notice(7), now=NOW
        )
    assert first is not None and other_step is not None
    assert again is None
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        row = session.get_one(OutboxMessage, first.id)
    assert row.state == OutboxState.pending
    assert row.dedup_key == dedup_key(case_id=7, step="L1", channel="mail", recipient="P1")
    assert row.next_attempt_at == NOW
    # The link to the case is filled in from settings.console_url.
    assert row.notice_model().case_url == "http://127.0.0.1:8000/cases/7"


def test_key_without_a_case_is_still_unique(factory: sessionmaker[Session]) -> None:
    """NULL never equals NULL in a unique index: the key is hashed so a case-less notice (a
    group announcement) is de-duplicated too."""
    group = group_recipient("纪检监察室")
    with factory() as session, session.begin():
        made = [
            enqueue(
                session,
                case_id=None,
                step="weekly",
                channel="dingtalk",
                recipient=group,
                notice=Notice(template="test"),
                now=NOW,
            )
            for _ in range(3)
        ]
    assert made[0] is not None and made[1] is None and made[2] is None
    assert made[0].is_group
    assert made[0].notice_model().case_url is None


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        session.begin()
        enqueue(
            session, case_id=1, step="L1", channel="mail", recipient="P1", notice=notice(1), now=NOW
        )
        session.rollback()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_racing_enqueues_of_one_key_make_one_row(engine: Engine) -> None:
    """Two escalation runs enqueue the same notices at once: ON CONFLICT DO NOTHING, no error."""
    make = sessionmaker(engine, expire_on_commit=False)
    barrier = threading.Barrier(2)
    created: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            with make() as session, session.begin():
                for case_id in range(20):
                    row = enqueue(
                        session,
                        case_id=case_id,
                        step="L1",
                        channel="mail",
                        recipient="P1",
                        notice=notice(case_id),
                        now=NOW,
                    )
                    if row is not None:
                        created.append(row.id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(created) == 20
    with make() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 20


def test_bad_input_is_a_user_error(factory: sessionmaker[Session]) -> None:
    with factory() as session, pytest.raises(UserError, match="channel"):
        enqueue(
            session, case_id=1, step="L1", channel=" ", recipient="P1", notice=notice(1), now=NOW
        )
    with pytest.raises(ValueError, match="template"):
        Notice(template="Bad Name!")
    with pytest.raises(ValueError, match="extra"):
        Notice.model_validate({"template": "overdue", "evidence_detail": "金额 123 万"})


def test_requeue_revives_dead_and_hurries_waiting(factory: sessionmaker[Session]) -> None:
    later = NOW + dt.timedelta(hours=1)
    with factory() as session, session.begin():
        dead = enqueue(
            session, case_id=1, step="L1", channel="mail", recipient="P1", notice=notice(1), now=NOW
        )
        waiting = enqueue(
            session, case_id=2, step="L1", channel="mail", recipient="P1", notice=notice(2), now=NOW
        )
        sent = enqueue(
            session, case_id=3, step="L1", channel="mail", recipient="P1", notice=notice(3), now=NOW
        )
        assert dead and waiting and sent
        dead.state, dead.attempts, dead.last_error = OutboxState.dead, 8, "SMTP 550"
        waiting.attempts, waiting.next_attempt_at = 2, later
        sent.state = OutboxState.sent
    with factory() as session, session.begin():
        assert outbox.requeue(session, now=NOW) == 1  # the waiting one
    with factory() as session:
        hurried = session.get_one(OutboxMessage, waiting.id)
        assert (hurried.next_attempt_at, hurried.attempts) == (NOW, 2)
        assert session.get_one(OutboxMessage, dead.id).state == OutboxState.dead
    with factory() as session, session.begin():
        assert outbox.requeue(session, now=NOW, dead=True) == 1
    with factory() as session:
        revived = session.get_one(OutboxMessage, dead.id)
        assert (revived.state, revived.attempts) == (OutboxState.pending, 0)
        assert session.get_one(OutboxMessage, sent.id).state == OutboxState.sent
    with factory() as session, session.begin():
        assert outbox.requeue(session, now=NOW, message_id=sent.id) == 0  # never re-sends
        with pytest.raises(NotFoundError):
            outbox.requeue(session, now=NOW, message_id=9999)


def test_list_and_count(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        for case_id in range(3):
            enqueue(
                session,
                case_id=case_id,
                step="L1",
                channel="mail",
                recipient="P1",
                notice=notice(case_id),
                now=NOW,
            )
        enqueue(
            session, case_id=9, step="L1", channel="hook", recipient="P1", notice=notice(9), now=NOW
        )
    with factory() as session:
        assert [r.case_id for r in outbox.list_messages(session, channel="mail")] == [2, 1, 0]
        assert len(outbox.list_messages(session, state=OutboxState.pending)) == 4
        assert outbox.list_messages(session, state=OutboxState.dead) == []
        assert outbox.count_by_state(session) == {"pending": 4}
