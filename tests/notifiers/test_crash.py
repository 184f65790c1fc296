"""A delivery process killed mid-send (SIGKILL), then a new pass: no loss, no duplicate where
the channel can de-duplicate, at most the one in-flight message twice where it cannot."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.base import utcnow
from models.outbox import OutboxState
from notifiers.channels import Channels
from notifiers.delivery import SteppingClock, deliver_due
from tests.notifiers.conftest import Smtp, add_messages, channels_yaml, rows
from tests.notifiers.servers import ChatServer, Hang

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from sqlalchemy.orm import sessionmaker
    from models.session import make_engine
    from notifiers.channels import parse_channels
    from notifiers.delivery import deliver_due

    url, channels_file = sys.argv[1], sys.argv[2]
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    channels = parse_channels(open(channels_file, encoding="utf-8").read())
    deliver_due(factory, channels=channels, lease_seconds=300)
    """
)


def start_deliverer(
    engine: Engine, tmp_path: Path, chat_env: dict[str, str], smtp_port: int
) -> subprocess.Popen[bytes]:
    channels_file = tmp_path / "channels.yaml"
    channels_file.write_text(channels_yaml(smtp_port), encoding="utf-8")
    script = tmp_path / "deliver_once.py"
    script.write_text(SCRIPT, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, **chat_env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), url, str(channels_file)], cwd=tmp_path, env=env
    )


@pytest.mark.parametrize("channel", ["hook", "dingtalk"])
def test_killed_mid_send_then_rerun(
    engine: Engine,
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    chat_env: dict[str, str],
    smtp: Smtp,
    tmp_path: Path,
    channel: str,
) -> None:
    service = "webhook" if channel == "hook" else "dingtalk"
    now = utcnow()
    add_messages(factory, channel=channel, recipients=["P1"], cases=range(1, 7), now=now)
    # The third request reaches the service (the robot posts it) and is never answered.
    chat_server.script(service, None, None, Hang())

    process = start_deliverer(engine, tmp_path, chat_env, smtp.port)
    try:
        assert chat_server.hanging.wait(60), "the deliverer never reached the third message"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    chat_server.release.set()

    before = {r.id: r.state for r in rows(factory)}
    assert list(before.values()).count(OutboxState.sent) == 2
    assert list(before.values()).count(OutboxState.sending) == 1  # claimed, sent, not recorded
    assert list(before.values()).count(OutboxState.pending) == 3

    # Too early: the dead deliverer's lease still holds the in-flight row.
    early = deliver_due(factory, clock=SteppingClock(now), channels=channels)
    assert early.count("sent") == 3
    # After the lease: the in-flight row is sent again, with the same key.
    after_lease = SteppingClock(utcnow() + dt.timedelta(seconds=301))
    later = deliver_due(factory, clock=after_lease, channels=channels)
    assert later.count("sent") == 1

    final = rows(factory)
    assert [r.state for r in final] == [OutboxState.sent] * 6
    interrupted = [r for r in final if r.attempts == 2]
    assert len(interrupted) == 1  # the lost attempt was counted
    received = chat_server.of(service)
    if channel == "hook":
        # The receiver de-duplicates by Idempotency-Key: six messages, each shown once; the
        # re-send carried the same key and was answered 409 (already have it).
        assert len(received) == 6
        assert len({r.headers["Idempotency-Key"] for r in received}) == 6
        assert chat_server.webhook_duplicates == [interrupted[0].dedup_key]
    else:
        # A chat robot cannot de-duplicate: the one in-flight message arrives twice, no other.
        links = [r.body["actionCard"]["singleURL"] for r in received]
        assert len(links) == 7
        doubled = [link for link in set(links) if links.count(link) == 2]
        assert doubled == [f"http://127.0.0.1:8000/cases/{interrupted[0].case_id}"]
