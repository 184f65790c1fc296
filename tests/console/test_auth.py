"""Login, sessions, CSRF, throttling and API tokens against a real console on loopback."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from models import audit, users
from models.base import utcnow
from models.users import Role, WebSession
from tests.console.conftest import (
    NOW,
    PASSWORD,
    add_user,
    audit_entries,
    console_settings,
    csrf_from,
    logged_in,
    login,
    running_console,
    seed_org,
)


def _seed(engine: Engine) -> None:
    with Session(engine) as session:
        seed_org(session)
        add_user(session, "insp", Role.inspector, jurisdiction="M1", person_code="P-INSP1")
        add_user(session, "root", Role.admin)
        session.commit()


def _audit_actions(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        entries = session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.seq))
        return [(e.actor, e.action) for e in entries]


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(
    engine: Engine, console_url: str
) -> None:
    _seed(engine)
    with httpx.Client(base_url=console_url) as client:
        assert client.get("/cases").headers["location"] == "/login?next=%2Fcases"
        response = login(client, "insp")
        assert response.status_code == 303 and response.headers["location"] == "/cases"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert PASSWORD not in cookie
        me = client.get("/api/me").json()
        assert me == {
            "username": "insp",
            "display_name": "insp",
            "role": "inspector",
            "jurisdiction": "M1",
            "person_code": "P-INSP1",
        }
        page = client.get("/login")  # any page with the layout carries the logout form
        stolen = client.cookies.get("dd_session")

        forged = client.post("/logout", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert client.get("/api/me").status_code == 200  # still logged in

        token = _session_csrf(engine)
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
        assert client.get("/api/me").status_code == 401
        del page
    # The old cookie is worthless after logout, even replayed.
    with httpx.Client(base_url=console_url, cookies={"dd_session": stolen or ""}) as replay:
        assert replay.get("/api/me").status_code == 401
    actions = _audit_actions(engine)
    assert ("user:insp", "login") in actions and ("user:insp", "logout") in actions


def _session_csrf(engine: Engine) -> str:
    with Session(engine) as session:
        return session.scalars(select(WebSession.csrf_token)).one()


def test_cookie_is_secure_behind_an_https_proxy(engine: Engine, console_url: str) -> None:
    _seed(engine)
    # The client speaks plain http to the console, as a TLS-terminating proxy on the same host
    # does; it must therefore hand back the Secure cookie itself.
    with httpx.Client(base_url=console_url, headers={"x-forwarded-proto": "https"}) as client:
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        login_cookie = page.headers["set-cookie"].split(";")[0]
        response = client.post(
            "/login",
            data={"username": "insp", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
            headers={"cookie": login_cookie},
        )
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_user_look_the_same(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with httpx.Client(base_url=console_url) as client:
        wrong = login(client, "insp", "not the password")
        unknown = login(client, "ghost", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    actions = _audit_actions(engine)
    assert ("user:insp", "login.failed") in actions
    assert ("user:ghost", "login.failed") in actions


def test_login_without_the_form_token_is_refused(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with httpx.Client(base_url=console_url) as client:
        client.get("/login")
        response = client.post(
            "/login", data={"username": "insp", "password": PASSWORD, "csrf_token": "forged"}
        )
    assert response.status_code == 403
    assert "dd_session" not in response.headers.get("set-cookie", "")


def test_throttling_per_user_survives_a_restart(engine: Engine) -> None:
    _seed(engine)
    settings = console_settings(engine, login_max_failures_per_user=3)
    with running_console(engine, settings) as url, httpx.Client(base_url=url) as client:
        for _ in range(3):
            assert login(client, "insp", "wrong password").status_code == 401
        blocked = login(client, "insp")  # the right password no longer helps
        assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text
        assert login(client, "root").status_code == 303  # other users are not affected
    # A new process on the same database still refuses.
    with running_console(engine, settings) as url, httpx.Client(base_url=url) as client:
        assert login(client, "insp").status_code == 429
    assert ("user:insp", "login.throttled") in _audit_actions(engine)
    # Once the window has passed, the user may log in again.
    with Session(engine) as session:
        session.execute(update(users.LoginAttempt).values(at=utcnow() - dt.timedelta(minutes=20)))
        session.commit()
    with running_console(engine, settings) as url, httpx.Client(base_url=url) as client:
        assert login(client, "insp").status_code == 303


def test_throttling_per_address_across_usernames(engine: Engine) -> None:
    _seed(engine)
    settings = console_settings(engine, login_max_failures_per_ip=4)
    with running_console(engine, settings) as url, httpx.Client(base_url=url) as client:
        for name in ["a1", "a2", "a3", "a4"]:
            assert login(client, name, "guess guess").status_code == 401
        assert login(client, "insp").status_code == 429


def test_an_expired_session_sends_the_user_to_login(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with logged_in(console_url, "insp") as client, Session(engine) as session:
        session.execute(update(WebSession).values(expires_at=NOW - dt.timedelta(minutes=1)))
        session.commit()
        response = client.get("/cases?state=open")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fcases%3Fstate%3Dopen&expired=1"
        assert "会话已过期" in client.get(response.headers["location"]).text
        assert client.get("/api/me").status_code == 401


def test_disabling_a_user_ends_their_session(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with logged_in(console_url, "insp") as client:
        assert client.get("/api/me").status_code == 200
        with Session(engine) as session:
            users.set_disabled(session, username="insp", disabled=True)
            session.commit()
        assert client.get("/api/me").status_code == 401


def test_login_redirects_only_to_local_paths(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with httpx.Client(base_url=console_url) as client:
        page = client.get("/login", params={"next": "https://evil.example/x"})
        assert 'name="next" value="/cases"' in page.text
        response = client.post(
            "/login",
            data={
                "username": "insp",
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
                "next": "//evil.example/",
            },
        )
        assert response.headers["location"] == "/cases"


def test_api_tokens(engine: Engine, console_url: str) -> None:
    _seed(engine)
    with Session(engine) as session:
        token, plaintext = users.create_token(session, username="insp", name="ci", now=NOW)
        token_id = token.id
        session.commit()
    with httpx.Client(base_url=console_url) as client:
        ok = client.get("/api/me", headers={"authorization": f"Bearer {plaintext}"})
        assert ok.status_code == 200 and ok.json()["username"] == "insp"
        bad = client.get("/api/me", headers={"authorization": "Bearer dd_guess"})
        assert bad.status_code == 401 and "Bearer" in bad.headers["www-authenticate"]
        denied = [(e.actor, e.action) for e in audit_entries(engine, "api.denied")]
        assert denied == [("anonymous", "api.denied")]
        assert "dd_guess" not in str(audit_entries(engine, "api.denied")[0].detail)
        assert client.get("/api/me").status_code == 401
        with Session(engine) as session:
            users.revoke_token(session, token_id=token_id, now=NOW)
            session.commit()
        assert (
            client.get("/api/me", headers={"authorization": f"Bearer {plaintext}"}).status_code
            == 401
        )


def test_security_headers_and_openapi(engine: Engine, console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        page = client.get("/login")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        spec = client.get("/api/openapi.json").json()
        assert "/me" in spec["paths"]
        assert client.get("/api/docs").status_code == 404  # the Swagger UI would need a CDN
