"""Accounts: creation rules, passwords, tokens, sessions, throttling counts, jurisdictions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from dualduty.errors import ConflictError, NotFoundError, UserError
from models import users
from models.users import Role
from tests.console.conftest import NOW, PASSWORD, DeclaredRelatives, add_user, seed_org


def test_inspectors_for_unit_walks_up_the_tree_nearest_first(session: Session) -> None:
    seed_org(session)
    add_user(session, "g-insp", Role.inspector, jurisdiction="G")
    add_user(session, "m1-insp", Role.inspector, jurisdiction="M1")
    add_user(session, "m2-insp", Role.inspector, jurisdiction="M2")
    add_user(session, "m1-viewer", Role.viewer, jurisdiction="M1")
    add_user(session, "gone", Role.inspector, jurisdiction="M1")
    users.set_disabled(session, username="gone", disabled=True)

    found = users.inspectors_for_unit(session, unit_code="B1")
    assert [u.username for u in found] == ["m1-insp", "g-insp"]
    assert [u.username for u in users.inspectors_for_unit(session, unit_code="M2")] == [
        "m2-insp",
        "g-insp",
    ]
    assert users.inspectors_for_unit(session, unit_code="nowhere") == []


def test_non_admins_need_an_existing_jurisdiction(session: Session) -> None:
    seed_org(session)
    with pytest.raises(UserError, match="jurisdiction"):
        add_user(session, "a", Role.inspector)
    with pytest.raises(NotFoundError, match="XX"):
        add_user(session, "b", Role.viewer, jurisdiction="XX")
    add_user(session, "c", Role.viewer, jurisdiction="M1")
    with pytest.raises(ConflictError):
        add_user(session, "c", Role.viewer, jurisdiction="M1")
    admin = add_user(session, "root", Role.admin)
    assert admin.jurisdiction is None


def test_passwords_are_argon2_and_short_ones_refused(session: Session) -> None:
    seed_org(session)
    user = add_user(session, "u", Role.admin)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert users.verify_password(user=user, password=PASSWORD)
    assert not users.verify_password(user=user, password=PASSWORD + "x")
    with pytest.raises(UserError, match="short"):
        users.set_password(user=user, password="short", now=NOW)


def test_tokens_are_hashed_revocable_and_die_with_the_user(session: Session) -> None:
    seed_org(session)
    add_user(session, "bot", Role.inspector, jurisdiction="M1")
    token, plaintext = users.create_token(session, username="bot", name="ci", now=NOW)
    assert plaintext.startswith("dd_") and plaintext not in token.token_hash
    found = users.user_for_token(session, plaintext=plaintext, now=NOW)
    assert found is not None and found.username == "bot"
    assert token.last_used_at == NOW
    assert users.user_for_token(session, plaintext=plaintext + "x", now=NOW) is None

    users.set_disabled(session, username="bot", disabled=True)
    assert users.user_for_token(session, plaintext=plaintext, now=NOW) is None
    users.set_disabled(session, username="bot", disabled=False)
    users.revoke_token(session, token_id=token.id, now=NOW)
    assert users.user_for_token(session, plaintext=plaintext, now=NOW) is None

    _, short_lived = users.create_token(
        session, username="bot", name="tmp", now=NOW, expires_at=NOW + dt.timedelta(hours=1)
    )
    assert users.user_for_token(session, plaintext=short_lived, now=NOW) is not None
    later = NOW + dt.timedelta(hours=2)
    assert users.user_for_token(session, plaintext=short_lived, now=later) is None


def test_sessions_end_on_expiry_password_change_and_disable(session: Session) -> None:
    seed_org(session)
    user = add_user(session, "u", Role.inspector, jurisdiction="M1")
    hour = dt.timedelta(hours=1)
    _, cookie = users.open_web_session(session, user=user, now=NOW, lifetime=hour, ip="127.0.0.1")
    assert users.find_web_session(session, plaintext=cookie, now=NOW) is not None
    assert users.find_web_session(session, plaintext=cookie, now=NOW + 2 * hour) is None
    assert users.prune_web_sessions(session, now=NOW + 30 * dt.timedelta(minutes=1)) == 0

    users.set_password(user=user, password="another long password", now=NOW + dt.timedelta(1))
    session.flush()
    assert (
        users.find_web_session(session, plaintext=cookie, now=NOW + dt.timedelta(minutes=5)) is None
    )

    _, cookie2 = users.open_web_session(
        session, user=user, now=NOW + dt.timedelta(1), lifetime=hour, ip="127.0.0.1"
    )
    assert users.find_web_session(session, plaintext=cookie2, now=NOW + dt.timedelta(1)) is not None
    users.set_disabled(session, username="u", disabled=True)
    session.flush()
    assert users.find_web_session(session, plaintext=cookie2, now=NOW + dt.timedelta(1)) is None
    other = add_user(session, "v", Role.viewer, jurisdiction="M1")
    users.open_web_session(session, user=other, now=NOW, lifetime=hour, ip="127.0.0.1")
    assert users.prune_web_sessions(session, now=NOW + 2 * hour) == 1


def test_failures_count_per_user_since_last_success_and_per_ip(session: Session) -> None:
    minute = dt.timedelta(minutes=1)
    for i in range(3):
        users.record_login_attempt(
            session, username="u", ip="10.0.0.1", success=False, now=NOW + i * minute
        )
    users.record_login_attempt(
        session, username="u", ip="10.0.0.1", success=True, now=NOW + 3 * minute
    )
    users.record_login_attempt(
        session, username="u", ip="10.0.0.2", success=False, now=NOW + 4 * minute
    )
    users.record_login_attempt(
        session, username="v", ip="10.0.0.1", success=False, now=NOW + 4 * minute
    )
    session.flush()
    since = NOW - 10 * minute
    assert users.recent_failures(session, username="u", ip="10.0.0.1", since=since) == (1, 4)
    assert users.recent_failures(session, username="v", ip="10.0.0.9", since=since) == (1, 0)
    assert users.prune_login_attempts(session, before=NOW + 2 * minute) == 2


DAY = dt.date(2026, 3, 31)


def _subject(unit: str | None, bearer: str | None, *, person: str | None = None):
    return users.RecusalSubject(
        unit_code=unit,
        subject_kind="person" if person else "unit",
        subject_id=person or unit or "",
        bearer_person=bearer,
        on=[DAY],
    )


def test_recusal_reasons_cover_self_lead_chain_and_relatives(session: Session) -> None:
    seed_org(session)
    insp1 = add_user(session, "insp1", Role.inspector, jurisdiction="M1", person_code="P-INSP1")
    insp2 = add_user(session, "insp2", Role.inspector, jurisdiction="M1", person_code="P-INSP2")
    head = add_user(session, "head", Role.inspector, jurisdiction="G", person_code="P-HEAD-M1")
    unlinked = add_user(session, "nobody", Role.inspector, jurisdiction="M1")
    relatives = DeclaredRelatives({"P-INSP2": {"P-SEC-B1"}})

    def kinds(user: users.User, subject: users.RecusalSubject) -> set[str]:
        check = users.RecusalCheck(session, user=user, relatives=relatives)
        return {reason.kind.value for reason in check.reasons(subject)}

    branch_case = _subject("B1", "P-SEC-B1")
    assert kinds(insp1, branch_case) == set()
    assert kinds(insp2, branch_case) == {"relative"}
    assert kinds(head, branch_case) == {"leads_unit"}  # M1 is above B1
    assert kinds(unlinked, branch_case) == set()

    mine_case = _subject("M1", "P-HEAD-M1")
    assert kinds(insp1, mine_case) == {"superior"}  # 王矿长 heads insp1's unit
    assert kinds(head, mine_case) == {"self", "leads_unit"}

    about_insp1 = _subject("M1", None, person="P-INSP1")
    assert kinds(insp1, about_insp1) == {"self"}
    assert kinds(insp2, about_insp1) == set()

    # Before the head took office the lead no longer applies.
    early = users.RecusalSubject(
        unit_code="B1",
        subject_kind="unit",
        subject_id="B1",
        bearer_person=None,
        on=[dt.date(2019, 6, 30)],
    )
    assert kinds(head, early) == set()


def test_recused_inspectors_are_routed_around(session: Session) -> None:
    seed_org(session)
    add_user(session, "insp1", Role.inspector, jurisdiction="M1", person_code="P-INSP1")
    add_user(session, "insp2", Role.inspector, jurisdiction="M1", person_code="P-INSP2")
    add_user(session, "g", Role.inspector, jurisdiction="G", person_code="P-INSP3")
    mine_case = _subject("M1", "P-HEAD-M1")
    routed = users.eligible_inspectors(session, subject=mine_case)
    # insp1 and insp2 both report to 王矿长 (home unit M1), so the case goes up to the group.
    assert [u.username for u in routed] == ["g"]
    branch_case = _subject("B1", "P-SEC-B1")
    relatives = DeclaredRelatives({"P-INSP1": {"P-SEC-B1"}})
    routed = users.eligible_inspectors(session, subject=branch_case, relatives=relatives)
    assert [u.username for u in routed] == ["insp2", "g"]
