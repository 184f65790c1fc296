"""Delivery against real loopback servers, on SQLite and PostgreSQL.

The chat server verifies the DingTalk and Feishu signatures as the services do and answers
their real error codes; the SMTP server is aiosmtpd. Time is an injected clock, so backoff of
minutes and rate windows of a minute cost nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.inbox import InboxItem, list_items
from models.outbox import ChannelGate, OutboxMessage, OutboxState, group_recipient, requeue
from notifiers.channels import Channels, parse_channels
from notifiers.delivery import Backoff, DeliveryReport, SteppingClock, deliver_due
from notifiers.rendering import template_set
from tests.notifiers.conftest import NOW, Smtp, add_messages, channels_yaml, rows
from tests.notifiers.servers import (
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    FEISHU_SECRET,
    WEBHOOK_SECRET,
    WECOM_KEY,
    ChatServer,
)


def run(
    factory: sessionmaker[Session],
    channels: Channels,
    clock: SteppingClock,
    http: httpx.Client,
    **options: object,
) -> DeliveryReport:
    return deliver_due(
        factory,
        clock=clock,
        channels=channels,
        http=http,
        rng=random.Random(5),
        **options,  # type: ignore[arg-type]
    )


def states(factory: sessionmaker[Session]) -> Counter[str]:
    return Counter(row.state for row in rows(factory))


def test_every_channel_delivers_to_its_real_server(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    smtp: Smtp,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    for channel in ("mail", "dingtalk", "wecom", "feishu", "hook", "inbox"):
        add_messages(factory, channel=channel, recipients=["P1"], cases=[1])
    add_messages(factory, channel="dingtalk", recipients=[group_recipient("纪检监察室")], cases=[2])

    report = run(factory, channels, clock, http)

    assert report.count("sent") == 7, report
    assert states(factory) == {"sent": 7}
    link = "http://127.0.0.1:8000/cases/1"
    # DingTalk: signed (the server checked it), actionCard with the case link.
    card = [
        r.body for r in chat_server.of("dingtalk") if "@13800000001" in r.body["actionCard"]["text"]
    ]
    assert len(card) == 1
    assert card[0]["actionCard"]["singleURL"] == link
    assert card[0]["actionCard"]["title"] == "逾期催办：支委会每月至少召开一次"
    group = [
        r.body
        for r in chat_server.of("dingtalk")
        if r.body["actionCard"]["singleURL"].endswith("/2")
    ]
    assert len(group) == 1 and "@1380" not in group[0]["actionCard"]["text"]
    # WeCom: markdown, the person mentioned by user id, the link kept.
    (wecom,) = chat_server.of("wecom")
    assert wecom.body["msgtype"] == "markdown"
    assert "<@li.shuji>" in wecom.body["markdown"]["content"]
    assert f"({link})" in wecom.body["markdown"]["content"]
    # Feishu: signed interactive card with a button to the case.
    (feishu,) = chat_server.of("feishu")
    assert feishu.body["msg_type"] == "interactive"
    card_body = feishu.body["card"]
    assert card_body["header"]["title"]["content"] == "逾期催办：支委会每月至少召开一次"
    assert card_body["elements"][1]["actions"][0]["url"] == link
    assert "<at id=ou_li></at>" in card_body["elements"][0]["content"]
    # Webhook: the server verified the HMAC; the idempotency key is the outbox key.
    (hook,) = chat_server.of("webhook")
    hook_row = next(r for r in rows(factory) if r.channel == "hook")
    assert hook.headers["Idempotency-Key"] == hook_row.dedup_key
    assert hook.body["recipient"] == {
        "code": "P1",
        "name": "李书记",
        "address": "P1",
        "is_group": False,
    }
    assert hook.body["link"] == link
    # E-mail: both parts, deterministic Message-ID.
    (mail,) = smtp.handler.messages
    mail_row = next(r for r in rows(factory) if r.channel == "mail")
    assert mail["Subject"] == "逾期催办：支委会每月至少召开一次"
    assert mail["Message-ID"] == f"<{mail_row.dedup_key}@corp.example>"
    assert mail_row.provider_ref == mail["Message-ID"]
    assert smtp.handler.envelopes[0][1] == ["li@corp.example"]
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert "李书记同志" in plain.get_content()
    assert f'<a href="{link}">查看案件 #1</a>' in html.get_content()
    # Inbox: an item for the person.
    with factory() as session:
        (item,) = list_items(session, recipient="P1")
        assert (item.title, item.link, item.case_id) == (
            "逾期催办：支委会每月至少召开一次",
            link,
            1,
        )
    # Nothing is due any more: a second pass sends nothing.
    assert run(factory, channels, clock, http).outcomes == []


def test_no_address_is_recorded_and_routed_to_the_fallback(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    smtp: Smtp,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    add_messages(factory, channel="mail", recipients=["P2"], cases=[1])  # 王矿长 has no e-mail
    add_messages(factory, channel="wecom", recipients=[group_recipient("未配置的群")], cases=[2])

    report = run(factory, channels, clock, http)

    assert report.count("rerouted") == 2 and report.count("sent") == 2, report
    by_channel = {(r.channel, r.recipient): r for r in rows(factory)}
    original = by_channel[("mail", "P2")]
    assert original.state == OutboxState.rerouted
    assert original.last_error is not None and "no address on mail -> inbox" in original.last_error
    fallback = by_channel[("inbox", "P2")]
    assert original.forwarded_to == fallback.id and fallback.state == OutboxState.sent
    assert (fallback.case_id, fallback.step) == (original.case_id, original.step)
    with factory() as session:
        assert [i.title for i in list_items(session, recipient="P2")] == [
            "逾期催办：支委会每月至少召开一次"
        ]
        assert len(list_items(session, recipient=group_recipient("未配置的群"))) == 1
    assert smtp.handler.messages == [] and chat_server.of("wecom") == []
    # Re-running changes nothing: the fallback row is keyed too.
    assert run(factory, channels, clock, http).outcomes == []


def test_no_fallback_or_unknown_person_is_dead_with_the_reason(
    factory: sessionmaker[Session],
    chat_env: dict[str, str],
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    channels = parse_channels(
        "channels:\n  hook: {kind: webhook, url_env: T_WEBHOOK_URL, contact: oa}\n"
    )
    add_messages(factory, channel="hook", recipients=["P1", "NOBODY"], cases=[1])
    add_messages(factory, channel="gone", recipients=["P1"], cases=[1])

    report = run(factory, channels, clock, http)

    assert report.count("dead") == 3
    errors = {(r.channel, r.recipient): r.last_error for r in rows(factory)}
    assert "no fallback channel" in str(errors[("hook", "P1")])
    assert "unknown person 'NOBODY'" in str(errors[("hook", "NOBODY")])
    assert "unknown channel 'gone'" in str(errors[("gone", "P1")])


def test_channel_down_for_the_whole_time_then_everything_arrives_once(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    add_messages(factory, channel="dingtalk", recipients=["P1"], cases=range(1, 6))
    add_messages(factory, channel="hook", recipients=["P1", "P3"], cases=range(1, 4))
    chat_server.stop()

    for _ in range(4):  # four passes over two hours while the server is down
        report = run(factory, channels, clock, http)
        # One probe per channel per pass; the others are not spent on a dead channel.
        assert report.count("waiting") == 2 and report.count("sent") == 0, report
        clock.advance(1800)
    assert states(factory) == {"pending": 11}
    assert max(r.attempts for r in rows(factory)) <= 4
    assert all("network error" in (r.last_error or "") for r in rows(factory) if r.attempts)

    chat_server.start()
    clock.advance(4 * 3600)  # past every backoff
    report = run(factory, channels, clock, http)

    assert report.count("sent") == 11, report
    assert states(factory) == {"sent": 11}
    keys = [r.body["actionCard"]["singleURL"] for r in chat_server.of("dingtalk")]
    assert sorted(keys) == sorted(f"http://127.0.0.1:8000/cases/{n}" for n in range(1, 6))
    assert len(chat_server.of("webhook")) == 6 and chat_server.webhook_duplicates == []


def test_throttling_answer_pauses_the_channel_backs_off_and_retries(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    add_messages(factory, channel="dingtalk", recipients=["P1"], cases=range(1, 4))
    chat_server.script(
        "dingtalk",
        (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    )

    first = run(factory, channels, clock, http)

    assert first.count("waiting") == 1 and first.count("sent") == 0, first
    (throttled,) = [r for r in rows(factory) if r.attempts == 1]
    assert throttled.next_attempt_at >= NOW + dt.timedelta(seconds=600)
    assert "130101" in (throttled.last_error or "")
    with factory() as session:
        gate = session.get_one(ChannelGate, "dingtalk")
        assert gate.paused_until == NOW + dt.timedelta(seconds=600)

    clock.advance(120)  # still paused: the others wait too, for every deliverer
    assert run(factory, channels, clock, http).outcomes == []

    clock.advance(500)
    final = run(factory, channels, clock, http)
    assert final.count("sent") == 3, final
    assert len(chat_server.of("dingtalk")) == 3


def test_feishu_throttling_codes_and_http_429(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    add_messages(factory, channel="feishu", recipients=["P1"], cases=[1])
    chat_server.script(
        "feishu",
        (200, {"code": 11232, "msg": "frequency limited"}),
        (
            429,
            {"code": 99991400, "msg": "request trigger frequency limit"},
            {"x-ogw-ratelimit-reset": "7"},
        ),
        (200, {"code": 9499, "msg": "Too Many Request"}),
    )
    waits = []
    for _ in range(3):
        report = run(factory, channels, clock, http)
        assert report.count("waiting") == 1, report
        (row,) = rows(factory)
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.advance(3600)
    assert waits[1] >= 30  # backoff, and at least the server's reset time
    final = run(factory, channels, clock, http)
    assert final.count("sent") == 1 and rows(factory)[0].attempts == 4


@pytest.mark.parametrize(
    ("channel", "env", "wrong", "code"),
    [
        ("dingtalk", "T_DINGTALK_SECRET", "SECwrong-but-secret-looking-value", "310000"),
        ("feishu", "T_FEISHU_SECRET", "wrong-feishu-secret-value", "19021"),
        ("wecom", "T_WECOM_URL", None, "93000"),
        ("hook", "T_WEBHOOK_SECRET", "wrong-webhook-secret", "HTTP 401"),
    ],
)
def test_rejected_credentials_are_permanent_and_secrets_never_leak(
    factory: sessionmaker[Session],
    chat_server: ChatServer,
    chat_env: dict[str, str],
    smtp: Smtp,
    clock: SteppingClock,
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    env: str,
    wrong: str | None,
    code: str,
) -> None:
    value = wrong or chat_env[env].replace(WECOM_KEY, "wecom-key-that-is-wrong-123")
    monkeypatch.setenv(env, value)
    channels = parse_channels(channels_yaml(smtp.port))
    add_messages(factory, channel=channel, recipients=["P1"], cases=[1])

    with caplog.at_level(logging.DEBUG):
        report = run(factory, channels, clock, http)

    (row,) = rows(factory)
    assert row.state == OutboxState.dead and row.attempts == 1
    assert code in (row.last_error or "")
    secrets = [value, DINGTALK_SECRET, DINGTALK_TOKEN, FEISHU_SECRET, WEBHOOK_SECRET, WECOM_KEY]
    secrets += [v for v in chat_env.values()]
    for secret in secrets:
        assert secret not in (row.last_error or "")
        assert secret not in caplog.text
        assert secret not in report.model_dump_json()
    assert caplog.records, "delivery logs its outcomes"


def test_network_errors_never_show_the_url_with_its_token(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    chat_env: dict[str, str],
    clock: SteppingClock,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat_server.stop()
    for channel in ("dingtalk", "wecom", "feishu", "hook"):
        add_messages(factory, channel=channel, recipients=["P1"], cases=[1])
    with caplog.at_level(logging.DEBUG):
        run(factory, channels, clock, http)
    assert states(factory) == {"pending": 4}
    for secret in [DINGTALK_TOKEN, WECOM_KEY, "feishu-hook", "hook-path-token", *chat_env.values()]:
        assert secret not in caplog.text
        assert all(secret not in (r.last_error or "") for r in rows(factory))


def test_gives_up_after_max_attempts_then_retry_revives(
    factory: sessionmaker[Session],
    chat_server: ChatServer,
    chat_env: dict[str, str],
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    channels = parse_channels(
        "channels:\n  hook: {kind: webhook, url_env: T_WEBHOOK_URL, secret_env: T_WEBHOOK_SECRET, max_attempts: 3}\n"
    )
    add_messages(factory, channel="hook", recipients=["P1"], cases=[1])
    chat_server.script("webhook", *[(503, {"error": "unavailable"})] * 3)
    outcomes = []
    for _ in range(3):
        outcomes += [
            o.state
            for o in run(factory, channels, clock, http, backoff=Backoff(base_seconds=10)).outcomes
        ]
        clock.advance(3600)
    assert outcomes == ["waiting", "waiting", "dead"]
    (row,) = rows(factory)
    assert row.state == OutboxState.dead and row.attempts == 3
    assert "gave up after 3 attempts: HTTP 503" in (row.last_error or "")

    with factory() as session, session.begin():
        assert requeue(session, now=clock.now(), dead=True) == 1
    assert run(factory, channels, clock, http).count("sent") == 1
    assert len(chat_server.of("webhook")) == 1


def test_backoff_grows_exponentially_with_jitter() -> None:
    backoff = Backoff(base_seconds=30, cap_seconds=3600)
    rng = random.Random(1)
    for attempts, raw in [(1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (20, 3600)]:
        delays = [backoff.delay(attempts, rng) for _ in range(50)]
        assert all(raw / 2 <= d <= raw for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_rate_limits_hold_on_the_server_clock(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    """The server enforces DingTalk's 20/min and Feishu's 5/s + 100/min on the injected clock
    and would answer 130101 / 11232: every message must get through without one."""
    chat_server.time_source = lambda: clock.now().timestamp()
    chat_server.enforce_limits = True
    add_messages(factory, channel="dingtalk", recipients=["P1"], cases=range(45))
    add_messages(factory, channel="feishu", recipients=["P1"], cases=range(12))

    passes = 0
    while states(factory) != {"sent": 57}:
        report = run(factory, channels, clock, http)
        assert report.count("waiting") == 0 and report.count("dead") == 0, report
        passes += 1
        clock.advance(15)
        assert passes < 30

    dingtalk = [r.at for r in chat_server.of("dingtalk")]
    feishu = [r.at for r in chat_server.of("feishu")]
    assert len(dingtalk) == 45 and len(feishu) == 12
    for times, count, window in [(dingtalk, 20, 60), (feishu, 5, 1), (feishu, 100, 60)]:
        for start in times:
            assert sum(1 for t in times if start <= t < start + window) <= count
    # 45 DingTalk messages at 20/min need at least two full minutes of clock.
    assert max(dingtalk) - min(dingtalk) >= 120


def test_rate_limit_is_shared_by_two_deliverers(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
) -> None:
    """Two processes' worth of deliverers on one robot still send only 20 in the minute."""
    add_messages(factory, channel="dingtalk", recipients=["P1"], cases=range(30))
    reports: list[DeliveryReport] = []

    def deliver() -> None:
        with httpx.Client() as client:
            reports.append(run(factory, channels, clock, client))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.count("sent") for r in reports) == 20
    assert len(chat_server.of("dingtalk")) == 20
    assert states(factory) == {"sent": 20, "pending": 10}


