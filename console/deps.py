"""Request dependencies: the database session, the signed-in user, CSRF checks, templates.

Pages and the API share these, so both apply the same rules: a page without a valid session
redirects to the login form; the API answers 401 instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from console import auditing, security
from console.security import IdentityProvider, PasswordProvider, Signer
from dualduty.settings import Settings
from models import users
from models.base import utcnow
from models.session import transaction
from models.users import RelativesLookup, Role, User, WebSession, no_declared_relatives

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class ConsoleState:
    """What one console app holds for its lifetime (on ``app.state.console``)."""

    settings: Settings
    sessions: sessionmaker[Session]
    signer: Signer
    templates: Jinja2Templates
    identity: IdentityProvider = field(default_factory=PasswordProvider)
    relatives: RelativesLookup = no_declared_relatives

    @property
    def session_lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=self.settings.session_hours)

    @property
    def upload_max_bytes(self) -> int:
        return int(self.settings.upload_max_mb * 1024 * 1024)


def make_templates(*, timezone: str) -> Jinja2Templates:
    zone = ZoneInfo(timezone)

    def local(moment: dt.datetime) -> str:
        """Times are stored in UTC and read where the organisation works."""
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Every page escapes every value: a <script> typed into a comment renders as text.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local
    return Jinja2Templates(env=env)


def get_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


State = Annotated[ConsoleState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with transaction(state.sessions()) as session:
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """The signed-in user and how they proved it."""

    user: User
    web_session: WebSession | None  # None when authenticated by an API token

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token if self.web_session else ""


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login form."""

    def __init__(self, *, next_url: str, expired: bool) -> None:
        self.next_url = next_url
        self.expired = expired


def _from_cookie(request: Request, state: ConsoleState, db: Session) -> Principal | None:
    signed = request.cookies.get(security.SESSION_COOKIE)
    if not signed:
        return None
    plaintext = state.signer.unsign(signed, max_age=state.session_lifetime)
    if plaintext is None:
        return None
    now = utcnow()
    found = users.find_web_session(db, plaintext=plaintext, now=now)
    if found is None:
        return None
    web_session, user = found
    # Touch at most every five minutes: a write per request would serialise SQLite readers.
    if now - web_session.last_seen_at > dt.timedelta(minutes=5):
        web_session.last_seen_at = now
    return Principal(user=user, web_session=web_session)


def principal_if_any(request: Request, state: ConsoleState) -> Principal | None:
    """For pages rendered outside a route (error pages): who is signed in, if anyone, so the
    page keeps its header and logout button. Read-only; the session is discarded."""
    with state.sessions() as session:
        principal = _from_cookie(request, state, session)
        if principal is not None:
            session.expunge_all()
        return principal


def page_principal(request: Request, state: State, db: Db) -> Principal:
    principal = _from_cookie(request, state, db)
    if principal is None:
        next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(next_url=next_url, expired=security.SESSION_COOKIE in request.cookies)
    return principal


PageUser = Annotated[Principal, Depends(page_principal)]


def api_principal(request: Request, state: State, db: Db) -> Principal:
    """Bearer token, or the browser's session cookie (then unsafe methods need the CSRF
    header, since cookies ride along on cross-site requests and bearer tokens do not)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        user = users.user_for_token(db, plaintext=credentials.strip(), now=utcnow())
        if user is None:
            # No part of the presented token is logged: a typo'd real token is still a secret.
            auditing.record_and_commit(
                db,
                actor="",
                action="api.denied",
                subject_type="api",
                subject_id=request.url.path[:64],
                detail={"ip": security.client_ip(request), "reason": "invalid_token"},
            )
            raise HTTPException(
                401,
                "令牌无效、已吊销或已过期 / invalid, revoked or expired token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Principal(user=user, web_session=None)
    principal = _from_cookie(request, state, db)
    if principal is None:
        raise HTTPException(
            401, "需要登录 / authentication required", headers={"WWW-Authenticate": "Bearer"}
        )
    if request.method not in {"GET", "HEAD", "OPTIONS"} and not security.tokens_match(
        principal.csrf_token, request.headers.get(security.CSRF_HEADER)
    ):
        raise HTTPException(403, "CSRF 校验失败 / CSRF token missing or wrong")
    return principal


ApiUser = Annotated[Principal, Depends(api_principal)]


class CsrfFailed(Exception):
    """A form POST whose token is missing or not this session's."""


async def require_csrf(request: Request, principal: PageUser, db: Db) -> Principal:
    """Checks the form's token against the session's. Starlette caches the parsed form, so
    the route reads the same fields again for free. A mismatch is audited: it is either a
    stale page or someone else's page posting on the user's behalf."""
    form = await request.form()
    given = form.get(security.CSRF_FIELD)
    if not security.tokens_match(principal.csrf_token, given if isinstance(given, str) else None):
        await run_in_threadpool(
            auditing.record_and_commit,
            db,
            actor=principal.user.username,
            action="csrf.denied",
            subject_type="path",
            subject_id=request.url.path[:64],
            detail={"ip": security.client_ip(request)},
        )
        raise CsrfFailed()
    return principal


FormUser = Annotated[Principal, Depends(require_csrf)]


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.user.role_enum not in roles:
        raise HTTPException(403, "无此权限 / not permitted for your role")


def render(
    request: Request,
    state: ConsoleState,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page with what every layout needs (user, CSRF token, role labels)."""
    base: dict[str, Any] = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "role_labels": users.ROLE_LABELS,
        "Role": Role,
    }
    return state.templates.TemplateResponse(request, name, base | context, status_code=status_code)
