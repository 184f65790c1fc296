"""``dualduty cases …``, ``dualduty escalate`` and ``dualduty audit …`` through the real app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from dualduty.cli import app
from dualduty.cli.console import err_console, out
from dualduty.errors import ConflictError, NotFoundError, UserError
from models.cases import reconcile
from models.session import get_engine
from rules.findings import Verdict
from tests.cases.helpers import finding
from tests.ladders import orgdata

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """Rich reads the terminal width once, at import; tables would elide the cells we check."""
    saved = (out._width, err_console._width)
    out.width = err_console.width = 250
    yield
    out._width, err_console._width = saved


@pytest.fixture
def seeded(db_env: str) -> list[int]:
    engine = get_engine()
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        orgdata.build(session)
        report = reconcile(
            session,
            findings=[
                finding("B01", evidence_ids=[11, 12]),
                finding("B02", severity="high"),
                finding("B01", rule="dues", verdict=Verdict.passed),
            ],
            inspection_id=None,
            now=orgdata.at(dt.date(2026, 4, 1)),
        )
        session.commit()
    return report.opened


def test_list_filters_and_pages(seeded: list[int]) -> None:
    listed = runner.invoke(app, ["cases", "list"])
    assert listed.exit_code == 0, listed.output
    assert "待处理 / open: 2" in listed.output
    assert "B01" in listed.output and "B02" in listed.output

    high = runner.invoke(app, ["cases", "list", "--severity", "high"])
    assert "B02" in high.output and "P-B01" not in high.output

    first = runner.invoke(app, ["cases", "list", "--sort", "severity", "--limit", "1"])
    assert "B02" in first.output and "--cursor" in first.output
    cursor = first.output.split("--cursor ")[1].split()[0]
    second = runner.invoke(
        app, ["cases", "list", "--sort", "severity", "--limit", "1", "--cursor", cursor]
    )
    assert (
        "P-B01" in second.output
        and "P-B02" not in second.output
        and "--cursor" not in second.output
    )

    bad = runner.invoke(app, ["cases", "list", "--sort", "due", "--cursor", cursor])
    assert isinstance(bad.exception, UserError) and "invalid page cursor" in str(bad.exception)
    assert runner.invoke(app, ["cases", "list", "--state", "nonsense"]).exit_code == 2


def test_show_decide_and_conflict(seeded: list[int]) -> None:
    case_id = seeded[0]
    shown = runner.invoke(app, ["cases", "show", str(case_id)])
    assert shown.exit_code == 0, shown.output
    assert "无支委会记录" in shown.output and "11, 12" in shown.output and "opened" in shown.output

    missing_reason = runner.invoke(app, ["cases", "decide", str(case_id), "--kind", "dismiss"])
    assert missing_reason.exit_code == 2 and "--reason" in missing_reason.output
    no_category = runner.invoke(
        app, ["cases", "decide", str(case_id), "--kind", "dismiss", "--reason", "误报"]
    )
    assert isinstance(no_category.exception, UserError)
    assert "needs: category" in str(no_category.exception)

    decided = runner.invoke(
        app,
        [
            "cases",
            "decide",
            str(case_id),
            "--kind",
            "record_accountability",
            "--form",
            "reminder_talk",
            "--reason",
            "首次逾期，提醒谈话",
            "--actor",
            "user:wang",
            "--version",
            "1",
        ],
    )
    assert decided.exit_code == 0, decided.output
    assert "已决定 / decided" in decided.output and "user:wang" in decided.output

    stale = runner.invoke(
        app,
        ["cases", "decide", str(case_id), "--kind", "close", "--reason", "结案", "--version", "1"],
    )
    assert isinstance(stale.exception, ConflictError)

    assert isinstance(runner.invoke(app, ["cases", "show", "999"]).exception, NotFoundError)
    shown = runner.invoke(app, ["cases", "show", str(case_id)])
    assert "首次逾期，提醒谈话" in shown.output and "reminder_talk" in shown.output


def test_comment_and_attach(seeded: list[int], tmp_path: Path) -> None:
    case_id = seeded[0]
    report = tmp_path / "整改报告.txt"
    report.write_text("已补开支委会", encoding="utf-8")
    assert (
        runner.invoke(
            app, ["cases", "comment", str(case_id), "--body", "<b>已电话催办</b>"]
        ).exit_code
        == 0
    )
    attached = runner.invoke(app, ["cases", "attach", str(case_id), str(report)])
    assert attached.exit_code == 0, attached.output
    shown = runner.invoke(app, ["cases", "show", str(case_id)])
    assert "<b>已电话催办</b>" in shown.output and "整改报告.txt" in shown.output


def test_escalate_then_audit(seeded: list[int]) -> None:
    first = runner.invoke(app, ["escalate", "--now", "2026-04-01", "--no-deliver"])
    assert first.exit_code == 0, first.output
    assert "2 due, 2 steps, 4 queued" in first.output
    again = runner.invoke(app, ["escalate", "--now", "2026-04-01T15:00", "--no-deliver"])
    assert "0 due, 0 steps, 0 queued" in again.output
    assert isinstance(runner.invoke(app, ["escalate", "--now", "yesterday"]).exception, UserError)

    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "chain intact" in verified.output
    log = runner.invoke(app, ["audit", "log", "--case", str(seeded[0])])
    assert "case.open" in log.output and "case.step" in log.output

    with get_engine().begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET detail = '{}' WHERE seq = 2"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "chain BROKEN" in broken.output and "entry 2" in broken.output
