"""The console's assessment page and downloads over HTTP, per role and jurisdiction."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from console.routes.assessments import REPORT_CSP
from dualduty.settings import get_settings
from models import users
from models.audit import AuditEntry
from tests.assessments.db import inspect, seed_org
from tests.assessments.test_snapshots import quarter_of_findings
from tests.console.conftest import add_user, console_settings, logged_in, running_console


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine) -> Iterator[str]:
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_MEMORY_KIB", "8")
    get_settings.cache_clear()
    with Session(sqlite_engine) as session:
        seed_org(session)
        inspect(session, quarter_of_findings())
        add_user(session, "root", users.Role.admin)
        add_user(session, "insp", users.Role.inspector, jurisdiction="B01")
        add_user(session, "reader", users.Role.viewer, jurisdiction="M01")
        session.commit()
    with running_console(sqlite_engine, console_settings(sqlite_engine)) as url:
        yield url
    get_settings.cache_clear()


def test_admin_sees_every_unit_and_cadre(console: str, sqlite_engine: Engine) -> None:
    with logged_in(console, "root") as client:
        page = client.get("/assessments", params={"period": "2026-Q3"})
        assert page.status_code == 200, page.text
        text = page.text
        assert "2026年第三季度一岗双责考核" in text
        assert "草稿（未发布）" in text
        for name in ("第一党支部", "第二党支部", "采购部", "张伟", "王芳", "优秀共产党员"):
            assert name in text
        assert "<svg" in text and "<script>" not in text.split("</header>")[1]
    with Session(sqlite_engine) as session:
        actions = session.execute(
            select(AuditEntry.action, AuditEntry.actor).where(
                AuditEntry.subject_type == "assessment"
            )
        ).all()
        assert ("assessment.view", "user:root") in actions  # the same actor form as every entry


def test_inspector_sees_only_the_jurisdiction_also_in_exports(console: str) -> None:
    with logged_in(console, "insp") as client:
        page = client.get("/assessments?period=2026-Q3").text
        assert '<a href="/assessments">考核' in client.get("/cases").text  # the main navigation
        assert "第一党支部" in page and "张伟" in page and "李娜" in page
        assert "第二党支部" not in page and "王芳" not in page
        assert "管辖范围 B01" in page

        xlsx = client.get("/assessments/2026-Q3/report.xlsx")
        assert xlsx.status_code == 200
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in xlsx.headers["content-disposition"]
        book = load_workbook(io.BytesIO(xlsx.content))
        names = [r[3] for r in book["党支部"].iter_rows(min_row=4, values_only=True)]
        assert "第一党支部" in names and "第二党支部" not in names

        report = client.get("/assessments/2026-Q3/report.html")
        assert report.status_code == 200
        assert report.headers["content-security-policy"] == REPORT_CSP
        assert "第一党支部" in report.text and "第二党支部" not in report.text


def test_viewers_and_bad_periods_are_refused(console: str) -> None:
    with logged_in(console, "reader") as client:
        assert 'href="/assessments"' not in client.get("/cases").text
        assert client.get("/assessments").status_code == 403
        assert client.get("/assessments/2026-Q3/report.xlsx").status_code == 403
    with logged_in(console, "root") as client:
        bad = client.get("/assessments?period=2026-Q9")
        assert bad.status_code == 400
        assert "无法识别的期间" in bad.text
