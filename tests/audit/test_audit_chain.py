"""The audit chain: appends, verification, tampering through raw SQL, concurrent writers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import audit

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def _append(session: Session, n: int) -> None:
    for i in range(n):
        audit.record(
            session,
            actor="user:zhang",
            action="case.decide",
            subject_type="case",
            subject_id=i + 1,
            detail={"理由": "逾期未整改", "amount": 1234567.89, "day": dt.date(2026, 3, 31)},
            now=T0 + dt.timedelta(minutes=i),
        )
    session.commit()


def test_chain_verifies_and_survives_the_round_trip(session: Session) -> None:
    _append(session, 5)
    session.expunge_all()
    report = audit.verify(session)
    assert report.ok, report.breaks
    assert (report.entries, report.last_seq) == (5, 5)
    entries = audit.entries(session, subject_type="case", subject_id=3)
    assert [e.seq for e in entries] == [3]
    # Floats and dates are stored as strings so the hash survives JSONB's numeric round trip.
    assert entries[0].detail == {"理由": "逾期未整改", "amount": "1234567.89", "day": "2026-03-31"}
    assert [e.seq for e in audit.entries(session, before_seq=3, limit=5)] == [2, 1]


def test_empty_log_verifies(session: Session) -> None:
    report = audit.verify(session)
    assert report.ok and report.entries == 0 and report.last_hash == audit.GENESIS_HASH


def test_edited_entry_is_found_with_its_seq(session: Session) -> None:
    _append(session, 5)
    session.execute(sa.text("UPDATE audit_log SET actor = 'user:li' WHERE seq = 3"))
    session.commit()
    session.expunge_all()
    report = audit.verify(session)
    assert [(b.kind, b.seq) for b in report.breaks] == [(audit.BreakKind.edited, 3)]
    assert "entry 3" in report.breaks[0].message


def test_edited_and_rehashed_entry_breaks_the_link_to_the_next(session: Session) -> None:
    _append(session, 5)
    entry = session.get(audit.AuditEntry, 2)
    assert entry is not None
    forged = audit.entry_hash(
        seq=2,
        at=entry.at,
        actor="user:li",
        action=entry.action,
        subject_type=entry.subject_type,
        subject_id=entry.subject_id,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )
    session.execute(
        sa.text("UPDATE audit_log SET actor = 'user:li', hash = :h WHERE seq = 2"), {"h": forged}
    )
    session.commit()
    session.expunge_all()
    report = audit.verify(session)
    assert [(b.kind, b.seq) for b in report.breaks] == [(audit.BreakKind.relinked, 3)]


def test_deleted_entries_in_the_middle_and_at_the_end(session: Session) -> None:
    _append(session, 6)
    session.execute(sa.text("DELETE FROM audit_log WHERE seq IN (2, 3)"))
    session.commit()
    report = audit.verify(session)
    assert [(b.kind, b.seq) for b in report.breaks] == [(audit.BreakKind.missing, 2)]
    assert "entries 2–3 are missing" in report.breaks[0].message

    session.execute(sa.text("DELETE FROM audit_log WHERE seq = 6"))
    session.commit()
    report = audit.verify(session)
    assert [(b.kind, b.seq) for b in report.breaks] == [
        (audit.BreakKind.missing, 2),
        (audit.BreakKind.truncated, 6),
    ]


def test_deleting_the_first_entry_is_found(session: Session) -> None:
    _append(session, 3)
    session.execute(sa.text("DELETE FROM audit_log WHERE seq = 1"))
    session.commit()
    report = audit.verify(session)
    assert [(b.kind, b.seq) for b in report.breaks] == [(audit.BreakKind.missing, 1)]


def test_detail_must_be_a_mapping(session: Session) -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        audit.record(
            session,
            actor="a",
            action="x",
            subject_type="case",
            subject_id=1,
            detail=["not", "a", "mapping"],  # type: ignore[arg-type]
            now=T0,
        )


def test_concurrent_writers_never_fork_the_chain(engine: Engine) -> None:
    writers, per_writer = 4, 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                with Session(engine) as s:
                    audit.record(
                        s,
                        actor=f"user:w{worker}",
                        action="case.comment",
                        subject_type="case",
                        subject_id=i,
                        detail={"i": i},
                        now=T0,
                    )
                    s.commit()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as s:
        report = audit.verify(s)
        assert report.ok, report.breaks
        assert report.entries == report.last_seq == writers * per_writer
        actors = s.scalars(sa.select(audit.AuditEntry.actor)).all()
        assert sorted(set(actors)) == [f"user:w{w}" for w in range(writers)]
