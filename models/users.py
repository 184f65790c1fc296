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
from typing import Protocol, runtime_checkable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Boolean, ForeignKey, Index, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dualduty.errors import ConflictError, NotFoundError, UserError
from dualduty.settings import get_settings
from models import org
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


def inspectors_for_unit(session: Session, *, unit_code: str) -> list[User]:
    """Active inspectors whose jurisdiction subtree contains ``unit_code``, nearest
    jurisdiction first (the inspector closest to the unit is the natural first recipient)."""
    if org.get_unit(session, code=unit_code) is None:
        return []
    chain = [unit_code, *org.ancestors(session, unit_code=unit_code)]
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


# --- recusal (回避) --------------------------------------------------------------------------


class RecusalKind(StrEnum):
    self_ = "self"  # the inspector is the subject or the bearer
    leads_unit = "leads_unit"  # the inspector holds the head post of the unit or one above it
    superior = "superior"  # the bearer is in the inspector's supervisory chain
    subordinate = "subordinate"  # the inspector is in the bearer's supervisory chain
    relative = "relative"  # the subject or bearer is the inspector's declared relative


class RecusalReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: RecusalKind
    message: str  # 中文 / English, shown on the case page


class RelativesLookup(Protocol):
    """Declared relatives of a person on a date (personal-matters reports, B12).

    ``evidence.relatives.StoredRelatives`` answers it from declarations in the evidence store;
    ``no_declared_relatives`` when none are configured.
    """

    def __call__(self, session: Session, *, person_code: str, on: dt.date) -> set[str]: ...


@runtime_checkable
class MutualRelativesLookup(RelativesLookup, Protocol):
    """A lookup that also knows who declared a person as *their* relative: a subject who
    declared the inspector recuses the inspector, even if the inspector declared nothing."""

    def declared_by(self, session: Session, *, person_code: str, on: dt.date) -> set[str]: ...


def no_declared_relatives(session: Session, *, person_code: str, on: dt.date) -> set[str]:
    return set()


