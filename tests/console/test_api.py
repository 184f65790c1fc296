"""The JSON API: the permission matrix (role × jurisdiction × recusal), guessed ids,
conflicts, comments, manual evidence, and how it authenticates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session

from models import users
from tests.console.conftest import NOW, LiveScenario, audit_entries, logged_in

USERS = ["insp1", "insp2", "insp3", "ginsp", "viewer", "root"]
CASES = ["branch", "mine_head", "about_insp1", "procurement", "other_mine"]
M1 = {"branch", "mine_head", "about_insp1", "procurement"}

# Who sees which case: jurisdiction subtrees (M1, M2, the whole group) and admin.
SEES = {
    "insp1": M1,
    "insp2": M1,
    "insp3": {"other_mine"},
    "ginsp": set(CASES),
    "viewer": M1,
    "root": set(CASES),
}
# Who may decide: inspectors only, never where recused. insp1 and insp2 report to 王矿长 (the
# bearer of mine_head); about_insp1 is insp1's own case; ginsp is linked to no person.
DECIDES = {
    "insp1": {"branch", "procurement"},
    "insp2": {"branch", "procurement", "about_insp1"},
    "insp3": {"other_mine"},
    "ginsp": set(CASES),
    "viewer": set(),
    "root": set(),
}


@dataclass
class Api:
    live: LiveScenario
    clients: dict[str, httpx.Client]

    def case_id(self, name: str) -> int:
        value: int = getattr(self.live.cases, name)
        return value


@pytest.fixture
def api(live: LiveScenario) -> Iterator[Api]:
    with Session(live.engine) as session:
        tokens = {
            name: users.create_token(session, username=name, name="matrix", now=NOW)[1]
            for name in USERS
        }
        session.commit()
    clients = {
        name: httpx.Client(base_url=live.url + "/api", headers={"authorization": f"Bearer {token}"})
        for name, token in tokens.items()
    }
    try:
        yield Api(live=live, clients=clients)
    finally:
        for client in clients.values():
            client.close()


def test_read_matrix(api: Api) -> None:
    for user in USERS:
        client = api.clients[user]
        listed = {
            item["id"] for item in client.get("/cases", params={"state": "all"}).json()["items"]
        }
        assert listed == {api.case_id(c) for c in SEES[user]}, user
        for case in CASES:
            response = client.get(f"/cases/{api.case_id(case)}")
            expected = 200 if case in SEES[user] else 404
            assert response.status_code == expected, (user, case, response.text)
            if expected == 200:
                permissions = response.json()["permissions"]
                assert permissions["can_decide"] == (case in DECIDES[user]), (user, case)


def test_decide_matrix_without_changing_anything(api: Api) -> None:
    """A decision on a version far in the future: whoever may decide gets 409 (the check that
    comes after permission), everyone else 403 or 404, and no case changes."""
    body = {
        "decision": {"kind": "close", "reason": "矩阵测试 / matrix probe"},
        "expected_version": 999,
    }
    for user in USERS:
        for case in CASES:
            response = api.clients[user].post(f"/cases/{api.case_id(case)}/decisions", json=body)
            if case not in SEES[user]:
                expected = 404
            elif case in DECIDES[user]:
                expected = 409
            else:
                expected = 403
            assert response.status_code == expected, (user, case, response.text)
    with logged_in(api.live.url, "root") as root:
        versions = [c["version"] for c in root.get("/api/cases?state=all").json()["items"]]
    assert versions == [1] * len(CASES)


def test_comment_matrix(api: Api) -> None:
    for user in USERS:
        for case in CASES:
            response = api.clients[user].post(
                f"/cases/{api.case_id(case)}/comments", json={"body": f"{user} 的意见"}
            )
            if case not in SEES[user]:
                expected = 404
            elif case in DECIDES[user]:
                expected = 201
            else:
                expected = 403
            assert response.status_code == expected, (user, case, response.text)


def test_guessing_ids_reveals_nothing(api: Api) -> None:
    client = api.clients["insp3"]
    own = api.case_id("other_mine")
    bodies = {}
    for case_id in range(1, 30):
        response = client.get(f"/cases/{case_id}")
        if case_id == own:
            assert response.status_code == 200
            continue
        assert response.status_code == 404
        bodies[case_id] = response.json()["detail"].replace(str(case_id), "N")
    assert len(set(bodies.values())) == 1  # existing and missing ids answer alike
    denied = audit_entries(api.live.engine, "case.denied")
    assert {int(e.subject_id) for e in denied if e.actor == "user:insp3"} == set(bodies)


def test_decide_and_conflict(api: Api) -> None:
    client = api.clients["insp1"]
    case_id = api.case_id("procurement")
    first = client.post(
        f"/cases/{case_id}/decisions",
        json={
            "decision": {
                "kind": "order_rectification",
                "deadline": "2099-06-30",
                "reason": "限期整改，补办集体决策程序",
            },
            "expected_version": 1,
        },
    )
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "rectifying" and first.json()["version"] == 2
    stale = api.clients["insp2"].post(
        f"/cases/{case_id}/decisions",
        json={"decision": {"kind": "close", "reason": "结案"}, "expected_version": 1},
    )
    assert stale.status_code == 409
    conflict = stale.json()
    assert conflict["current_version"] == 2
    assert [c["detail"]["kind"] for c in conflict["changes"]] == ["order_rectification"]
    invalid = client.post(
        f"/cases/{case_id}/decisions",
        json={"decision": {"kind": "dismiss", "reason": "x"}, "expected_version": 2},
    )
    assert invalid.status_code == 422  # no category, and a one-character reason


def test_authentication(api: Api) -> None:
    url = api.live.url + "/api"
    case_id = api.case_id("branch")
    with httpx.Client(base_url=url) as anonymous:
        assert anonymous.get("/cases").status_code == 401
        assert anonymous.post(f"/cases/{case_id}/comments", json={"body": "x"}).status_code == 401
    with logged_in(api.live.url, "insp1") as browser:
        # The session cookie works for reading; writing also needs the CSRF header.
        assert browser.get("/api/cases").status_code == 200
        refused = browser.post(f"/api/cases/{case_id}/comments", json={"body": "x"})
        assert refused.status_code == 403
        token = browser.get(f"/cases/{case_id}").text.split('name="csrf_token" value="')[1]
        token = token.split('"')[0]
        accepted = browser.post(
            f"/api/cases/{case_id}/comments", json={"body": "x"}, headers={"x-csrf-token": token}
        )
        assert accepted.status_code == 201


def test_manual_evidence(api: Api) -> None:
    record = {"unit": "D1", "vendor": "新供应商", "amount": "800000", "signed_on": "2026-04-01"}
    insp1 = api.clients["insp1"]
    created = insp1.post("/evidence/procurement", json={"records": [record]})
    assert created.status_code == 201, created.text
    assert created.json()["new"] == 1 and len(created.json()["ids"]) == 1
    outside = insp1.post("/evidence/procurement", json={"records": [record | {"unit": "B2"}]})
    assert outside.status_code == 403 and "B2" in outside.text
    assert (
        api.clients["viewer"].post("/evidence/procurement", json={"records": [record]}).status_code
        == 403
    )
    assert insp1.post("/evidence/nothing", json={"records": [record]}).status_code == 404
    bad = insp1.post("/evidence/procurement", json={"records": [record | {"amount": "很多"}]})
    assert bad.status_code == 422 and "amount" in bad.text
    denied = audit_entries(api.live.engine, "evidence.denied")
    assert [e.actor for e in denied] == ["user:insp1", "user:viewer"]


def test_openapi_describes_the_api(api: Api) -> None:
    spec = httpx.get(api.live.url + "/api/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/me",
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/decisions",
        "/cases/{case_id}/comments",
        "/evidence/{type_name}",
    }
    decision = spec["components"]["schemas"]["Decision"]
    assert "reason" in decision["properties"]
