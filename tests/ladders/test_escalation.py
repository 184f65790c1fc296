"""Escalation passes over real cases, on SQLite and PostgreSQL: timing in working days, pauses,
approval gating, recipients through the org, and a run killed halfway."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from models import audit, users
from models.cases import Case, CaseState, Decision, EventKind, decide, history, reconcile
from models.escalation import (
    EscalationReport,
    OrgRecipientResolver,
    check_templates,
    escalate_due,
)
from models.org import Person
from models.outbox import OutboxMessage
from rules.findings import Finding, Verdict
from rules.ladders import Ladder, Recipient, default_ladders
from rules.workdays import WorkCalendar
from tests.cases.helpers import finding
from tests.ladders import orgdata
from tests.ladders.orgdata import at

LADDERS = default_ladders()
D = dt.date


def _escalate(session: Session, day: dt.date, **kwargs: object) -> EscalationReport:
    report = escalate_due(
        session,
        ladders=LADDERS,
        now=at(day),
        calendar=WorkCalendar(),
        recipients=OrgRecipientResolver(),
        titles={"branch-committee-monthly": "支委会每月至少召开一次"},
        **kwargs,  # type: ignore[arg-type]
    )
    session.commit()
    return report


def _open(session: Session, day: dt.date, *findings_: object) -> list[int]:
    items = list(findings_) or [finding("B01")]
    ids = reconcile(session, findings=items, inspection_id=None, now=at(day)).opened  # type: ignore[arg-type]
    session.commit()
    return ids


def _outbox(session: Session, case_id: int) -> list[tuple[str, str, str]]:
    rows = session.execute(
        sa.select(OutboxMessage.step, OutboxMessage.channel, OutboxMessage.recipient)
        .where(OutboxMessage.case_id == case_id)
        .order_by(OutboxMessage.id)
    ).all()
    return [(r.step, r.channel, r.recipient) for r in rows]


@pytest.fixture
def org_session(session: Session) -> Session:
    orgdata.build(session)
    session.commit()
    return session


def test_standard_ladder_timing_in_working_days(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))

    report = _escalate(s, D(2026, 4, 1))
    # T = 2026-03-31: both reminders lapsed; L1 (T+1) fires to the bearer and their superior.
    assert [(f.step, f.recipients) for f in report.fired] == [("L1", ["P-B01", "P-M1"])]
    case = s.get(Case, case_id)
    assert case is not None
    # L2 is 3 working days after L1: 04-02, 04-03, then 04-07 (清明 2026-04-06 is a holiday).
    assert case.ladder_step == "L1" and case.ladder_due_on == D(2026, 4, 7)
    event = history(s, case_id=case_id)[-1]
    assert event.kind == EventKind.step_fired and event.detail["lapsed"] == ["L0-7", "L0-1"]
    assert event.detail["due_date"] == "2026-04-07"

    assert _escalate(s, D(2026, 4, 6)).examined == 0  # not due: not even looked at
    report = _escalate(s, D(2026, 4, 7))
    # L2 提醒谈话: bearer, superior, and the branch's own 纪检委员.
    assert [(f.step, f.recipients) for f in report.fired] == [("L2", ["P-B01", "P-M1", "P-B01J"])]
    # L3 five working days later: 04-08, 09, 10, 13, 14.
    assert s.get(Case, case_id).ladder_due_on == D(2026, 4, 14)  # type: ignore[union-attr]

    report = _escalate(s, D(2026, 4, 14))
    assert [f.step for f in report.fired] == ["L3"]
    case = s.get(Case, case_id)
    assert case is not None
    assert (case.state, case.paused_until, case.due_on) == (
        CaseState.rectifying,
        D(2026, 5, 14),
        D(2026, 5, 14),
    )
    # Unit head of B01 is its 党支部书记 (the bearer): recipients are de-duplicated.
    assert report.fired[0].recipients == ["P-B01", "P-B01J"]
    assert [m[0] for m in _outbox(s, case_id)] == ["L1", "L1", "L2", "L2", "L2", "L3", "L3"]


def test_approval_gates_formal_talk(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))
    for day in (D(2026, 4, 1), D(2026, 4, 7), D(2026, 4, 14)):
        _escalate(s, day)
    # During rectification nothing moves.
    assert _escalate(s, D(2026, 5, 14)).examined == 0

    report = _escalate(s, D(2026, 5, 15))
    assert report.awaiting_approval == [case_id] and report.fired == []
    case = s.get(Case, case_id)
    assert case is not None and case.state == CaseState.escalated and case.pending_step == "L4"
    sent_before = len(_outbox(s, case_id))
    # Re-running while it waits changes nothing and sends nothing.
    assert _escalate(s, D(2026, 5, 20)).examined == 0
    assert len(_outbox(s, case_id)) == sent_before

    with pytest.raises(UserError, match="the step waiting is L4, not L5"):
        decide(
            s,
            case_id=case_id,
            actor="user:insp",
            decision=Decision(kind="approve_next_step", step="L5", reason="同意"),
            expected_version=case.version,
            now=at(D(2026, 5, 20)),
        )
    decide(
        s,
        case_id=case_id,
        actor="user:insp",
        decision=Decision(kind="approve_next_step", step="L4", reason="逾期未整改，同意约谈"),
        expected_version=case.version,
        now=at(D(2026, 5, 20)),
    )
    s.commit()
    report = _escalate(s, D(2026, 5, 20), case_ids=[case_id])
    assert [(f.step, f.recipients) for f in report.fired] == [("L4", ["P-B01", "P-B01J", "P-INS"])]
    case = s.get(Case, case_id)
    assert case is not None and case.state == CaseState.under_review
    # L5 needs its own approval, 15 working days on.
    assert case.approved_step is None and case.ladder_due_on is not None
    assert audit.verify(s).ok


def test_integrity_ladder_jumps_to_rectification_after_confirmation(org_session: Session) -> None:
    s = org_session
    hit = finding(
        "PO-0001",
        rule="major-procurement-decision",
        period="",
        unit_code="B02",
        ladder="integrity",
        bearer_person="P-B02",
    )
    (case_id,) = _open(s, D(2026, 4, 1), hit)
    report = _escalate(s, D(2026, 4, 1))
    # I0 goes to the inspectors and to B02's discipline post, found at the company (纪委书记).
    assert [(f.step, f.recipients) for f in report.fired] == [("I0", ["P-INS", "P-JW"])]
    assert report.awaiting_approval == [case_id]  # L3 waits for the confirmation
    case = s.get(Case, case_id)
    assert case is not None and case.pending_step == "L3"
    decide(
        s,
        case_id=case_id,
        actor="user:insp",
        decision=Decision(kind="approve_next_step", reason="经核实，确属先签后批"),
        expected_version=case.version,
        now=at(D(2026, 4, 2)),
    )
    s.commit()
    report = _escalate(s, D(2026, 4, 2))
    assert [f.step for f in report.fired] == ["L3"]
    assert s.get(Case, case_id).state == CaseState.rectifying  # type: ignore[union-attr]


def test_a_recused_inspector_is_never_notified(org_session: Session) -> None:
    """Inspectors are addressed through the console's routing: one who must stay out of the
    case (here the mine's party secretary supervises them; there the bearer is a declared
    relative) gets nothing, and the case goes to whoever else covers the unit."""
    s = org_session

    def procurement(number: str, unit: str, bearer: str) -> Finding:
        return finding(
            number,
            rule="major-procurement-decision",
            period="",
            unit_code=unit,
            ladder="integrity",
            bearer_person=bearer,
        )

    # P-INS (home unit M1) is supervised by M1's party secretary P-M1, the bearer here.
    (alone,) = _open(s, D(2026, 4, 1), procurement("PO-0001", "M1", "P-M1"))
    report = _escalate(s, D(2026, 4, 1))
    assert [(f.step, f.recipients) for f in report.fired] == [("I0", ["P-JW"])]
    assert f"case {alone} I0: inspectors" in report.unresolved

    s.add(Person(code="P-GINS", name="冯监察", unit_code="C"))
    users.create_user(
        s,
        username="ginsp",
        display_name="冯监察",
        role=users.Role.inspector,
        password=None,
        now=at(D(2026, 1, 1)),
        person_code="P-GINS",
        jurisdiction="C",
    )
    s.commit()
    (mine_case,) = _open(s, D(2026, 4, 2), procurement("PO-0002", "M1", "P-M1"))
    (relative,) = _open(s, D(2026, 4, 2), procurement("PO-0003", "B02", "P-B02"))

    def related(session: Session, *, person_code: str, on: dt.date) -> set[str]:
        return {"P-B02"} if person_code == "P-INS" else set()

    report = escalate_due(
        s,
        ladders=LADDERS,
        now=at(D(2026, 4, 2)),
        calendar=WorkCalendar(),
        recipients=OrgRecipientResolver(relatives=related),
        case_ids=[mine_case, relative],
    )
    s.commit()
    assert [(f.case_id, f.recipients) for f in report.fired] == [
        (mine_case, ["P-GINS", "P-JW"]),
        (relative, ["P-GINS", "P-JW"]),
    ]
    sent_to = {r for case_id in (alone, mine_case, relative) for _, _, r in _outbox(s, case_id)}
    assert "P-INS" not in sent_to and "P-GINS" in sent_to
    # Without the recusal, the nearest inspector comes first, as before.
    (plain,) = _open(s, D(2026, 4, 3), procurement("PO-0004", "B02", "P-B02"))
    report = _escalate(s, D(2026, 4, 3), case_ids=[plain])
    assert [f.recipients for f in report.fired] == [["P-INS", "P-GINS", "P-JW"]]


def test_pause_holds_the_ladder_and_resumes_from_its_end(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))
    _escalate(s, D(2026, 4, 1))  # L1
    case = s.get(Case, case_id)
    assert case is not None
    decide(
        s,
        case_id=case_id,
        actor="user:insp",
        decision=Decision(kind="order_rectification", reason="先行整改", deadline=D(2026, 4, 20)),
        expected_version=case.version,
        now=at(D(2026, 4, 2)),
    )
    s.commit()
    assert _escalate(s, D(2026, 4, 7)).examined == 0  # L2 would be due today without the pause
    report = _escalate(s, D(2026, 4, 21))
    # Resumed: L2 counts 3 working days from the pause's end (04-21, 22, 23).
    assert report.fired == [] and report.rescheduled == 1
    assert s.get(Case, case_id).ladder_due_on == D(2026, 4, 23)  # type: ignore[union-attr]
    report = _escalate(s, D(2026, 4, 23))
    assert [f.step for f in report.fired] == ["L2"]
    assert s.get(Case, case_id).state == CaseState.open  # type: ignore[union-attr]


def test_a_resolved_case_stops_its_ladder(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))
    _escalate(s, D(2026, 4, 1))
    reconcile(
        s,
        findings=[finding("B01", verdict=Verdict.passed, evidence_ids=[5])],
        inspection_id=None,
        now=at(D(2026, 4, 3)),
    )
    s.commit()
    assert _escalate(s, D(2026, 4, 30)).examined == 0
    assert [m[0] for m in _outbox(s, case_id)] == ["L1", "L1"]


def test_2027_dates_fall_back_to_weekends_with_a_warning(
    org_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    s = org_session
    (case_id,) = _open(s, D(2027, 2, 1), finding("B01", period="2027-01"))
    with caplog.at_level(logging.WARNING, logger="rules.workdays"):
        report = _escalate(s, D(2027, 2, 1))
    assert [f.step for f in report.fired] == ["L1"] and report.fallback_years == [2027]
    assert sum("no holiday data for 2027" in r.getMessage() for r in caplog.records) == 1
    # Monday 2027-02-01 + 3 working days, weekends only: Thursday 02-04.
    assert s.get(Case, case_id).ladder_due_on == D(2027, 2, 4)  # type: ignore[union-attr]


class Killed(BaseException):
    """Stands in for the process dying (SIGKILL, power loss) in the middle of a pass."""


class DyingResolver(OrgRecipientResolver):
    def __init__(self, *, die_on_case: int) -> None:
        super().__init__()
        self.die_on_case = die_on_case

    def resolve(
        self, session: Session, *, recipient: Recipient, case: Case, on: dt.date
    ) -> list[str]:
        if case.id == self.die_on_case:
            raise Killed
        return super().resolve(session, recipient=recipient, case=case, on=on)


def test_a_pass_killed_halfway_and_rerun_sends_nothing_twice(engine: Engine) -> None:
    with Session(engine) as s:
        orgdata.build(s)
        s.commit()
        ids = _open(s, D(2026, 4, 1), finding("B01"), finding("B02"), finding("B01", rule="dues"))
    day = D(2026, 4, 1)
    with Session(engine) as s:
        # First batch committed (case 1), then the process dies on case 3 in the second batch.
        first = escalate_due(
            s,
            ladders=LADDERS,
            now=at(day),
            calendar=WorkCalendar(),
            recipients=DyingResolver(die_on_case=ids[2]),
            limit=1,
        )
        s.commit()
        with pytest.raises(Killed):
            escalate_due(
                s,
                ladders=LADDERS,
                now=at(day),
                calendar=WorkCalendar(),
                recipients=DyingResolver(die_on_case=ids[2]),
                after_case_id=first.last_case_id,
            )
        s.rollback()
    with Session(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2
        rerun = _escalate(s, day)
        # Case 1 is no longer due; cases 2 and 3 fire once.
        assert sorted(f.case_id for f in rerun.fired) == ids[1:]
        again = _escalate(s, day)
        assert again.fired == [] and again.examined == 0
        rows = s.execute(
            sa.select(
                OutboxMessage.case_id,
                OutboxMessage.step,
                OutboxMessage.channel,
                OutboxMessage.recipient,
            )
        ).all()
        assert len(rows) == len(set(rows)) == 6
        fired = s.scalars(
            sa.select(sa.func.count())
            .select_from(sa.table("case_events", sa.column("kind")))
            .where(sa.column("kind") == "step_fired")
        ).one()
        assert fired == 3
        assert audit.verify(s).ok


def test_an_outbox_row_left_by_an_earlier_run_is_not_duplicated(org_session: Session) -> None:
    from models.outbox import Notice, enqueue

    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))
    enqueue(
        s,
        case_id=case_id,
        step="L1",
        channel="inbox",
        recipient="P-B01",
        notice=Notice(template="overdue", case_id=case_id),
        now=at(D(2026, 4, 1)),
    )
    s.commit()
    report = _escalate(s, D(2026, 4, 1))
    assert (report.fired[0].messages, report.fired[0].duplicates) == (1, 1)
    assert len(_outbox(s, case_id)) == 2


def test_unknown_ladder_is_reported_and_other_cases_proceed(org_session: Session) -> None:
    s = org_session
    bad, good = _open(s, D(2026, 4, 1), finding("B01", ladder="nonexistent"), finding("B02"))
    report = _escalate(s, D(2026, 4, 1))
    assert [f.case_id for f in report.fired] == [good]
    assert [x.case_id for x in report.failures] == [bad]
    assert "unknown ladder 'nonexistent'" in report.failures[0].error


def test_missing_recipients_are_reported_not_fatal(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1), finding("X9", unit_code="X9", bearer_person=None))
    report = _escalate(s, D(2026, 4, 1))
    assert report.fired[0].recipients == [] and report.fired[0].messages == 0
    assert report.unresolved == [
        f"case {case_id} L1: bearer",
        f"case {case_id} L1: bearer_superior",
    ]


def test_templates_are_checked_before_any_work() -> None:
    ladders: dict[str, Ladder] = dict(default_ladders())
    known = {s.template for ladder in ladders.values() for s in ladder.steps} - {"referral"}
    with pytest.raises(UserError) as caught:
        check_templates(ladders, known=known)
    assert {p.field for p in caught.value.problems} == {
        "ladders.standard.steps[7].template",
        "ladders.integrity.steps[4].template",
    }
    check_templates(ladders, known=known | {"referral"})


def test_a_step_missing_from_its_ladder_is_reported_every_pass(org_session: Session) -> None:
    s = org_session
    (case_id,) = _open(s, D(2026, 4, 1))
    s.execute(sa.update(Case).where(Case.id == case_id).values(ladder_step="L9"))
    s.commit()
    for day in (D(2026, 4, 1), D(2026, 4, 2)):
        report = _escalate(s, day)
        assert [f.case_id for f in report.failures] == [case_id]
        assert "has no step L9" in report.failures[0].error
    assert _outbox(s, case_id) == []
