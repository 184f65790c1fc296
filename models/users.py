"""Console accounts: users, their API tokens, web sessions and login attempts.

A user is an account, not a person of the organisation: ``person_code`` links an inspector to
the ``people`` row that recusal (回避) compares against, and ``jurisdiction`` names the unit whose
subtree the inspector covers. Neither is a foreign key: org syncs replace people and units, and a
dangling link must surface as "no cases / no recusal match", never block a sync.

Secrets are never stored: passwords as argon2 hashes, API tokens and session ids as SHA-256 of
random 256-bit values (a fast hash is enough for values nobody can guess, and lets us look them
up by index).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, ForeignKey, Index, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dualduty.errors import ConflictError, NotFoundError, UserError
from dualduty.settings import get_settings
from models.base import Base
from models.org import Unit


class Role(StrEnum):
    admin = "admin"  # manages accounts; sees everything; decides nothing it is recused from
    inspector = "inspector"  # 纪检监察人员: reviews and decides cases in a jurisdiction
    viewer = "viewer"  # reads cases in a jurisdiction, decides nothing


ROLE_LABELS: dict[Role, str] = {
    Role.admin: "管理员 / admin",
    Role.inspector: "纪检监察人员 / inspector",
    Role.viewer: "只读 / viewer",
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    person_code: Mapped[str | None] = mapped_column(String(64), index=True)
    # Unit code whose subtree the user covers; NULL = the whole organisation (admins).
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    # NULL: no local password (an account that may only log in through an identity provider).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    # Sessions issued before this moment are void: changing a password logs out everywhere.
    password_changed_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def label(self) -> str:
        return f"{self.display_name}（{self.username}）"


class ApiToken(Base):
    """A named bearer token for automation; shown once at creation, stored as a hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(
        String(12)
    )  # shown in listings so a token can be told apart
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A logged-in browser. Server-side so logout and disabling a user end it at once."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Per-session CSRF token, compared in constant time on every POST. Not a secret at rest:
    # it is useless without the session cookie.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(Base):
    """Every password login, kept in the database so throttling survives restarts and spans
    several console processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts__username_at", "username", "at"),
        Index("ix_login_attempts__ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
    success: Mapped[bool] = mapped_column(Boolean)


# --- passwords -------------------------------------------------------------------------------


def password_hasher() -> PasswordHasher:
    """Argon2id with the configured cost; tests lower it through settings to stay fast."""
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=1,
    )


MIN_PASSWORD_LENGTH = 10


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"密码太短 / password too short (at least {MIN_PASSWORD_LENGTH} characters)",
            hint="use a passphrase of several words",
        )


def set_password(*, user: User, password: str, now: dt.datetime) -> None:
    _check_password_strength(password)
    user.password_hash = password_hasher().hash(password)
    user.password_changed_at = now


def verify_password(*, user: User, password: str) -> bool:
    """True when ``password`` matches; upgrades the stored hash when the cost settings changed."""
    if user.password_hash is None:
        return False
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


_DUMMY_HASH: dict[tuple[int, int], str] = {}


def burn_password_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown username answers no faster than a
    wrong password (usernames cannot be enumerated by timing)."""
    hasher = password_hasher()
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hasher.hash(secrets.token_hex(16))
    with contextlib.suppress(VerificationError):
        hasher.verify(_DUMMY_HASH[key], password)


# --- users -----------------------------------------------------------------------------------


def _require_unit(session: Session, unit_code: str) -> None:
    if session.get(Unit, unit_code) is None:
        raise NotFoundError(
            f"单位不存在 / no unit {unit_code!r}",
            hint="load the organisation first, or check the unit code",
        )


def get_by_username(session: Session, *, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_by_username_or_raise(session: Session, *, username: str) -> User:
    user = get_by_username(session, username=username)
    if user is None:
        raise NotFoundError(f"用户不存在 / no user {username!r}")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str | None,
    now: dt.datetime,
    person_code: str | None = None,
    jurisdiction: str | None = None,
) -> User:
    """Create an account. Inspectors and viewers need a jurisdiction: without one they would
    see every unit, which only admins may."""
    username = username.strip()
    if not username:
        raise UserError("用户名不能为空 / username is empty")
    if get_by_username(session, username=username) is not None:
        raise ConflictError(f"用户已存在 / user {username!r} already exists")
    if role is not Role.admin and not jurisdiction:
        raise UserError(
            f"{ROLE_LABELS[role]} 需要管辖范围 / needs a jurisdiction",
            hint="pass --jurisdiction UNIT_CODE (the unit whose subtree the user covers)",
        )
    if jurisdiction:
        _require_unit(session, jurisdiction)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role.value,
        person_code=person_code or None,
        jurisdiction=jurisdiction or None,
        password_hash=None,
        disabled=False,
        created_at=now,
        password_changed_at=now,
        last_login_at=None,
    )
    if password is not None:
        set_password(user=user, password=password, now=now)
    session.add(user)
    session.flush()
    return user


