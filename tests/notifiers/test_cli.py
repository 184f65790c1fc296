"""``dualduty notify`` through the real command line, on a SQLite file and loopback servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from dualduty.cli import app
from dualduty.errors import DualdutyError, UserError
from models.base import utcnow
from models.org import Person
from models.outbox import OutboxState
from tests.notifiers.conftest import PEOPLE, Smtp, add_messages, channels_yaml, rows
from tests.notifiers.servers import DINGTALK_SECRET, DINGTALK_TOKEN, ChatServer


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def exit_code(result: Result) -> int:
    if isinstance(result.exception, DualdutyError):
        return result.exception.exit_code
    return result.exit_code


@pytest.fixture
def cli_db(
    db_env: str, sqlite_engine: Engine, tmp_path: Path, chat_env: dict[str, str], smtp: Smtp
) -> sessionmaker[Session]:
    """The CLI's database (db_env points settings at sqlite_engine's file) and channels.yaml in
    the working folder, where settings look by default."""
    (tmp_path / "channels.yaml").write_text(channels_yaml(smtp.port), encoding="utf-8")
    factory = sessionmaker(sqlite_engine, expire_on_commit=False)
    with factory() as session, session.begin():
        session.add_all(
            [Person(code=p.code, name=p.name, contacts=dict(p.contacts)) for p in PEOPLE]
        )
    return factory


def test_notify_test_sends_and_never_prints_the_secret(
    cli_db: sessionmaker[Session], chat_server: ChatServer, chat_env: dict[str, str], smtp: Smtp
) -> None:
    result = invoke("notify", "test", "--channel", "dingtalk", "--to", "P1")
    assert result.exit_code == 0, result.output
    assert "已发送 / sent: dingtalk (dingtalk) -> P1" in result.output
    (received,) = chat_server.of("dingtalk")
    assert received.body["actionCard"]["title"] == "测试消息：一岗双责监督平台"
    assert "@13800000001" in received.body["actionCard"]["text"]

    english = invoke("notify", "test", "--channel", "mail", "--to", "P3", "--lang", "en")
    assert english.exit_code == 0, english.output
    assert smtp.handler.messages[0]["Subject"] == "Test message: dual-duty supervision platform"

    for output in (result.output, english.output):
        for secret in [DINGTALK_SECRET, DINGTALK_TOKEN, *chat_env.values()]:
            assert secret not in output


def test_notify_test_failures(
    cli_db: sessionmaker[Session],
    chat_server: ChatServer,
    chat_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_address = invoke("notify", "test", "--channel", "mail", "--to", "P2")
    assert exit_code(no_address) == 2
    assert isinstance(no_address.exception, UserError)
    assert "has no address on mail" in str(no_address.exception)

    unknown = invoke("notify", "test", "--channel", "dingtlak")
    assert exit_code(unknown) == 2 and "did you mean 'dingtalk'" in str(unknown.exception)

    monkeypatch.setenv("T_DINGTALK_SECRET", "SECa-wrong-secret-000")
    bad_sign = invoke("notify", "test", "--channel", "dingtalk")
    assert bad_sign.exit_code == 1
    assert "310000" in bad_sign.output
    assert "SECa-wrong-secret-000" not in bad_sign.output and DINGTALK_TOKEN not in bad_sign.output

    chat_server.stop()
    down = invoke("notify", "test", "--channel", "hook", "--to", "P1")
    assert down.exit_code == 1 and "network error" in down.output
    assert chat_env["T_WEBHOOK_URL"] not in down.output


def test_deliver_list_retry(cli_db: sessionmaker[Session], chat_server: ChatServer) -> None:
    now = utcnow()
    add_messages(cli_db, channel="hook", recipients=["P1"], cases=[1, 2], now=now)
    add_messages(cli_db, channel="mail", recipients=["P2"], cases=[3], now=now)  # no e-mail: inbox
    chat_server.script("webhook", (400, {"error": "bad"}))

    delivered = invoke("notify", "deliver")
    assert delivered.exit_code == 0, delivered.output
    assert "已发送/sent 2" in delivered.output and "失败/dead 1" in delivered.output
    assert "转备用/rerouted 1" in delivered.output

    dead = invoke("notify", "list", "--state", "dead")
    assert dead.exit_code == 0, dead.output
    assert "HTTP 400" in dead.output and "hook" in dead.output
    (dead_row,) = [r for r in rows(cli_db) if r.state == OutboxState.dead]

    retried = invoke("notify", "retry", "--id", str(dead_row.id))
    assert retried.exit_code == 0 and "requeued 1" in retried.output
    again = invoke("notify", "deliver")
    assert "已发送/sent 1" in again.output, again.output
    assert {r.state for r in rows(cli_db)} == {OutboxState.sent, OutboxState.rerouted}
    assert len(chat_server.of("webhook")) == 2

    nothing = invoke("notify", "retry", "--dead")
    assert nothing.exit_code == 0 and "requeued 0" in nothing.output
    missing = invoke("notify", "retry", "--id", "999")
    assert exit_code(missing) == 2


def test_channels_command_names_missing_secrets(
    cli_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = invoke("notify", "channels")
    assert ok.exit_code == 0, ok.output
    assert "20/60s" in ok.output and "5/1s, 100/60s" in ok.output
    monkeypatch.delenv("T_FEISHU_SECRET")
    missing = invoke("notify", "channels")
    assert missing.exit_code == 1
    assert "feishu: T_FEISHU_SECRET" in missing.output