def test_two_deliverers_at_once_never_send_a_message_twice(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
) -> None:
    add_messages(factory, channel="hook", recipients=["P1", "P3"], cases=range(20))
    add_messages(factory, channel="inbox", recipients=["P1", "P3"], cases=range(20))
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        with httpx.Client() as client:
            run(factory, channels, clock, client)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert states(factory) == {"sent": 80}
    received = [r.headers["Idempotency-Key"] for r in chat_server.of("webhook")]
    assert len(received) == 40 and len(set(received)) == 40
    assert chat_server.webhook_duplicates == []
    with factory() as session:
        items = list(session.scalars(select(InboxItem)))
    assert len(items) == 40 and len({i.outbox_id for i in items}) == 40


def test_inbox_item_and_state_change_commit_together(
    factory: sessionmaker[Session], channels: Channels, clock: SteppingClock, http: httpx.Client
) -> None:
    """A deliverer that lost its claim (its lease expired and another took the row) writes no
    inbox item: the item is inserted in the transaction that records the row as sent."""
    from notifiers import delivery

    (row_id,) = add_messages(factory, channel="inbox", recipients=["P1"], cases=[1])
    p = delivery._Pass(
        session_factory=factory,
        channels=channels,
        templates=template_set(),
        clock=clock,
        http=http,
        backoff=Backoff(),
        rng=random.Random(1),
        lease=dt.timedelta(seconds=60),
        max_wait_seconds=5,
        environ=None,
        secrets=[],
        report=DeliveryReport(),
    )
    claimed = delivery._claim_next(p)
    assert claimed is not None and claimed[0] == row_id
    clock.advance(61)
    other = delivery._claim_next(p)  # a second deliverer takes over the expired lease
    assert other is not None and other[0] == row_id

    delivery._deliver_one(p, *claimed)

    assert [o.state for o in p.report.outcomes] == ["lost"]
    with factory() as session:
        assert list(session.scalars(select(InboxItem))) == []
        row = session.get_one(OutboxMessage, row_id)
        assert row.state == OutboxState.sending and row.attempts == 1  # the lost attempt counted
    delivery._deliver_one(p, *other)
    with factory() as session:
        assert len(list(session.scalars(select(InboxItem)))) == 1


