"""Decisions: kinds, mandatory reasons, allowed states, and two inspectors deciding at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dualduty.errors import ConflictError, NotFoundError, UserError
from models import audit
from models.cases import (
    Case,
    CaseState,
    Decision,
    DecisionKind,
    ReconcileReport,
    allowed_decisions,
    decide,
    history,
    reconcile,
)
from models.cases.history import bump, claim
from rules.findings import Verdict
from tests.cases.helpers import NOW, days, finding


def _open_case(session: Session) -> int:
    case_id = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW).opened[0]
    session.commit()
    return case_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "dismiss", "category": "data_error", "reason": " "}, "written reason"),
        ({"kind": "dismiss", "reason": "误报，会议在纸质台账"}, "needs: category"),
        ({"kind": "order_rectification", "reason": "限期整改"}, "needs: deadline"),
        ({"kind": "record_accountability", "reason": "情节较轻"}, "needs: form"),
        (
            {"kind": "close", "reason": "已办结", "form": "admonition"},
            "does not take: form",
        ),
        ({"kind": "record_accountability", "reason": "x", "form": "诫勉"}, "written reason"),
        ({"kind": "record_accountability", "reason": "情节较轻", "form": "诫勉"}, "form"),
        ({"kind": "approve", "reason": "同意"}, "kind"),
    ],
)
def test_bad_decisions_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Decision.model_validate(data)


def test_dismiss_with_category_and_reason(session: Session) -> None:
    case_id = _open_case(session)
    decision = Decision(
        kind="dismiss", category="evidence_elsewhere", reason="会议记录为纸质，已核实"
    )
    case = decide(
        session, case_id=case_id, actor="user:wang", decision=decision, expected_version=1, now=NOW
    )
    session.commit()
    assert (case.state, case.outcome, case.dismiss_category, case.version) == (
        "decided",
        "dismissed",
        "evidence_elsewhere",
        2,
    )
    event = history(session, case_id=case_id)[-1]
    assert (event.kind, event.actor, event.from_state, event.to_state) == (
        "decision",
        "user:wang",
        "open",
        "decided",
    )
    assert event.detail["reason"] == "会议记录为纸质，已核实"
    entry = audit.entries(session, subject_type="case", subject_id=case_id)[0]
    assert (entry.action, entry.actor, entry.detail["category"]) == (
        "case.decide",
        "user:wang",
        "evidence_elsewhere",
    )


def test_rectification_order_extension_accountability_and_close(session: Session) -> None:
    case_id = _open_case(session)
    today = dt.date(2026, 4, 10)

    def run(version: int, **data: object) -> Case:
        return decide(
            session,
            case_id=case_id,
            actor="user:wang",
            decision=Decision.model_validate(data),
            expected_version=version,
            now=NOW,
        )

    case = run(1, kind="order_rectification", reason="限期30日整改", deadline=today + days(30))
    assert (case.state, case.due_on, case.paused_until) == (
        "rectifying",
        today + days(30),
        today + days(30),
    )
    with pytest.raises(UserError, match="must end after the current deadline"):
        run(2, kind="extend_rectification", reason="延期", deadline=today + days(10))
    case = run(
        2, kind="extend_rectification", reason="问题复杂，延至60日", deadline=today + days(60)
    )
    assert case.due_on == today + days(60) and case.ladder_due_on == today + days(61)
    case = run(3, kind="record_accountability", reason="逾期未整改，予以诫勉", form="admonition")
    assert (case.state, case.outcome, case.accountability_form) == (
        "decided",
        "confirmed",
        "admonition",
    )
    assert case.ladder_due_on is None and case.paused_until is None
    case = run(4, kind="close", reason="问责决定已执行")
    assert case.state == CaseState.closed and case.closed_at == NOW
    with pytest.raises(UserError, match="is closed"):
        run(5, kind="dismiss", reason="误报", category="data_error")
    assert [e.to_state for e in history(session, case_id=case_id)] == [
        "open",
        "rectifying",
        "rectifying",
        "decided",
        "closed",
    ]


def test_decisions_refused_in_the_wrong_state_or_with_a_past_deadline(session: Session) -> None:
    case_id = _open_case(session)

    def attempt(**data: object) -> None:
        decide(
            session,
            case_id=case_id,
            actor="user:wang",
            decision=Decision.model_validate(data),
            expected_version=1,
            now=NOW,
        )

    with pytest.raises(UserError, match="extend_rectification is not possible"):
        attempt(kind="extend_rectification", reason="延期", deadline=dt.date(2026, 6, 1))
    with pytest.raises(UserError, match="close is not possible"):
        attempt(kind="close", reason="结案")
    with pytest.raises(UserError, match="approve_next_step is not possible"):
        attempt(kind="approve_next_step", reason="同意约谈")
    with pytest.raises(UserError, match="deadline must be after today"):
        attempt(kind="order_rectification", reason="整改", deadline=dt.date(2026, 4, 10))
    with pytest.raises(NotFoundError, match="no case 999"):
        decide(
            session,
            case_id=999,
            actor="user:wang",
            decision=Decision(kind="close", reason="结案"),
            expected_version=1,
            now=NOW,
        )
    case = session.get(Case, case_id)
    assert case is not None and case.version == 1 and len(history(session, case_id=case_id)) == 1


# A valid decision of each kind, so that only the case's state can refuse it.
SAMPLES: dict[DecisionKind, dict[str, object]] = {
    DecisionKind.dismiss: {"category": "data_error"},
    DecisionKind.order_rectification: {"deadline": dt.date(2026, 5, 10)},
    DecisionKind.extend_rectification: {"deadline": dt.date(2026, 6, 10)},
    DecisionKind.approve_next_step: {},
    DecisionKind.record_accountability: {"form": "reminder_talk"},
    DecisionKind.close: {},
}


def test_allowed_decisions_are_exactly_what_decide_accepts(session: Session) -> None:
    case_id = _open_case(session)
    case = session.get(Case, case_id)
    assert case is not None
    offered: dict[tuple[CaseState, str | None], list[DecisionKind]] = {}
    for state in CaseState:
        for pending in (None, "L4"):
            case.state, case.pending_step = state.value, pending
            session.commit()
            offered[state, pending] = allowed_decisions(case)
            accepted = []
            for kind in DecisionKind:
                data = {"kind": kind, "reason": "试一试"} | SAMPLES[kind]
                try:
                    decide(
                        session,
                        case_id=case_id,
                        actor="user:wang",
                        decision=Decision.model_validate(data),
                        expected_version=case.version,
                        now=NOW,
                    )
                except UserError as error:
                    assert "not possible" in str(error) or "no ladder step is waiting" in str(error)
                else:
                    accepted.append(kind)
                session.rollback()
            assert offered[state, pending] == accepted, (state, pending)
    assert offered[CaseState.closed, None] == []
    assert offered[CaseState.open, None] == [
        DecisionKind.dismiss,
        DecisionKind.order_rectification,
        DecisionKind.record_accountability,
    ]
    assert offered[CaseState.decided, None] == [DecisionKind.close]
    approvable = [key for key, kinds in offered.items() if DecisionKind.approve_next_step in kinds]
    assert approvable == [(CaseState.escalated, "L4")]


def test_stale_version_is_a_conflict_and_loses_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        case_id = _open_case(s)
    first = Decision(kind="record_accountability", form="criticism", reason="批评教育")
    second = Decision(kind="dismiss", category="data_error", reason="数据错误")
    with Session(engine) as a, Session(engine) as b:
        # Both inspectors loaded version 1; A decides first.
        decide(a, case_id=case_id, actor="user:a", decision=first, expected_version=1, now=NOW)
        a.commit()
        with pytest.raises(ConflictError, match="changed since version 1"):
            decide(b, case_id=case_id, actor="user:b", decision=second, expected_version=1, now=NOW)
        b.commit()  # B's session is still usable: nothing of B's was written
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.version, case.accountability_form, case.dismiss_category) == (
            2,
            "criticism",
            None,
        )
        assert [e.actor for e in history(s, case_id=case_id)] == ["system:reconcile", "user:a"]
        assert audit.verify(s).ok


def test_racing_writers_the_later_one_conflicts(engine: Engine) -> None:
    """B loads version 1 while A's change is in flight: B's claim waits, then matches nothing."""
    with Session(engine) as s:
        case_id = _open_case(s)
    a = Session(engine)
    b = Session(engine)
    try:
        case_a = a.get(Case, case_id)
        case_b = b.get(Case, case_id)
        assert case_a is not None and case_b is not None
        if engine.dialect.name == "sqlite":
            b.commit()  # pysqlite reads outside a transaction; B's claim starts a fresh one
        bump(a, case_a, now=NOW)  # A holds the row lock / write lock
        outcome: list[BaseException | None] = []

        def claim_b() -> None:
            try:
                bump(b, case_b, now=NOW)
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=claim_b)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "B must wait for A's lock"
        a.commit()
        thread.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], ConflictError)
    finally:
        b.rollback()
        a.close()
        b.close()
    with Session(engine) as s:
        assert s.scalar(sa.select(Case.version).where(Case.id == case_id)) == 2


def test_reconcile_racing_a_decision_rereads_and_keeps_the_decision(engine: Engine) -> None:
    """An inspector dismisses the case while an inspection brings a passing finding: the
    inspection waits for the decision, sees it, and records its finding without undoing it."""
    with Session(engine) as s:
        case_id = _open_case(s)
    deciding = Session(engine)
    decide(
        deciding,
        case_id=case_id,
        actor="user:a",
        decision=Decision(kind="dismiss", category="data_error", reason="台账数据错误"),
        expected_version=1,
        now=NOW,
    )
    outcome: list[object] = []

    def inspect() -> None:
        with Session(engine) as r:
            try:
                passed = finding("B01", verdict=Verdict.passed, evidence_ids=[3])
                outcome.append(
                    reconcile(r, findings=[passed], inspection_id=None, now=NOW + days(1))
                )
                r.commit()
            except BaseException as error:
                outcome.append(error)

    thread = threading.Thread(target=inspect)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the inspection must wait for the decision's transaction"
    deciding.commit()
    deciding.close()
    thread.join(30)
    (report,) = outcome
    assert isinstance(report, ReconcileReport), report
    assert report.resolved == [] and report.updated == [case_id]
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.state, case.outcome, case.version) == ("decided", "dismissed", 3)
        assert [e.kind for e in history(s, case_id=case_id)] == [
            "opened",
            "decision",
            "finding_updated",
        ]
        assert audit.verify(s).ok


def test_claim_returns_only_the_cases_changed_by_someone_else(engine: Engine) -> None:
    with Session(engine) as s:
        ids = reconcile(
            s, findings=[finding("B01"), finding("B02")], inspection_id=None, now=NOW
        ).opened
        s.commit()
    with Session(engine) as mine, Session(engine) as theirs:
        cases = [mine.get(Case, i) for i in ids]
        other = theirs.get(Case, ids[1])
        assert other is not None and all(c is not None for c in cases)
        bump(theirs, other, now=NOW)
        theirs.commit()
        conflicted = claim(mine, cases, now=NOW)  # type: ignore[arg-type]
        assert [c.id for c in conflicted] == [ids[1]]
        assert cases[0] is not None and cases[0].version == 2
        mine.commit()
