"""Console fixtures: cheap argon2, a small organisation, users in each role."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from console.app import create_app
from dualduty.settings import Settings, get_settings
from evidence import manual
from evidence.types import EvidenceType
from models import cases, users
from models.audit import AuditEntry
from models.cases.tables import Case
from models.org import Person, PostAssignment, PostType, Unit
from rules.findings import Finding, Severity, Side, SubjectKind, Verdict

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def console_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Cheap argon2 (production costs 64 MiB and ~0.1 s per hash) and attachments under the
    test's own folder."""
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("DUALDUTY_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def seed_org(session: Session) -> None:
    """集团 G > 一矿 M1 > 综采队 D1 > 支部 B1; 集团 G > 二矿 M2 > 支部 B2.

    People: P-HEAD-M1 heads 一矿, P-SEC-B1 is B1's 党支部书记, P-INSP1 and P-INSP2 are
    inspectors at 一矿, P-INSP3 at 二矿, P-STAFF a member of B1.
    """
    session.add_all(
        [
            Unit(code="G", name="能源集团", kind="company", parent_code=None),
            Unit(code="M1", name="第一煤矿", kind="mine", parent_code="G"),
            Unit(code="D1", name="综采一队", kind="department", parent_code="M1"),
            Unit(code="B1", name="综采一队党支部", kind="branch", parent_code="D1"),
            Unit(code="M2", name="第二煤矿", kind="mine", parent_code="G"),
            Unit(code="B2", name="二矿机关党支部", kind="branch", parent_code="M2"),
        ]
    )
    session.flush()
    session.add_all(
        [
            PostType(name="矿长", name_en="mine director", single_holder=True, head_of_unit=True),
            PostType(name="党支部书记", name_en="branch secretary", head_of_unit=True),
            PostType(name="纪检监察员", name_en="inspector", single_holder=False),
        ]
    )
    for code, name, unit in [
        ("P-HEAD-M1", "王矿长", "M1"),
        ("P-SEC-B1", "李书记", "B1"),
        ("P-INSP1", "张纪检", "M1"),
        ("P-INSP2", "赵纪检", "M1"),
        ("P-INSP3", "钱纪检", "M2"),
        ("P-STAFF", "孙职工", "B1"),
    ]:
        session.add(Person(code=code, name=name, unit_code=unit))
    session.flush()
    session.add_all(
        [
            PostAssignment(
                person_code="P-HEAD-M1",
                post_name="矿长",
                unit_code="M1",
                since=dt.date(2020, 1, 1),
                until=None,
            ),
            PostAssignment(
                person_code="P-SEC-B1",
                post_name="党支部书记",
                unit_code="B1",
                since=dt.date(2022, 1, 1),
                until=None,
            ),
        ]
    )
    session.flush()


def add_user(
    session: Session,
    username: str,
    role: users.Role,
    *,
    jurisdiction: str | None = None,
    person_code: str | None = None,
) -> users.User:
    return users.create_user(
        session,
        username=username,
        display_name=username,
        role=role,
        password=PASSWORD,
        now=NOW,
        jurisdiction=jurisdiction,
        person_code=person_code,
    )


# --- a real console on a loopback port -------------------------------------------------------


def console_settings(engine: Engine, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "secret_key": "test-secret-key-0123456789abcdef",
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 8,
        "upload_max_mb": 0.25,
    }
    return Settings(**(values | overrides))


class DeclaredRelatives:
    """A relatives lookup over a fixed declaration table, for tests about recusal itself
    (``evidence.relatives.StoredRelatives`` answers from the store: tests/console/test_relatives.py)."""

    def __init__(self, table: dict[str, set[str]]) -> None:
        self.table = table

    def __call__(self, session: Session, *, person_code: str, on: dt.date) -> set[str]:
        return self.table.get(person_code, set())


@contextmanager
def running_console(
    engine: Engine, settings: Settings, *, relatives: users.RelativesLookup | None = None
) -> Iterator[str]:
    """uvicorn serving the console in a thread, as ``dualduty serve`` does; yields its URL."""
    app = create_app(
        settings=settings, engine=engine, relatives=relatives or users.no_declared_relatives
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("console did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def console_url(engine: Engine) -> Iterator[str]:
    with running_console(engine, console_settings(engine)) as url:
        yield url


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


@contextmanager
def logged_in(base_url: str, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = login(client, username)
        assert response.status_code == 303, response.text
        yield client


# --- cases -----------------------------------------------------------------------------------


def open_case(
    session: Session,
    *,
    rule_id: str,
    unit: str,
    bearer: str | None = None,
    bearer_post: str | None = None,
    person: str | None = None,
    severity: Severity = Severity.medium,
    side: Side = Side.integrity,
    period: str = "2026-03",
    explanation: str = "2026-03 无支委会记录（要求 ≥1，实际 0）",
    evidence_ids: list[int] | None = None,
    ladder: str | None = "standard",
) -> Case:
    """A failing finding reconciled into a case, as an inspection would."""
    finding = Finding(
        pack="party-conduct",
        pack_version="9f" * 32,
        rule_id=rule_id,
        period=period,
        subject_kind=SubjectKind.person if person else SubjectKind.unit,
        subject_id=person or unit,
        unit_code=unit,
        verdict=Verdict.failed,
        side=side,
        severity=severity,
        ladder=ladder,
        bearer_person=bearer,
        bearer_post=bearer_post,
        explanation=explanation,
        evidence_ids=evidence_ids or [],
    )
    report = cases.reconcile(session, findings=[finding], inspection_id=None, now=NOW)
    case = session.get(Case, report.opened[0])
    assert case is not None
    return case


PROCUREMENT = EvidenceType(
    title="采购合同 / procurement",
    fields={"unit": "unit", "vendor": "str", "amount": "int", "signed_on": "date"},
    key=["unit", "vendor", "signed_on"],
)


@dataclass(frozen=True)
class Scenario:
    """Case ids by what makes them interesting."""

    branch: int  # B1, bearer 李书记 (P-SEC-B1): insp1 and insp2 may decide (insp2 is related)
    mine_head: int  # M1, bearer 王矿长 who supervises insp1 and insp2: both recused
    about_insp1: int  # a person case about insp1 himself
    procurement: int  # D1, critical, business side, with an evidence record
    other_mine: int  # B2 in 二矿: outside insp1's jurisdiction


def seed_scenario(session: Session) -> Scenario:
    """The organisation, one user per role and jurisdiction, and five cases."""
    seed_org(session)
    add_user(session, "insp1", users.Role.inspector, jurisdiction="M1", person_code="P-INSP1")
    add_user(session, "insp2", users.Role.inspector, jurisdiction="M1", person_code="P-INSP2")
    add_user(session, "insp3", users.Role.inspector, jurisdiction="M2", person_code="P-INSP3")
    add_user(session, "ginsp", users.Role.inspector, jurisdiction="G", person_code=None)
    add_user(session, "viewer", users.Role.viewer, jurisdiction="M1")
    add_user(session, "root", users.Role.admin)
    report = manual.submit(
        session,
        type_name="procurement",
        evidence_type=PROCUREMENT,
        records=[
            {
                "unit": "D1",
                "vendor": "某某矿山机械有限公司",
                "amount": "1200000",
                "signed_on": "2026-03-05",
            }
        ],
        submitted_by="seed",
        origin="seed",
    )
    branch = open_case(
        session,
        rule_id="branch-committee-monthly",
        unit="B1",
        bearer="P-SEC-B1",
        bearer_post="党支部书记",
    )
    mine_head = open_case(
        session,
        rule_id="secretary-integrity-talks",
        unit="M1",
        bearer="P-HEAD-M1",
        bearer_post="矿长",
        severity=Severity.high,
        explanation="2026-03 矿长未开展廉洁谈话",
    )
    about_insp1 = open_case(
        session,
        rule_id="training-hours",
        unit="M1",
        person="P-INSP1",
        bearer="P-INSP1",
        explanation="学时不足（要求 ≥32，实际 20）",
        side=Side.business,
        severity=Severity.low,
    )
    procurement = open_case(
        session,
        rule_id="major-procurement-decision",
        unit="D1",
        severity=Severity.critical,
        side=Side.business,
        period="",
        explanation="大额采购 1,200,000 元无事先集体决策记录",
        evidence_ids=report.ids,
        ladder="integrity",
    )
    other = open_case(session, rule_id="branch-committee-monthly", unit="B2")
    session.flush()
    return Scenario(
        branch=branch.id,
        mine_head=mine_head.id,
        about_insp1=about_insp1.id,
        procurement=procurement.id,
        other_mine=other.id,
    )


@dataclass(frozen=True)
class LiveScenario:
    url: str
    engine: Engine
    cases: Scenario


@pytest.fixture
def live(engine: Engine) -> Iterator[LiveScenario]:
    """The scenario committed to the test's database and a console serving it."""
    with Session(engine) as session:
        scenario = seed_scenario(session)
        session.commit()
    with running_console(engine, console_settings(engine)) as url:
        yield LiveScenario(url=url, engine=engine, cases=scenario)


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )
