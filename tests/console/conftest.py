"""Console fixtures: cheap argon2, a small organisation, users in each role."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from console.app import create_app
from dualduty.settings import Settings, get_settings
from models import users
from models.org import Person, PostAssignment, PostType, Unit

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Production argon2 costs 64 MiB and ~0.1 s per hash; tests need neither."""
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_MEMORY_KIB", "8")
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


@contextmanager
def running_console(engine: Engine, settings: Settings) -> Iterator[str]:
    """uvicorn serving the console in a thread, as ``dualduty serve`` does; yields its URL."""
    app = create_app(settings=settings, engine=engine)
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
