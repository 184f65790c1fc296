"""The HTML report printed by a real browser (Debian chromium through playwright): A4 pages,
every section on a page of its own, Chinese text laid out, charts drawn, nothing fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assessments.reports import write_reports
from tests.assessments.test_reports import outcome

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
A4_POINTS = (595, 842)


def test_report_prints_on_a4_with_sections_on_new_pages(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium fonts-wqy-zenhei")
    from playwright.sync_api import sync_playwright

    report = write_reports(outcome(), tmp_path).html
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.emulate_media(media="print")
        headings = page.locator("h2").all_inner_texts()
        bars = page.locator("svg rect").count()
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert requests == [report.as_uri()]  # the file itself, nothing else
    assert [h.split(" ")[0] for h in headings] == [
        "一、概况",
        "二、单位考核结果",
        "三、领导干部考核结果（一岗双责）",
        "四、“两优一先”推荐名单",
        "五、扣分明细",
        "六、计分说明",
    ]
    assert bars > 10
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no pages in the PDF"
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {A4_POINTS}
    assert len(boxes) >= 6  # six sections, each starting a page
