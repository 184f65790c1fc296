"""The queue and the case page over HTTP: scope, filters, decisions, conflicts, recusal,
comments, attachments, and the bad input the issue lists."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import cases, escalation, outbox
from models.base import utcnow
from models.cases import Decision, DecisionKind, DismissCategory
from models.cases.tables import Case
from models.evidence import EvidenceRecord
from rules.ladders import default_ladders
from rules.workdays import WorkCalendar
from tests.console.conftest import (
    DeclaredRelatives,
    LiveScenario,
    audit_entries,
    console_settings,
    csrf_from,
    logged_in,
    running_console,
    seed_scenario,
)


def _case_links(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/cases/(\d+)"', page)]


def _decide_form(page: str) -> dict[str, str]:
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version, "no decision form on the page"
    return {"csrf_token": csrf_from(page), "expected_version": version.group(1)}


def test_queue_shows_only_the_jurisdiction_with_counts(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get("/cases")
        assert page.status_code == 200
        shown = _case_links(page.text)
        assert sorted(shown) == sorted(
            [scn.branch, scn.mine_head, scn.about_insp1, scn.procurement]
        )
        assert scn.other_mine not in shown
        assert "综采一队党支部" in page.text  # unit names, not just codes
        assert page.text.count("已回避 / recused") == 2  # mine_head and about_insp1
        assert "共 4 件" in page.text
    with logged_in(live.url, "insp3") as client:
        assert _case_links(client.get("/cases").text) == [scn.other_mine]
    with logged_in(live.url, "root") as client:
        assert len(_case_links(client.get("/cases").text)) == 5


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=critical", ["procurement"]),
        ("side=business", ["about_insp1", "procurement"]),
        ("unit=D1", ["branch", "procurement"]),  # D1 and the branch below it
        ("rule=branch-committee-monthly", ["branch"]),
        ("overdue=true", ["branch", "mine_head", "about_insp1"]),  # period 2026-03 ended
        ("state=decided", []),
        ("unit=NOPE", []),
    ],
)
def test_queue_filters(live: LiveScenario, query: str, expected: list[str]) -> None:
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases?{query}")
        assert page.status_code == 200
        assert sorted(_case_links(page.text)) == sorted(getattr(live.cases, n) for n in expected)


def test_queue_sorts_and_pages(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        by_severity = _case_links(client.get("/cases?sort=severity").text)
        assert by_severity[0] == scn.procurement and by_severity[-1] == scn.about_insp1
        seen: list[int] = []
        url = "/cases?size=3"
        while url:
            page = client.get(url)
            seen += _case_links(page.text)
            nxt = re.search(r'rel="next" href="([^"]+)"', page.text)
            url = html.unescape(nxt.group(1)) if nxt else ""
        assert len(seen) == 4 and len(set(seen)) == 4
        assert client.get("/cases?severity=huge").status_code == 400
        assert client.get("/cases?cursor=garbage").status_code == 400


def test_case_page_shows_finding_evidence_bearer_ladder_history(live: LiveScenario) -> None:
    scn = live.cases
    # An escalation pass fires the overdue steps and writes outbox rows, as the scheduler does.
    with Session(live.engine) as session:
        report = escalation.escalate_due(
            session,
            ladders=default_ladders(),
            now=utcnow(),
            calendar=WorkCalendar(),
            recipients=escalation.OrgRecipientResolver(),
            case_ids=[scn.branch],
        )
        session.commit()
        assert report.examined == 1
        sent = outbox.list_messages(session, case_id=scn.branch)
        assert sent, "the overdue branch case should have notices queued"
        finding = cases.finding_of(session, case=session.get_one(Case, scn.procurement))
        record = session.get_one(EvidenceRecord, finding.evidence_ids[0])
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.procurement}").text
        assert "大额采购 1,200,000 元无事先集体决策记录" in page
        assert "某某矿山机械有限公司" in page and record.content_hash in page  # provenance
        assert default_ladders()["integrity"].name in page
        branch = client.get(f"/cases/{scn.branch}").text
        assert "李书记" in branch and "时任 党支部书记" in branch
        assert "逾期催办" in branch and "立案 / opened" in branch
        for message in sent:  # what was sent, to whom, on which channel
            assert f"{message.channel} → {message.recipient}" in branch
        assert "阶梯步骤执行 / ladder step sent" in branch
    views = audit_entries(live.engine, "case.view")
    assert {(e.actor, e.subject_id) for e in views} >= {
        ("user:insp1", str(scn.procurement)),
        ("user:insp1", str(scn.branch)),
    }


def test_other_jurisdiction_looks_like_a_missing_case(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        foreign = client.get(f"/cases/{scn.other_mine}")
        missing = client.get("/cases/999999")
        assert foreign.status_code == missing.status_code == 404

        def main(page: str, case_id: object) -> str:
            content = page.split("<main")[1].split("</main>")[0]
            return content.replace(str(case_id), "N")

        assert main(foreign.text, scn.other_mine) == main(missing.text, 999999)
        form = {"csrf_token": "x", "expected_version": "1", "kind": "close", "reason": "试探"}
        assert client.post(f"/cases/{scn.other_mine}/decide", data=form).status_code in {403, 404}
    denied = audit_entries(live.engine, "case.denied")
    assert [(e.subject_id, e.detail["reason"]) for e in denied][:2] == [
        (str(scn.other_mine), "jurisdiction"),
        ("999999", "missing"),
    ]


def test_a_decision_is_recorded_with_its_reason(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.branch}").text
        form = _decide_form(page) | {
            "kind": "dismiss",
            "category": "evidence_elsewhere",
            "reason": "支委会记录为纸质，已现场核实",
        }
        done = client.post(f"/cases/{scn.branch}/decide", data=form)
        assert done.status_code == 303
        after = client.get(done.headers["location"]).text
        assert "处理决定已保存" in after and "支委会记录为纸质，已现场核实" in after
    with Session(live.engine) as session:
        case = session.get(Case, scn.branch)
        assert case is not None
        assert (case.state, case.outcome, case.dismiss_category) == (
            "decided",
            "dismissed",
            "evidence_elsewhere",
        )
    decided = audit_entries(live.engine, "case.decide")
    assert decided[-1].actor == "user:insp1"


def _offered_kinds(page: str) -> list[str]:
    select = re.search(r'<select id="kind".*?</select>', page, re.S)
    return re.findall(r'<option value="(\w+)"', select.group(0)) if select else []


def test_the_form_offers_only_the_decisions_the_state_allows(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.branch}").text
        assert _offered_kinds(page) == ["dismiss", "order_rectification", "record_accountability"]
        # A hand-made POST of a kind the page did not offer gets the cases module's message.
        refused = client.post(
            f"/cases/{scn.branch}/decide",
            data=_decide_form(page) | {"kind": "close", "reason": "直接结案"},
        )
        assert refused.status_code == 422
        assert "不能执行「close」" in refused.text and "close is not possible" in refused.text
        assert "直接结案" in refused.text
        assert _offered_kinds(refused.text) == _offered_kinds(page)
        done = client.post(
            f"/cases/{scn.branch}/decide",
            data=_decide_form(page)
            | {"kind": "dismiss", "category": "duplicate", "reason": "重复"},
        )
        assert done.status_code == 303
        decided = client.get(f"/cases/{scn.branch}").text
        assert _offered_kinds(decided) == ["close"]
        closed = client.post(
            f"/cases/{scn.branch}/decide",
            data=_decide_form(decided) | {"kind": "close", "reason": "已办结"},
        )
        assert closed.status_code == 303
        final = client.get(f"/cases/{scn.branch}").text
        assert f'action="/cases/{scn.branch}/decide"' not in final
        assert "没有可作出的决定" in final and "No decision is possible" in final


def test_a_decision_without_a_reason_keeps_what_was_typed(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.procurement}").text
        form = _decide_form(page) | {
            "kind": "record_accountability",
            "form": "admonition",
            "reference": "纪发〔2026〕7号",
            "reason": " ",
        }
        refused = client.post(f"/cases/{scn.procurement}/decide", data=form)
        assert refused.status_code == 422
        assert "须填写书面理由" in refused.text
        assert 'value="纪发〔2026〕7号"' in refused.text
        assert '<option value="admonition" selected>' in refused.text


def test_a_stale_decision_is_refused_shows_the_change_and_keeps_the_reason(
    live: LiveScenario,
) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as first, logged_in(live.url, "insp2") as second:
        stale = first.get(f"/cases/{scn.procurement}").text
        fresh = second.get(f"/cases/{scn.procurement}").text
        won = second.post(
            f"/cases/{scn.procurement}/decide",
            data=_decide_form(fresh)
            | {"kind": "order_rectification", "deadline": "2099-01-31", "reason": "限期整改"},
        )
        assert won.status_code == 303
        mine = "经核查，该合同已由总经理办公会事后追认，但仍属程序违规 <b>须问责</b>"
        lost = first.post(
            f"/cases/{scn.procurement}/decide",
            data=_decide_form(stale)
            | {"kind": "record_accountability", "form": "criticism", "reason": mine},
        )
        assert lost.status_code == 409
        assert "此案件在您打开页面后已被修改" in lost.text
        assert "user:insp2" in lost.text and "限期整改" in lost.text  # what changed, by whom
        assert str(escape(mine)) in lost.text  # the reason is still in the form
        assert "<b>须问责</b>" not in lost.text
        # The re-rendered form carries the new version, so submitting again succeeds.
        again = first.post(
            f"/cases/{scn.procurement}/decide",
            data=_decide_form(lost.text)
            | {"kind": "record_accountability", "form": "criticism", "reason": mine},
        )
        assert again.status_code == 303
    with Session(live.engine) as session:
        history = cases.history(session, case_id=scn.procurement)
        decisions = [e.detail for e in history if e.kind == "decision"]
        assert [d["kind"] for d in decisions] == ["order_rectification", "record_accountability"]


def test_recused_and_read_only_users_get_no_decision_form(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.mine_head}").text
        assert "已回避 / Recused" in page and "王矿长（P-HEAD-M1）" in page
        assert f'action="/cases/{scn.mine_head}/decide"' not in page
        assert "ginsp" in page  # routed to the group-level inspector
        self_case = client.get(f"/cases/{scn.about_insp1}").text
        assert "本人为案件当事人或责任人" in self_case
        # The form is absent; a hand-made POST is refused as well.
        csrf = csrf_from(client.get(f"/cases/{scn.branch}").text)
        forced = client.post(
            f"/cases/{scn.mine_head}/decide",
            data={"csrf_token": csrf, "expected_version": "1", "kind": "close", "reason": "强行"},
        )
        assert forced.status_code == 403 and "已回避" in forced.text
    with logged_in(live.url, "viewer") as client:
        page = client.get(f"/cases/{scn.branch}").text
        assert "/decide" not in page and "只能查看" in page
    with logged_in(live.url, "root") as client:
        assert "/decide" not in client.get(f"/cases/{scn.branch}").text
    reasons = [e.detail["reason"] for e in audit_entries(live.engine, "case.denied")]
    assert "recused" in reasons
    with Session(live.engine) as session:
        case = session.get(Case, scn.mine_head)
        assert case is not None and case.state == "open"


def test_a_script_in_a_comment_is_text_everywhere(live: LiveScenario) -> None:
    scn = live.cases
    script = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    with logged_in(live.url, "insp1") as client:
        csrf = csrf_from(client.get(f"/cases/{scn.branch}").text)
        added = client.post(
            f"/cases/{scn.branch}/comments", data={"csrf_token": csrf, "body": script}
        )
        assert added.status_code == 303
        page = client.get(f"/cases/{scn.branch}").text
        assert script not in page and "<img src=x" not in page
        assert str(escape(script)) in page
        detail = client.get(f"/api/cases/{scn.branch}")
        assert detail.headers["content-type"] == "application/json"
        assert detail.json()["comments"][0]["body"] == script  # data, not markup
    # A reason with markup, shown in the history, is escaped too.
    with Session(live.engine) as session:
        cases.decide(
            session,
            case_id=scn.branch,
            actor="user:insp2",
            decision=Decision(
                kind=DecisionKind.dismiss, category=DismissCategory.duplicate, reason=script
            ),
            expected_version=1,
            now=utcnow(),
        )
        session.commit()
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.branch}").text
        assert script not in page and str(escape(script)) in page


def test_a_forged_csrf_token_changes_nothing(live: LiveScenario) -> None:
    scn = live.cases
    with logged_in(live.url, "insp1") as client:
        page = client.get(f"/cases/{scn.branch}").text
        form = _decide_form(page) | {"kind": "close", "reason": "伪造"}
        for token in ["forged", ""]:
            refused = client.post(f"/cases/{scn.branch}/decide", data=form | {"csrf_token": token})
            assert refused.status_code == 403 and "CSRF" in refused.text
        comment = client.post(
            f"/cases/{scn.branch}/comments", data={"csrf_token": "forged", "body": "x"}
        )
        assert comment.status_code == 403
    # Another user's token is no good either: it belongs to their session.
    with logged_in(live.url, "insp2") as other:
        theirs = csrf_from(other.get(f"/cases/{scn.branch}").text)
    with logged_in(live.url, "insp1") as client:
        refused = client.post(
            f"/cases/{scn.branch}/comments", data={"csrf_token": theirs, "body": "x"}
        )
        assert refused.status_code == 403
    refused_by = [e.actor for e in audit_entries(live.engine, "csrf.denied")]
    assert refused_by == ["user:insp1"] * 4
    with Session(live.engine) as session:
        assert cases.comments(session, case_id=scn.branch) == []
        case = session.get(Case, scn.branch)
        assert case is not None and case.version == 1


def test_attachments_upload_download_and_size_limit(live: LiveScenario) -> None:
    scn = live.cases
    report = "整改报告：已补开支委会并上传会议记录。".encode()
    with logged_in(live.url, "insp1") as client:
        csrf = csrf_from(client.get(f"/cases/{scn.branch}").text)
        done = client.post(
            f"/cases/{scn.branch}/attachments",
            data={"csrf_token": csrf, "note": "第一次整改报告"},
            files={"file": ("整改报告.txt", report, "text/plain")},
        )
        assert done.status_code == 303
        page = client.get(f"/cases/{scn.branch}").text
        link = re.search(r'href="(/cases/\d+/attachments/\d+)">整改报告.txt<', page)
        assert link
        download = client.get(link.group(1))
        assert download.content == report
        assert download.headers["content-disposition"].startswith("attachment;")

        # Over the 0.25 MB limit but under the hard cap: the case page explains.
        big = b"x" * 300_000
        refused = client.post(
            f"/cases/{scn.branch}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("big.pdf", big, "application/pdf")},
        )
        assert refused.status_code == 413
        assert "附件过大" in refused.text and "0.25 MB" in refused.text
        # Far over: refused before the body is read.
        huge = b"x" * 2_000_000
        cut = client.post(
            f"/cases/{scn.branch}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("huge.pdf", huge, "application/pdf")},
        )
        assert cut.status_code == 413 and "0.25 MB" in cut.text

        # Without a Content-Length (chunked), the body is counted as it arrives.
        def chunks() -> Iterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
            for _ in range(40):
                yield b"x" * 50_000

        streamed = client.post(
            f"/cases/{scn.branch}/attachments",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413 and "0.25 MB" in streamed.text, streamed.text[-600:]
    with Session(live.engine) as session:
        stored = cases.attachments(session, case_id=scn.branch)
        assert [a.filename for a in stored] == ["整改报告.txt"]


def test_logged_out_posts_go_to_login(live: LiveScenario) -> None:
    with httpx.Client(base_url=live.url) as client:
        response = client.post(f"/cases/{live.cases.branch}/comments", data={"body": "x"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_a_declared_relative_is_recused_and_error_pages_keep_the_header(engine: Engine) -> None:
    with Session(engine) as session:
        scn = seed_scenario(session)
        session.commit()
    relatives = DeclaredRelatives({"P-INSP2": {"P-SEC-B1"}})
    with running_console(engine, console_settings(engine), relatives=relatives) as url:
        with logged_in(url, "insp2") as client:
            page = client.get(f"/cases/{scn.branch}").text
            assert "李书记（P-SEC-B1） 是本人申报的亲属" in page
            assert f'action="/cases/{scn.branch}/decide"' not in page
            assert "insp1" in page  # routed to the colleague who is not related
            detail = client.get(f"/api/cases/{scn.branch}").json()["permissions"]
            assert detail["recused"] and detail["recusal"][0]["kind"] == "relative"
            missing = client.get("/cases/424242")
            assert missing.status_code == 404 and "退出 / Log out" in missing.text
        with logged_in(url, "insp1") as client:
            assert f'action="/cases/{scn.branch}/decide"' in client.get(f"/cases/{scn.branch}").text
