"""The console in a real browser (Debian chromium through playwright): login, the queue, a case,
a decision, a stale decision, a recusal, a comment with a script, an oversized upload, print.

Screenshots go to the test's tmp folder (``pytest --basetemp=DIR`` keeps them somewhere handy).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.cases.tables import Case
from tests.console.conftest import (
    PASSWORD,
    LiveScenario,
    Scenario,
    console_settings,
    logged_in,
    running_console,
    seed_scenario,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium fonts-wqy-zenhei")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[LiveScenario]:
    with Session(sqlite_engine) as session:
        scenario = seed_scenario(session)
        session.commit()
    with running_console(sqlite_engine, console_settings(sqlite_engine)) as url:
        yield LiveScenario(url=url, engine=sqlite_engine, cases=scenario)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/cases")
    expect(page).to_have_url(f"{url}/login?next=%2Fcases")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/cases")


def shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def test_login_queue_case_decision(page: Page, site: LiveScenario, tmp_path: Path) -> None:
    cases: Scenario = site.cases
    page.goto(site.url + "/cases")
    expect(page.locator("h1")).to_contain_text("登录")
    shot(page, tmp_path, "01-login")
    sign_in(page, site.url, "insp1")

    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#queue")).to_contain_text("综采一队党支部")
    expect(page.locator("#queue .recused")).to_have_count(2)
    shot(page, tmp_path, "02-queue")

    page.select_option("select[name=severity]", "critical")
    page.click("text=筛选 / Filter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("major-procurement-decision")
    page.click("text=重置 / Reset")
    expect(rows).to_have_count(4)

    page.click(f'a[href="/cases/{cases.branch}"]')
    expect(page.locator("#finding")).to_contain_text("2026-03 无支委会记录")
    expect(page.locator("#finding")).to_contain_text("李书记")
    # Only the fields of the chosen decision are shown.
    category = page.locator("select[name=category]")
    deadline = page.locator("input[name=deadline]")
    expect(category).to_be_hidden()
    page.select_option("#kind", "dismiss")
    expect(category).to_be_visible()
    expect(deadline).to_be_hidden()
    page.select_option("select[name=category]", "evidence_elsewhere")
    page.fill("#reason", "支委会记录为纸质，已现场核实。")
    shot(page, tmp_path, "03-case-before-decision")
    page.click("text=提交决定 / Submit decision")
    expect(page.locator(".success")).to_contain_text("处理决定已保存")
    expect(page.locator(".case-head")).to_contain_text("已决定 / decided")
    expect(page.locator("#history")).to_contain_text("支委会记录为纸质，已现场核实。")
    shot(page, tmp_path, "04-case-decided")
    with Session(site.engine) as session:
        case = session.get(Case, cases.branch)
        assert case is not None and case.dismiss_category == "evidence_elsewhere"

    page.click("text=退出 / Log out")
    expect(page).to_have_url(site.url + "/login")
    page.goto(site.url + "/cases")
    expect(page.locator("h1")).to_contain_text("登录")


def test_stale_decision_keeps_the_reason(page: Page, site: LiveScenario, tmp_path: Path) -> None:
    case_id = site.cases.procurement
    sign_in(page, site.url, "insp1")
    page.goto(f"{site.url}/cases/{case_id}")
    # Meanwhile a colleague orders rectification.
    with logged_in(site.url, "insp2") as colleague:
        token = colleague.get(f"/cases/{case_id}").text.split('name="csrf_token" value="')[1]
        response = colleague.post(
            f"/cases/{case_id}/decide",
            data={
                "csrf_token": token.split('"')[0],
                "expected_version": "1",
                "kind": "order_rectification",
                "deadline": "2099-01-31",
                "reason": "先限期整改",
            },
        )
        assert response.status_code == 303
    reason = "经核查属程序违规，建议予以诫勉。"
    page.select_option("#kind", "record_accountability")
    page.select_option("select[name=form]", "admonition")
    page.fill("#reason", reason)
    page.click("text=提交决定 / Submit decision")
    expect(page.locator("#conflict")).to_contain_text("此案件在您打开页面后已被修改")
    expect(page.locator("#conflict")).to_contain_text("先限期整改")
    expect(page.locator("#reason")).to_have_value(reason)
    expect(page.locator("select[name=form]")).to_have_value("admonition")
    shot(page, tmp_path, "05-conflict")
    # Having seen the change, the inspector submits again and it is recorded.
    page.click("text=提交决定 / Submit decision")
    expect(page.locator(".success")).to_contain_text("处理决定已保存")
    expect(page.locator(".case-head")).to_contain_text("已决定 / decided")


def test_recusal_script_comment_upload_and_print(
    page: Page, site: LiveScenario, tmp_path: Path
) -> None:
    cases: Scenario = site.cases
    sign_in(page, site.url, "insp1")

    page.goto(f"{site.url}/cases/{cases.mine_head}")
    expect(page.locator(".recusal-box")).to_contain_text("已回避 / Recused")
    expect(page.locator(".recusal-box")).to_contain_text("王矿长（P-HEAD-M1）")
    expect(page.locator("text=提交决定 / Submit decision")).to_have_count(0)
    expect(page.locator("#comments form")).to_have_count(0)
    shot(page, tmp_path, "06-recused")

    page.goto(f"{site.url}/cases/{cases.branch}")
    script = "<script>window.__owned = 1</script><img src=x onerror='window.__owned=2'>"
    page.fill("#body", script)
    page.click("text=提交意见 / Add comment")
    expect(page.locator("#comments .comment .body").first).to_have_text(script)
    assert page.evaluate("window.__owned") is None
    shot(page, tmp_path, "07-comment-escaped")

    # An oversized file is refused in the page before it is sent.
    page.set_input_files(
        "#file",
        files=[{"name": "大文件.pdf", "mimeType": "application/pdf", "buffer": b"x" * 300_000}],
    )
    expect(page.locator("#file-error")).to_contain_text("附件过大")
    page.click("text=上传 / Upload")
    expect(page.locator("#attachments")).to_contain_text("暂无附件")
    page.set_input_files(
        "#file",
        files=[{"name": "整改报告.txt", "mimeType": "text/plain", "buffer": "整改完成".encode()}],
    )
    expect(page.locator("#file-error")).to_have_text("")
    page.click("text=上传 / Upload")
    expect(page.locator("#attachments")).to_contain_text("整改报告.txt")

    # Printed, the record stays and the controls go.
    page.emulate_media(media="print")
    expect(page.locator(".mainnav")).to_be_hidden()
    expect(page.locator("#comments form")).to_be_hidden()
    expect(page.locator("#finding")).to_be_visible()
    pdf = tmp_path / "case.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.stat().st_size > 10_000


def test_other_jurisdiction_is_not_found_in_the_browser(page: Page, site: LiveScenario) -> None:
    sign_in(page, site.url, "insp1")
    response = page.goto(f"{site.url}/cases/{site.cases.other_mine}")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("案件不存在")
    # And the API says the same to the same browser session.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    api = httpx.get(f"{site.url}/api/cases/{site.cases.other_mine}", cookies=cookies)
    assert api.status_code == 404
