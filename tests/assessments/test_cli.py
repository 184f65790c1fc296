"""``dualduty assess`` through the real app on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from dualduty.cli import app
from dualduty.cli.console import err_console, out
from models.assessments import Assessment
from models.session import get_engine
from tests.assessments.db import inspect, seed_org
from tests.assessments.test_snapshots import quarter_of_findings

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    # An xdist worker has COLUMNS=80 in its environment when the consoles are created, which
    # fixes their width; without one they read COLUMNS on every print.
    for console in (out, err_console):
        monkeypatch.setattr(console, "_width", None)


@pytest.fixture
def seeded(db_env: str) -> None:
    engine = get_engine()
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_org(session)
        inspect(session, quarter_of_findings())
        session.commit()


def test_assess_prints_a_summary_and_writes_reports(seeded: None, tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", "--period", "2026-Q3", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2026年第三季度一岗双责考核" in result.output
    assert "草稿（未发布）" in result.output
    assert "第二党支部 (B02)" in result.output
    assert "张伟 (P01)" in result.output
    assert "未提供规则包 party-conduct" in result.output  # no --pack: rule ids, not titles
    html = tmp_path / "out" / "assessment-2026-Q3-draft.html"
    xlsx = tmp_path / "out" / "assessment-2026-Q3-draft.xlsx"
    assert "一岗双责考核报告" in html.read_text(encoding="utf-8")
    assert "党支部" in load_workbook(xlsx).sheetnames


def test_reports_default_to_the_data_folder_not_the_working_folder(
    seeded: None, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["assess", "--period", "2026-Q3"])
    assert result.exit_code == 0, result.output
    # db_env sets DUALDUTY_DATA_DIR=tmp_path/data and runs in tmp_path.
    assert (tmp_path / "data" / "reports" / "assessment-2026-Q3-draft.html").exists()
    assert not (tmp_path / "reports").exists()


def test_publish_then_reissue_keeps_both_versions(
    seeded: None, tmp_path: Path, db_env: str
) -> None:
    out = str(tmp_path / "out")
    first = runner.invoke(app, ["assess", "--period", "2026-Q3", "--out", out, "--publish"])
    assert first.exit_code == 0, first.output
    assert "已发布 / published（第1版）" in first.output
    assert (tmp_path / "out" / "assessment-2026-Q3-v1.xlsx").exists()

    edited = tmp_path / "scheme.yaml"
    sample = Path(__file__).resolve().parents[2] / "rules" / "packs" / "assessment.yaml"
    edited.write_text(
        sample.read_text(encoding="utf-8").replace(
            "  - {name: 好, min: 90}", "  - {name: 好, min: 99}"
        ),
        encoding="utf-8",
    )
    refused = runner.invoke(
        app, ["assess", "--period", "2026-Q3", "--scheme", str(edited), "--publish", "--out", out]
    )
    assert refused.exit_code == 2
    assert "--reissue" in refused.output

    shown = runner.invoke(
        app, ["assess", "--period", "2026-Q3", "--scheme", str(edited), "--out", out]
    )
    assert shown.exit_code == 0, shown.output
    assert "已发布版本保持不变" in shown.output

    reissued = runner.invoke(
        app,
        ["assess", "--period", "2026-Q3", "--scheme", str(edited), "--reissue",
         "--reason", "考核办法调整", "--out", out],
    )  # fmt: skip
    assert reissued.exit_code == 0, reissued.output
    assert "第2版" in reissued.output
    with Session(get_engine()) as session:
        rows = session.scalars(select(Assessment).order_by(Assessment.version)).all()
        assert [(r.version, r.status) for r in rows] == [(1, "superseded"), (2, "published")]


def test_bad_input_exits_2_with_the_location(seeded: None, tmp_path: Path) -> None:
    bad_period = runner.invoke(app, ["assess", "--period", "2026-Q5"])
    assert bad_period.exit_code == 2
    assert "无法识别的期间" in bad_period.output
    scheme = tmp_path / "bad.yaml"
    scheme.write_text("scheme: x\nversion: 1\ntitel: 方案\n", encoding="utf-8")
    bad_scheme = runner.invoke(app, ["assess", "--period", "2026-Q3", "--scheme", str(scheme)])
    assert bad_scheme.exit_code == 2
    assert f"{scheme}:3:1" in bad_scheme.output
    assert "title" in bad_scheme.output
    open_period = runner.invoke(app, ["assess", "--period", "2099-Q1", "--publish"])
    assert open_period.exit_code == 2
    assert "尚未结束" in open_period.output
