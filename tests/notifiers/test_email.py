"""E-mail through a real aiosmtpd server: STARTTLS with an in-house CA, login, faults."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session, sessionmaker

from models.outbox import OutboxState
from notifiers.channels import parse_channels
from notifiers.delivery import SteppingClock, deliver_due
from tests.notifiers.conftest import Smtp, add_messages, rows
from tests.notifiers.servers import SmtpHandler, free_port

USER = "dualduty"
PASSWORD = "smtp-pass-Zq93!x"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.corp.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def authenticator(
    server: object, session: object, envelope: object, mechanism: str, data: object
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[tuple[Smtp, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    server = Smtp(controller, handler, port)
    yield server, cert
    server.stop()


def mail_channels(port: int, *, tls: bool, ca: Path | None = None) -> str:
    lines = [
        "channels:",
        "  inbox: {kind: inbox}",
        "  mail:",
        "    kind: email",
        "    host: 127.0.0.1",
        f"    port: {port}",
        "    sender: 一岗双责监督平台 <dualduty@corp.example>",
        "    fallback: inbox",
    ]
    if tls:
        lines += [
            "    starttls: true",
            f"    ca_file: {ca}",
            "    username_env: T_SMTP_USER",
            "    password_env: T_SMTP_PASSWORD",
        ]
    return "\n".join(lines) + "\n"


def test_starttls_login_and_both_parts(
    sqlite_factory: sessionmaker[Session],
    tls_smtp: tuple[Smtp, Path],
    clock: SteppingClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, ca = tls_smtp
    monkeypatch.setenv("T_SMTP_USER", USER)
    monkeypatch.setenv("T_SMTP_PASSWORD", PASSWORD)
    channels = parse_channels(mail_channels(server.port, tls=True, ca=ca))
    add_messages(sqlite_factory, channel="mail", recipients=["P1", "P3"], cases=[1])

    with caplog.at_level(logging.DEBUG):
        report = deliver_due(sqlite_factory, clock=clock, channels=channels)

    assert report.count("sent") == 2, report
    assert sorted(m["To"].addresses[0].addr_spec for m in server.handler.messages) == [
        "li@corp.example",
        "zhang@corp.example",
    ]
    for message in server.handler.messages:
        assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert message["Message-ID"].endswith("@corp.example>")
    assert PASSWORD not in caplog.text


def test_wrong_password_is_permanent_and_never_shown(
    sqlite_factory: sessionmaker[Session],
    tls_smtp: tuple[Smtp, Path],
    clock: SteppingClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, ca = tls_smtp
    monkeypatch.setenv("T_SMTP_USER", USER)
    monkeypatch.setenv("T_SMTP_PASSWORD", "wrong-password-98765")
    channels = parse_channels(mail_channels(server.port, tls=True, ca=ca))
    add_messages(sqlite_factory, channel="mail", recipients=["P1"], cases=[1])
    with caplog.at_level(logging.DEBUG):
        deliver_due(sqlite_factory, clock=clock, channels=channels)
    (row,) = rows(sqlite_factory)
    assert row.state == OutboxState.dead
    assert "authentication failed (535)" in (row.last_error or "")
    assert "wrong-password-98765" not in (row.last_error or "") + caplog.text
    assert server.handler.messages == []


def test_untrusted_certificate_is_refused(
    sqlite_factory: sessionmaker[Session],
    tls_smtp: tuple[Smtp, Path],
    clock: SteppingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, _ = tls_smtp
    monkeypatch.setenv("T_SMTP_USER", USER)
    monkeypatch.setenv("T_SMTP_PASSWORD", PASSWORD)
    channels = parse_channels(
        mail_channels(server.port, tls=True, ca=None).replace("    ca_file: None\n", "")
    )
    add_messages(sqlite_factory, channel="mail", recipients=["P1"], cases=[1])
    deliver_due(sqlite_factory, clock=clock, channels=channels)
    (row,) = rows(sqlite_factory)
    assert row.state == OutboxState.dead and "TLS" in (row.last_error or "")
    assert server.handler.messages == []


def test_refused_recipient_is_dead_and_a_down_server_waits(
    sqlite_factory: sessionmaker[Session],
    smtp: Smtp,
    clock: SteppingClock,
) -> None:
    smtp.handler.refuse.add("zhang@corp.example")
    channels = parse_channels(mail_channels(smtp.port, tls=False))
    add_messages(sqlite_factory, channel="mail", recipients=["P1", "P3"], cases=[1])
    report = deliver_due(sqlite_factory, clock=clock, channels=channels)
    assert (report.count("sent"), report.count("dead")) == (1, 1), report
    dead = next(r for r in rows(sqlite_factory) if r.state == OutboxState.dead)
    assert dead.recipient == "P3" and "recipient refused (550)" in (dead.last_error or "")

    smtp.stop()
    add_messages(sqlite_factory, channel="mail", recipients=["P1"], cases=[2])
    report = deliver_due(sqlite_factory, clock=clock, channels=channels)
    assert report.count("waiting") == 1, report
    smtp.start()
    clock.advance(3600)
    assert deliver_due(sqlite_factory, clock=clock, channels=channels).count("sent") == 1
    assert len(smtp.handler.messages) == 2


def test_message_id_is_the_same_on_every_attempt(smtp: Smtp) -> None:
    """A re-send after a crash carries the first copy's Message-ID (receivers de-duplicate)."""
    from notifiers.base import Address, Message, SendContext

    channels = parse_channels(mail_channels(smtp.port, tls=False))
    mail = channels.get_or_raise("mail")
    message = Message(
        outbox_id=1,
        key="ab" * 32,
        channel="mail",
        address=Address(recipient="P1", name="李书记", value="li@corp.example"),
        title="逾期催办",
        markdown="### 逾期催办\n\n正文",
        link="http://127.0.0.1:8000/cases/1",
    )
    with httpx.Client() as http:
        for _ in range(2):
            mail.send(message, client=SendContext(http=http))
    ids = [m["Message-ID"] for m in smtp.handler.messages]
    assert ids == ["<" + "ab" * 32 + "@corp.example>"] * 2