def test_daily_digest_folds_each_recipients_notices(
    factory: sessionmaker[Session],
    chat_env: dict[str, str],
    smtp: Smtp,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    channels = parse_channels(
        channels_yaml(smtp.port).replace(
            "    fallback: inbox\n  dingtalk:",
            '    fallback: inbox\n    digest_at: "08:30"\n  dingtalk:',
        )
    )
    add_messages(factory, channel="mail", recipients=["P1"], cases=[1, 2, 3])
    add_messages(factory, channel="mail", recipients=["P3"], cases=[4])

    # 09:00 Beijing: after today's 08:30 digest, so they wait for tomorrow's.
    assert run(factory, channels, clock, http).outcomes == []
    assert smtp.handler.messages == []

    clock.advance(dt.timedelta(hours=23, minutes=31).total_seconds())  # 08:31 next day
    report = run(factory, channels, clock, http)

    assert (report.digests_built, report.notices_folded, report.count("sent")) == (2, 4, 2)
    mails = {m["To"].addresses[0].addr_spec: m for m in smtp.handler.messages}
    assert set(mails) == {"li@corp.example", "zhang@corp.example"}
    li = mails["li@corp.example"]
    assert li["Subject"] == "每日汇总：3 项待办（2026-11-25）"
    plain = li.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    for case_id in (1, 2, 3):
        assert f"http://127.0.0.1:8000/cases/{case_id}" in text
    assert states(factory) == {"digested": 4, "sent": 2}
    assert run(factory, channels, clock, http).outcomes == []


def test_wecom_long_message_is_cut_on_a_character_boundary_and_keeps_the_link(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    from models.outbox import enqueue
    from tests.notifiers.conftest import notice

    with factory() as session, session.begin():
        enqueue(
            session,
            case_id=5,
            step="L1",
            channel="wecom",
            recipient="P1",
            notice=notice(5, rule_title="党风廉政建设责任制落实情况" * 200),
            now=NOW,
        )
    report = run(factory, channels, clock, http)
    assert report.count("sent") == 1, report
    (received,) = chat_server.of("wecom")
    content = received.body["markdown"]["content"]
    assert 4000 < len(content.encode("utf-8")) <= 4096
    assert "…(完整内容见链接)" in content
    assert content.endswith("(http://127.0.0.1:8000/cases/5)\n<@li.shuji>")
    assert json.loads(received.raw)["markdown"]["content"] == content  # valid UTF-8 throughout


def test_wecom_40058_is_resent_as_title_and_link(
    factory: sessionmaker[Session],
    channels: Channels,
    chat_server: ChatServer,
    clock: SteppingClock,
    http: httpx.Client,
) -> None:
    add_messages(factory, channel="wecom", recipients=["P1"], cases=[6])
    chat_server.script(
        "wecom", (200, {"errcode": 40058, "errmsg": "markdown.content exceed max length"})
    )
    report = run(factory, channels, clock, http)
    assert report.count("sent") == 1, report
    (received,) = chat_server.of("wecom")
    assert received.body["markdown"]["content"].startswith("### 逾期催办")
    assert "http://127.0.0.1:8000/cases/6" in received.body["markdown"]["content"]
    assert "40058" in (rows(factory)[0].provider_ref or "")
