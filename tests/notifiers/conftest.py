"""Notifier fixtures: loopback chat and SMTP servers, a small organisation, channels, a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.org import Person
from models.outbox import Notice, OutboxMessage, enqueue
from notifiers.channels import Channels, parse_channels
from notifiers.delivery import SteppingClock
from tests.notifiers.servers import ChatServer, SmtpHandler, free_port

# 09:00 in Beijing.
NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)

PEOPLE = [
    # 李书记 can be reached everywhere; 王矿长 has no address on any channel.
    Person(
        code="P1",
        name="李书记",
        contacts={
            "email": "li@corp.example",
            "mobile": "13800000001",
            "wecom": "li.shuji",
            "feishu": "ou_li",
        },
    ),
    Person(code="P2", name="王矿长", contacts={}),
    Person(
        code="P3", name="张纪检", contacts={"email": "zhang@corp.example", "mobile": "13800000003"}
    ),
]


def channels_yaml(smtp_port: int = 25) -> str:
    return f"""
channels:
  inbox:
    kind: inbox
  mail:
    kind: email
    host: 127.0.0.1
    port: {smtp_port}
    sender: 一岗双责监督平台 <dualduty@corp.example>
    fallback: inbox
  dingtalk:
    kind: dingtalk
    url_env: T_DINGTALK_URL
    secret_env: T_DINGTALK_SECRET
    groups: {{纪检监察室: ""}}
    fallback: inbox
  wecom:
    kind: wecom
    url_env: T_WECOM_URL
    fallback: inbox
  feishu:
    kind: feishu
    url_env: T_FEISHU_URL
    secret_env: T_FEISHU_SECRET
    fallback: inbox
  hook:
    kind: webhook
    url_env: T_WEBHOOK_URL
    secret_env: T_WEBHOOK_SECRET
    fallback: inbox
"""


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def chat_env(chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = chat_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@dataclass
class Smtp:
    controller: Controller | None
    handler: SmtpHandler
    port: int

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def start(self) -> None:
        """A stopped aiosmtpd controller cannot restart: a new one takes the same port."""
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(None, SmtpHandler(), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def channels(chat_env: dict[str, str], smtp: Smtp) -> Channels:
    return parse_channels(channels_yaml(smtp.port), file="channels.yaml")


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory on SQLite and on PostgreSQL, with the people loaded."""
    make = sessionmaker(engine, expire_on_commit=False)
    with make() as session, session.begin():
        session.add_all(
            [Person(code=p.code, name=p.name, contacts=dict(p.contacts)) for p in PEOPLE]
        )
    return make


@pytest.fixture
def sqlite_factory(sqlite_engine: Engine) -> sessionmaker[Session]:
    make = sessionmaker(sqlite_engine, expire_on_commit=False)
    with make() as session, session.begin():
        session.add_all(
            [Person(code=p.code, name=p.name, contacts=dict(p.contacts)) for p in PEOPLE]
        )
    return make


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(NOW)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def notice(case_id: int, **fields: object) -> Notice:
    values: dict[str, object] = {
        "template": "overdue",
        "case_id": case_id,
        "rule_title": "支委会每月至少召开一次",
        "subject_name": "综采一队党支部",
        "bearer_name": "李书记",
        "period": "2026-10",
        "step": "L1",
        "step_name": "逾期催办",
        "due_date": dt.date(2026, 11, 3),
    }
    values.update(fields)
    return Notice.model_validate(values)


def add_messages(
    factory: sessionmaker[Session],
    *,
    channel: str,
    recipients: list[str],
    cases: range | list[int],
    now: dt.datetime = NOW,
    step: str = "L1",
) -> list[int]:
    ids = []
    with factory() as session, session.begin():
        for case_id in cases:
            for recipient in recipients:
                row = enqueue(
                    session,
                    case_id=case_id,
                    step=step,
                    channel=channel,
                    recipient=recipient,
                    notice=notice(case_id),
                    now=now,
                )
                assert row is not None
                ids.append(row.id)
    return ids


def rows(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    from sqlalchemy import select

    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
