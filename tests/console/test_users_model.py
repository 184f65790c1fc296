"""Accounts: creation rules, passwords, tokens, sessions, throttling counts, jurisdictions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from dualduty.errors import ConflictError, NotFoundError, UserError
from models import users
from models.users import Role
from tests.console.conftest import NOW, PASSWORD, add_user, seed_org


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
