"""HTTP sources against a real loopback server: retries, timeouts, pagination, auth, bad answers.

Secrets must reach the server and nothing else: every test that uses one checks the log
records (caplog at DEBUG, httpx's own request lines included) and the error text.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dualduty.errors import RunError, UserError
from evidence import store
from evidence.gather import gather
from evidence.sources import FetchContext, HttpSource
from evidence.types import EvidenceType
from tests.evidence.loopback import Reply, Request, serve

TOKEN = "tok-7f3a9c-SECRET"
PASSWORD = "pa ss/wörd+1"
RECORDS = [
    {
        "orgCode": f"B{i:02d}",
        "meetingType": "支委会",
        "meetingDate": f"2026-03-{i:02d}",
        "attendance": i,
    }
    for i in range(1, 26)
]
MAP = {"unit": "orgCode", "kind": "meetingType", "held_on": "meetingDate"}
ENV = {"DJ_TOKEN": TOKEN, "DJ_USER": "reader", "DJ_PASSWORD": PASSWORD}


def http(url: str, **config: Any) -> HttpSource:
    return HttpSource.model_validate(
        {"kind": "http", "url": url + "/api/meetings", "map": MAP, "backoff": 0.01, **config}
    )


def ctx(name: str = "dangjian") -> FetchContext:
    return FetchContext(source_name=name, env=ENV)


def units(records: list[Any]) -> list[str]:
    return [r.fields["unit"] for r in records]


def assert_no_secret(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    encoded = base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    for secret in (TOKEN, PASSWORD, encoded, "tok-7f3a9c"):
        assert secret not in caplog.text
        for text in texts:
            assert secret not in text


def test_500_then_recovers(meeting_type: EvidenceType, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: Request) -> Reply:
        if len(server.requests) <= 2:
            return Reply(500, {"error": "boom"})
        return Reply(200, {"data": {"items": RECORDS[:3]}})

    with serve(handler) as server:
        source = http(
            server.url, records="data.items", auth={"kind": "bearer", "token_env": "DJ_TOKEN"}
        )
        result = source.read(meeting_type, ctx())
    assert units(result.records) == ["B01", "B02", "B03"]
    assert len(server.requests) == 3
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert "retry 2/3" in caplog.text and "HTTP 500" in caplog.text
    assert_no_secret(caplog)


def test_timeout_then_recovers(meeting_type: EvidenceType) -> None:
    def handler(request: Request) -> Reply:
        slow = len(server.requests) == 1
        return Reply(200, RECORDS[:2], delay=1.0 if slow else 0)

    with serve(handler) as server:
        result = http(server.url, timeout=0.2).read(meeting_type, ctx())
    assert units(result.records) == ["B01", "B02"]
    assert len(server.requests) == 2


def test_retries_exhausted_is_a_clear_error_and_writes_nothing(
    session: Session, meeting_type: EvidenceType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pages: dict[str, int] = {}

    def handler(request: Request) -> Reply:
        page = request.query["page"]
        pages[page] = pages.get(page, 0) + 1
        if page == "1":
            return Reply(200, {"data": {"items": RECORDS[:10]}})
        return Reply(503, "Service Unavailable", {"content-type": "text/plain"})

    with serve(handler) as server:
        source = http(
            server.url,
            name="dangjian-api",
            records="data.items",
            retries=2,
            pagination={"kind": "page", "size": 10},
            auth={"kind": "basic", "username_env": "DJ_USER", "password_env": "DJ_PASSWORD"},
        )
        with pytest.raises(RunError) as raised:
            gather(session, type_name="meeting", evidence_type=meeting_type, source=source, env=ENV)
    message = str(raised.value)
    assert "dangjian-api" in message and "3 次尝试均失败" in message and "HTTP 503" in message
    assert f"{server.url}/api/meetings" in message
    assert pages == {"1": 1, "2": 3}
    assert store.count_current(session, type_name="meeting") == 0  # page 1 was not stored
    assert server.requests[0].headers["authorization"].startswith("Basic ")
    assert_no_secret(caplog, message)


def test_429_honours_retry_after(meeting_type: EvidenceType) -> None:
    def handler(request: Request) -> Reply:
        if len(server.requests) == 1:
            return Reply(429, {"msg": "slow down"}, {"retry-after": "0.05"})
        return Reply(200, RECORDS[:1])

    with serve(handler) as server:
        started = time.perf_counter()
        # The server's 0.05 s replaces the 5 s backoff this source would otherwise wait.
        result = http(server.url, backoff=5).read(meeting_type, ctx())
    assert units(result.records) == ["B01"]
    assert time.perf_counter() - started < 3


def test_non_json_answer_names_the_source(
    meeting_type: EvidenceType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: Request) -> Reply:
        return Reply(
            200,
            f"<html>login required {request.query.get('access_token')}</html>",
            {"content-type": "text/html"},
        )

    with serve(handler) as server:
        source = http(
            server.url, auth={"kind": "query", "param": "access_token", "value_env": "DJ_TOKEN"}
        )
        with pytest.raises(RunError) as raised:
            source.read(meeting_type, ctx("oa-meetings"))
    message = str(raised.value)
    assert "oa-meetings" in message and "not JSON" in message and "text/html" in message
    assert server.requests[0].query["access_token"] == TOKEN
    assert "***" in message  # the echoed token was scrubbed
    assert_no_secret(caplog, message)


def test_401_hints_at_credentials(meeting_type: EvidenceType) -> None:
    with serve(lambda r: Reply(401, {"error": "unauthorized"})) as server:
        source = http(
            server.url, auth={"kind": "header", "header": "X-Api-Key", "value_env": "DJ_TOKEN"}
        )
        with pytest.raises(RunError, match=r"HTTP 401.*credentials") as raised:
            source.read(meeting_type, ctx())
        assert server.requests[0].headers["x-api-key"] == TOKEN
        assert len(server.requests) == 1  # not retried
    assert TOKEN not in str(raised.value)


def test_url_from_the_environment_is_never_shown(
    meeting_type: EvidenceType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve(lambda r: Reply(502, "bad gateway")) as server:
        env = {"DJ_URL": f"{server.url}/api/meetings?key={TOKEN}"}
        source = HttpSource(url_env="DJ_URL", retries=1, backoff=0.01)
        with pytest.raises(RunError) as raised:
            source.read(meeting_type, FetchContext(source_name="dj", env=env))
        assert server.requests[0].query["key"] == TOKEN
    assert "$DJ_URL" in str(raised.value)
    assert_no_secret(caplog, str(raised.value))


@pytest.mark.parametrize(
    "pagination",
    [
        {"kind": "page", "param": "pageNo", "size_param": "pageSize", "size": 10},
        {"kind": "offset", "limit": 10},
        {"kind": "cursor", "next": "data.next"},
        {"kind": "next_link", "next": "links.next"},
    ],
)
def test_pagination(meeting_type: EvidenceType, pagination: dict[str, Any]) -> None:
    def handler(request: Request) -> Reply:
        q = request.query
        match pagination["kind"]:
            case "page":
                assert q["pageSize"] == "10"
                start = (int(q["pageNo"]) - 1) * 10
            case "offset":
                assert q["limit"] == "10"
                start = int(q["offset"])
            case _:
                start = int(q.get("cursor") or q.get("from") or 0)
        items = RECORDS[start : start + 10]
        following = start + 10 if start + 10 < len(RECORDS) else None
        return Reply(
            200,
            {
                "data": {"items": items, "next": following},
                "links": {"next": None if following is None else f"/api/meetings?from={following}"},
            },
        )

    with serve(handler) as server:
        result = http(server.url, records="data.items", pagination=pagination).read(
            meeting_type, ctx()
        )
    assert units(result.records) == [r["orgCode"] for r in RECORDS]
    assert len(server.requests) == 3
    assert str(result.records[12].location) == "dangjian#13:2:3"  # record 13 = page 2, position 3


def test_post_pagination_goes_in_the_body(meeting_type: EvidenceType) -> None:
    def handler(request: Request) -> Reply:
        assert request.method == "POST" and request.body["year"] == 2026
        start = (request.body["page"] - 1) * 10
        return Reply(200, {"rows": RECORDS[start : start + 10]})

    with serve(handler) as server:
        source = http(
            server.url,
            method="POST",
            body={"year": 2026},
            records="rows",
            pagination={"kind": "page", "size": 10, "size_param": None},
        )
        assert len(source.read(meeting_type, ctx()).records) == 25


def test_next_link_to_another_origin_is_refused(meeting_type: EvidenceType) -> None:
    def handler(request: Request) -> Reply:
        return Reply(200, {"items": RECORDS[:1], "next": "http://evil.example/steal"})

    with serve(handler) as server:
        source = http(
            server.url,
            records="items",
            pagination={"kind": "next_link", "next": "next"},
            auth={"kind": "bearer", "token_env": "DJ_TOKEN"},
        )
        with pytest.raises(RunError, match="another origin"):
            source.read(meeting_type, ctx())
        assert len(server.requests) == 1


def test_bad_shapes_are_clear_errors(meeting_type: EvidenceType) -> None:
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (
            {"code": 0, "result": []},
            {"records": "data.items"},
            r"no 'data.items'.*top level: code, result",
        ),
        ({"data": {"items": {"a": 1}}}, {"records": "data.items"}, "is not a list"),
        ([1, 2], {}, "not a JSON object"),
        (
            RECORDS[:1] * 3,
            {"pagination": {"kind": "page", "size": 3}, "max_pages": 2},
            "more than max_pages=2",
        ),
    ]
    for body, config, error in cases:
        with (
            serve(lambda r, body=body: Reply(200, body)) as server,
            pytest.raises(RunError, match=error),
        ):
            http(server.url, **config).read(meeting_type, ctx())


def test_bad_values_are_reported_by_record_and_field(meeting_type: EvidenceType) -> None:
    broken = [
        *RECORDS[:2],
        {"orgCode": "B09", "meetingType": "支委会", "meetingDate": "三月", "attendance": 1},
    ]
    with serve(lambda r: Reply(200, broken)) as server:
        with pytest.raises(UserError) as raised:
            http(server.url).read(meeting_type, ctx())
        skipped = http(server.url, on_error="skip").read(meeting_type, ctx())
    (problem,) = raised.value.problems
    assert (str(problem.location), problem.field) == ("dangjian#3:1:3", "held_on ← meetingDate")
    assert units(skipped.records) == ["B01", "B02"]


def test_missing_secret_and_bad_config(meeting_type: EvidenceType) -> None:
    source = HttpSource(url="http://127.0.0.1:9/x", auth={"kind": "bearer", "token_env": "NOPE"})
    with pytest.raises(UserError, match="NOPE is not set"):
        source.read(meeting_type, ctx())
    with pytest.raises(ValueError, match="exactly one of"):
        HttpSource.model_validate({"kind": "http"})
    with pytest.raises(ValueError, match="put secrets in the environment"):
        HttpSource.model_validate({"kind": "http", "url": "http://x/api?token=abc"})


def test_connection_refused_is_retried_then_reported(meeting_type: EvidenceType) -> None:
    with serve(lambda r: Reply()) as server:
        url = server.url
    source = HttpSource(url=url + "/gone", retries=1, backoff=0.01)
    with pytest.raises(RunError, match="connection failed"):
        source.read(meeting_type, ctx())


def test_gather_over_http_then_again(engine: Engine, meeting_type: EvidenceType) -> None:
    with serve(lambda r: Reply(200, {"data": {"items": RECORDS[:5]}})) as server:
        source = http(server.url, records="data.items")
        with Session(engine) as session:
            first = gather(
                session, type_name="meeting", evidence_type=meeting_type, source=source, env=ENV
            )
            session.commit()
            second = gather(
                session, type_name="meeting", evidence_type=meeting_type, source=source, env=ENV
            )
            session.commit()
            rows = store.list_current(session, type_name="meeting")
    assert (first.new, second.new, second.unchanged) == (5, 0, 5)
    assert {r.source_kind for r in rows} == {"http"}
    assert rows[0].raw["meetingType"] == "支委会"