def set_role(
    session: Session, *, username: str, role: Role, jurisdiction: str | None = None
) -> User:
    user = get_by_username_or_raise(session, username=username)
    new_jurisdiction = jurisdiction if jurisdiction is not None else user.jurisdiction
    if role is not Role.admin and not new_jurisdiction:
        raise UserError(
            f"{ROLE_LABELS[role]} 需要管辖范围 / needs a jurisdiction",
            hint="pass --jurisdiction UNIT_CODE",
        )
    if jurisdiction:
        _require_unit(session, jurisdiction)
    user.role = role.value
    user.jurisdiction = new_jurisdiction or None
    return user


def set_disabled(session: Session, *, username: str, disabled: bool) -> User:
    """Disabling ends the user's sessions and makes their tokens useless at once (both are
    checked against ``disabled`` on every request); re-enabling does not revive old sessions."""
    user = get_by_username_or_raise(session, username=username)
    user.disabled = disabled
    if disabled:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


# --- the unit tree ---------------------------------------------------------------------------


def unit_ancestors(session: Session, *, unit_code: str) -> list[str]:
    """``unit_code`` and every unit above it, nearest first. Stops on a cycle rather than
    looping forever on bad org data."""
    chain: list[str] = []
    current: str | None = unit_code
    while current is not None and current not in chain:
        chain.append(current)
        current = session.scalar(select(Unit.parent_code).where(Unit.code == current))
    return chain


def inspectors_for_unit(session: Session, *, unit_code: str) -> list[User]:
    """Active inspectors whose jurisdiction subtree contains ``unit_code``, nearest
    jurisdiction first (the inspector closest to the unit is the natural first recipient)."""
    chain = unit_ancestors(session, unit_code=unit_code)
    users = session.scalars(
        select(User).where(
            User.role == Role.inspector.value,
            User.disabled.is_(False),
            User.jurisdiction.in_(chain),
        )
    ).all()
    depth = {code: index for index, code in enumerate(chain)}
    return sorted(users, key=lambda u: (depth[u.jurisdiction or ""], u.username))


# --- API tokens ------------------------------------------------------------------------------

TOKEN_PREFIX = "dd_"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    username: str,
    name: str,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Returns the row and the plaintext token, which exists only in this return value."""
    user = get_by_username_or_raise(session, username=username)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(plaintext),
        prefix=plaintext[:10],
        created_at=now,
        expires_at=expires_at,
        last_used_at=None,
        revoked_at=None,
    )
    session.add(token)
    session.flush()
    return token, plaintext


def revoke_token(session: Session, *, token_id: int, now: dt.datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"令牌不存在 / no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def list_tokens(session: Session, *, username: str | None = None) -> list[tuple[ApiToken, User]]:
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    return [(t, u) for t, u in session.execute(query.order_by(ApiToken.id)).tuples()]


def user_for_token(session: Session, *, plaintext: str, now: dt.datetime) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, expired, or the
    user disabled)."""
    row = (
        session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.token_hash == hash_secret(plaintext),
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                User.disabled.is_(False),
            )
        )
        .tuples()
        .one_or_none()
    )
    if row is None:
        return None
    token, user = row
    token.last_used_at = now
    return user


# --- login throttling ------------------------------------------------------------------------


def record_login_attempt(
    session: Session, *, username: str, ip: str, success: bool, now: dt.datetime
) -> None:
    session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=now, success=success))


def recent_failures(
    session: Session, *, username: str, ip: str, since: dt.datetime
) -> tuple[int, int]:
    """Failed logins since ``since``: (for this username, from this IP).

    A success resets the username's count (only failures after the last success count), so
    a user who mistyped twice and then got in does not carry the strikes around.
    """
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    user_since = max(since, last_success) if last_success is not None else since
    by_user = session.scalar(
        select(func.count()).where(
            LoginAttempt.username == username,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > user_since,
        )
    )
    by_ip = session.scalar(
        select(func.count()).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    )
    return int(by_user or 0), int(by_ip or 0)


def prune_login_attempts(session: Session, *, before: dt.datetime) -> int:
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# --- web sessions ----------------------------------------------------------------------------


def open_web_session(
    session: Session, *, user: User, now: dt.datetime, lifetime: dt.timedelta, ip: str
) -> tuple[WebSession, str]:
    """Returns the row and the plaintext session id for the cookie (stored only as a hash)."""
    plaintext = secrets.token_urlsafe(32)
    web_session = WebSession(
        user_id=user.id,
        token_hash=hash_secret(plaintext),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
        ip=ip[:64],
    )
    session.add(web_session)
    user.last_login_at = now
    session.flush()
    return web_session, plaintext


def find_web_session(
    session: Session, *, plaintext: str, now: dt.datetime
) -> tuple[WebSession, User] | None:
    """The live session and its user, or None when unknown, expired, the user disabled, or
    the password changed after the session began."""
    row = (
        session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.token_hash == hash_secret(plaintext),
                WebSession.expires_at > now,
                User.disabled.is_(False),
                WebSession.created_at >= User.password_changed_at,
            )
        )
        .tuples()
        .one_or_none()
    )
    return None if row is None else (row[0], row[1])


def close_web_session(session: Session, *, plaintext: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_secret(plaintext)))


def prune_web_sessions(session: Session, *, now: dt.datetime) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
