"""Login and logout.

A failed login says only "wrong username or password" and takes as long as a right one, so
neither the message nor the timing tells which usernames exist. Throttling counts failures per
username and per address in the database; a throttled attempt is refused before the password
is checked and is not counted itself, so a lock-out ends one window after the last real try.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from console import auditing, security
from console.deps import ConsoleState, Db, FormUser, State, render
from models import users
from models.base import utcnow

router = APIRouter()
KEEP_LOGIN_ATTEMPTS = dt.timedelta(days=30)


def _safe_next(next_url: str | None) -> str:
    """Only same-site paths: ``next=https://evil.example`` must not turn login into a
    redirector."""
    if not next_url:
        return "/cases"
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not next_url.startswith("/") or next_url.startswith("//"):
        return "/cases"
    return next_url


def _login_page(
    request: Request,
    state: ConsoleState,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    token = security.new_login_csrf()
    response = render(
        request,
        state,
        "login.html",
        {
            "next_url": next_url,
            "username": username,
            "error": error,
            "notice": notice,
            "login_csrf": token,
        },
        status_code=status_code,
    )
    security.set_cookie(
        response,
        request,
        name=security.LOGIN_CSRF_COOKIE,
        value=state.signer.sign(token),
        max_age=state.session_lifetime,
    )
    return response


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/cases", status_code=303)


@router.get("/login")
def login_form(
    request: Request, state: State, next: str | None = None, expired: str | None = None
) -> Response:
    notice = (
        "会话已过期或已退出，请重新登录。/ Your session has ended; please sign in again."
        if expired
        else None
    )
    return _login_page(request, state, next_url=_safe_next(next), notice=notice)


@router.post("/login")
def login(
    request: Request,
    state: State,
    db: Db,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/cases",
) -> Response:
    next_url = _safe_next(next)
    username = username.strip()
    signed = request.cookies.get(security.LOGIN_CSRF_COOKIE, "")
    expected = state.signer.unsign(signed, max_age=state.session_lifetime) or ""
    if not security.tokens_match(expected, csrf_token):
        return _login_page(
            request,
            state,
            next_url=next_url,
            username=username,
            error="登录表单已失效，请重试。/ The login form expired; please try again.",
            status_code=403,
        )
    ip = security.client_ip(request)
    now = utcnow()
    throttle = security.check_throttle(
        db, settings=state.settings, username=username, ip=ip, now=now
    )
    if throttle is not None:
        auditing.record_and_commit(
            db,
            actor=username,
            action="login.throttled",
            subject_type="user",
            subject_id=username,
            detail={"ip": ip, "by_user": throttle.by_user, "by_ip": throttle.by_ip},
        )
        return _login_page(
            request,
            state,
            next_url=next_url,
            username=username,
            error=throttle.message,
            status_code=429,
        )
    user = state.identity.authenticate(db, username=username, password=password)
    users.record_login_attempt(db, username=username, ip=ip, success=user is not None, now=now)
    if user is None:
        # Committed even though the request "fails": the strike must count.
        auditing.record_and_commit(
            db,
            actor=username,
            action="login.failed",
            subject_type="user",
            subject_id=username,
            detail={"ip": ip, "provider": state.identity.name},
        )
        return _login_page(
            request,
            state,
            next_url=next_url,
            username=username,
            error="用户名或密码错误。/ Wrong username or password.",
            status_code=401,
        )
    _, plaintext = users.open_web_session(
        db, user=user, now=now, lifetime=state.session_lifetime, ip=ip
    )
    # Housekeeping on the way: expired sessions, and attempts long past any throttling window
    # (the audit log keeps every login for good).
    users.prune_web_sessions(db, now=now)
    users.prune_login_attempts(db, before=now - KEEP_LOGIN_ATTEMPTS)
    auditing.record(
        db,
        actor=user.username,
        action="login",
        subject_type="user",
        subject_id=user.username,
        detail={"ip": ip, "provider": state.identity.name},
        now=now,
    )
    response = RedirectResponse(next_url, status_code=303)
    security.set_cookie(
        response,
        request,
        name=security.SESSION_COOKIE,
        value=state.signer.sign(plaintext),
        max_age=state.session_lifetime,
    )
    security.clear_cookie(response, request, name=security.LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, state: State, db: Db, principal: FormUser) -> Response:
    signed = request.cookies.get(security.SESSION_COOKIE, "")
    plaintext = state.signer.unsign(signed, max_age=state.session_lifetime)
    if plaintext:
        users.close_web_session(db, plaintext=plaintext)
    auditing.record(
        db,
        actor=principal.user.username,
        action="logout",
        subject_type="user",
        subject_id=principal.user.username,
        detail={},
        now=utcnow(),
    )
    response = RedirectResponse("/login", status_code=303)
    security.clear_cookie(response, request, name=security.SESSION_COOKIE)
    return response
