"""Who is asking, and may they: cookies, CSRF, login throttling, the identity-provider seam.

Sessions live in the database (``models.users.WebSession``) so logout, disabling a user and
changing a password end them at once. The cookie carries only a random session id, signed with
the console's secret key (a tampered cookie is rejected before any database lookup) and marked
HttpOnly, SameSite=Lax, and Secure whenever the console is reached over https.

Every state-changing form carries the session's CSRF token; the login form, which has no
session yet, uses a signed double-submit cookie instead.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from dualduty.settings import Settings
from models import users
from models.users import User

SESSION_COOKIE = "dd_session"
LOGIN_CSRF_COOKIE = "dd_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Signer:
    """Signs cookie values with the console secret. One per app; the key never leaves it."""

    def __init__(self, secret_key: str) -> None:
        # An empty key means "random per process": sessions then end when the console restarts,
        # which is safe, merely inconvenient (settings.secret_key says so).
        self._serializer = URLSafeTimedSerializer(
            secret_key or secrets.token_urlsafe(32), salt="dualduty-console"
        )

    def sign(self, value: str) -> str:
        return self._serializer.dumps(value)

    def unsign(self, signed: str, *, max_age: dt.timedelta) -> str | None:
        try:
            value = self._serializer.loads(signed, max_age=int(max_age.total_seconds()))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


def client_ip(request: Request) -> str:
    # uvicorn rewrites request.client from X-Forwarded-For only for trusted proxies
    # (--forwarded-allow-ips), so a client cannot spoof its address to dodge throttling.
    return request.client.host if request.client else "unknown"


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, *, name: str, value: str, max_age: dt.timedelta
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(max_age.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_cookie(response: Response, request: Request, *, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request))


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so a forged token cannot be found byte by byte."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


# --- login throttling ------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """Why a login is refused before its password is even checked."""

    by_user: bool
    by_ip: bool
    retry_minutes: int

    @property
    def message(self) -> str:
        return (
            f"登录失败次数过多，请 {self.retry_minutes} 分钟后再试 / "
            f"too many failed logins, try again in {self.retry_minutes} minutes"
        )


def check_throttle(
    session: Session, *, settings: Settings, username: str, ip: str, now: dt.datetime
) -> Throttle | None:
    window = dt.timedelta(minutes=settings.login_window_minutes)
    by_user, by_ip = users.recent_failures(session, username=username, ip=ip, since=now - window)
    user_blocked = by_user >= settings.login_max_failures_per_user
    ip_blocked = by_ip >= settings.login_max_failures_per_ip
    if not (user_blocked or ip_blocked):
        return None
    return Throttle(
        by_user=user_blocked, by_ip=ip_blocked, retry_minutes=settings.login_window_minutes
    )


# --- identity providers ----------------------------------------------------------------------


class IdentityProvider(Protocol):
    """Proves who a user is. Password login is one provider; an OIDC provider (redirect to the
    group's SSO, callback with a verified ``sub`` mapped to a ``User``) is another. Whatever the
    provider, the console then opens the same ``WebSession``, applies the same roles,
    jurisdiction and recusal, and writes the same audit entries."""

    name: str

    def authenticate(self, session: Session, *, username: str, password: str) -> User | None: ...


class PasswordProvider:
    name = "password"

    def authenticate(self, session: Session, *, username: str, password: str) -> User | None:
        user = users.get_by_username(session, username=username)
        if user is None or user.disabled or user.password_hash is None:
            users.burn_password_time(password)
            return None
        return user if users.verify_password(user=user, password=password) else None