class CaseFacts(Protocol):
    """The columns of a case (``models.cases.Case``) that recusal reads."""

    @property
    def unit_code(self) -> str | None: ...
    @property
    def subject_kind(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def bearer_person(self) -> str | None: ...
    @property
    def deadline_on(self) -> dt.date: ...


class RecusalSubject(BaseModel):
    """What a case is about, as far as recusal needs to know."""

    model_config = ConfigDict(frozen=True)

    unit_code: str | None
    subject_kind: str  # rules.findings.SubjectKind value
    subject_id: str
    bearer_person: str | None
    on: list[dt.date]  # the dates that matter: the period the duty was borne in, and today

    @classmethod
    def of_case(cls, case: CaseFacts, *, today: dt.date) -> RecusalSubject:
        """The case as the console and the escalation pass both judge it: on the duty's
        deadline (who held which post then) and on ``today``."""
        return cls(
            unit_code=case.unit_code,
            subject_kind=case.subject_kind,
            subject_id=case.subject_id,
            bearer_person=case.bearer_person,
            on=sorted({case.deadline_on, today}),
        )


class RecusalCheck:
    """Answers "must this user stay out of this case?" for many cases in one request.

    The user's side (units they lead, their superiors, their declared relatives) is looked up
    once per date and reused, so a queue page of fifty cases costs a handful of queries.
    Only a user linked to a person can be recused: without ``person_code`` there is nothing to
    compare, which is why inspectors should always be linked (``users add --person``).
    """

    def __init__(
        self,
        session: Session,
        *,
        user: User,
        relatives: RelativesLookup = no_declared_relatives,
    ) -> None:
        self._session = session
        self._relatives = relatives
        person = user.person_code
        self._me = person if person and org.get_person(session, code=person) else None
        self._led: dict[dt.date, dict[str, str]] = {}
        self._superiors: dict[dt.date, set[str]] = {}
        self._related: dict[dt.date, set[str]] = {}
        self._declaring: dict[dt.date, set[str]] = {}
        self._above: dict[str, list[str]] = {}

    def _units_led(self, me: str, day: dt.date) -> dict[str, str]:
        """Unit code -> head post the user held there on ``day``."""
        if day not in self._led:
            heads = set(org.head_posts(self._session))
            self._led[day] = {
                a.unit_code: a.post_name
                for a in org.posts_of(self._session, person_code=me, on=day)
                if a.post_name in heads
            }
        return self._led[day]

    def _my_superiors(self, me: str, day: dt.date) -> set[str]:
        if day not in self._superiors:
            chain = org.supervisor_chain(self._session, person_code=me, on=day)
            self._superiors[day] = {link.person_code for link in chain}
        return self._superiors[day]

    def _my_relatives(self, me: str, day: dt.date) -> set[str]:
        if day not in self._related:
            self._related[day] = self._relatives(self._session, person_code=me, on=day)
        return self._related[day]

    def _declaring_me(self, me: str, day: dt.date) -> set[str]:
        """Who declared the user as their relative (when the lookup can tell)."""
        if day not in self._declaring:
            lookup = self._relatives
            found: set[str] = set()
            if isinstance(lookup, MutualRelativesLookup):
                found = lookup.declared_by(self._session, person_code=me, on=day)
            self._declaring[day] = found
        return self._declaring[day]

    def _who(self, person_code: str) -> str:
        person = org.get_person(self._session, code=person_code)
        return f"{person.name}（{person_code}）" if person else person_code

    def _unit_and_above(self, unit_code: str) -> list[str]:
        if unit_code not in self._above:
            known = org.get_unit(self._session, code=unit_code) is not None
            above = org.ancestors(self._session, unit_code=unit_code) if known else []
            self._above[unit_code] = [unit_code, *above]
        return self._above[unit_code]

    def reasons(self, subject: RecusalSubject) -> list[RecusalReason]:
        """Why the user must not decide about ``subject``; empty when they may."""
        me = self._me
        if me is None:
            return []
        people = {subject.bearer_person} if subject.bearer_person else set()
        if subject.subject_kind == "person":
            people.add(subject.subject_id)
        found: dict[RecusalKind, RecusalReason] = {}

        def add(kind: RecusalKind, message: str) -> None:
            found.setdefault(kind, RecusalReason(kind=kind, message=message))

        if me in people:
            add(RecusalKind.self_, "本人为案件当事人或责任人 / you are the subject or the bearer")
        others = people - {me}
        if not others and not subject.unit_code:
            return list(found.values())
        for day in subject.on:
            # Leading the unit or one above it also covers "the inspector supervises the
            # bearer": a supervisor chain is made of exactly those head posts.
            if subject.unit_code:
                led = self._units_led(me, day)
                for code in self._unit_and_above(subject.unit_code):
                    if code in led:
                        add(
                            RecusalKind.leads_unit,
                            f"本人{day:%Y-%m-%d}担任 {code} {led[code]} / you held the head "
                            f"post {led[code]} of {code} on {day:%Y-%m-%d}",
                        )
            else:
                for person in others:
                    if org.get_person(self._session, code=person) is None:
                        continue
                    chain = org.supervisor_chain(self._session, person_code=person, on=day)
                    if me in {link.person_code for link in chain}:
                        add(
                            RecusalKind.subordinate,
                            f"本人是当事人 {self._who(person)} 的上级 / you supervise {person}",
                        )
            if not others:
                continue
            for person in sorted(others & self._my_superiors(me, day)):
                add(
                    RecusalKind.superior,
                    f"当事人 {self._who(person)} 是本人的上级 / {person} is in your "
                    "supervisory chain",
                )
            for person in sorted(others & self._my_relatives(me, day)):
                add(
                    RecusalKind.relative,
                    f"当事人 {self._who(person)} 是本人申报的亲属 / {person} is your declared "
                    "relative",
                )
            for person in sorted(others & self._declaring_me(me, day)):
                add(
                    RecusalKind.relative,
                    f"当事人 {self._who(person)} 申报本人为其亲属 / {person} declared you as "
                    "a relative",
                )
        return list(found.values())


def eligible_inspectors(
    session: Session,
    *,
    subject: RecusalSubject,
    relatives: RelativesLookup = no_declared_relatives,
) -> list[User]:
    """The inspectors a case routes to: those whose jurisdiction covers its unit and who are
    not recused, nearest jurisdiction first. Escalation steps addressed to "the inspectors"
    use this, so a recused inspector is never asked to act."""
    if subject.unit_code is None:
        return []
    return [
        user
        for user in inspectors_for_unit(session, unit_code=subject.unit_code)
        if not RecusalCheck(session, user=user, relatives=relatives).reasons(subject)
    ]
