"""``dualduty demo`` end to end on a fresh SQLite file: org import, the sample packs over the
sample evidence, cases for exactly the planted violations, one escalation pass; run twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from dualduty.cli import app
from models.cases import Case
from models.inspections import InspectionRun, RunState
from models.outbox import OutboxMessage
from models.session import make_engine
from tests.workflows.conftest import point_settings_at
from workflows.demo import planted_keys, requests

DUALDUTY = str(Path(sys.executable).parent / "dualduty")


def test_the_demo_finds_the_planted_violations_and_a_rerun_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = os.environ | {
        "DUALDUTY_DATABASE_URL": url,
        "DUALDUTY_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    planted = planted_keys()
    first = subprocess.run(
        [DUALDUTY, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert (
        f"植入问题 / planted violations: {len(planted)} · 已发现 / found: {len(planted)} · 其他 / unexpected: 0"
        in first.stdout
    )
    assert "升级督办 / escalation:" in first.stdout

    engine = make_engine(url)
    with engine.connect() as conn:
        cases = set(conn.execute(select(Case.rule_id, Case.subject_id, Case.period)).all())
        messages = conn.scalar(select(func.count()).select_from(OutboxMessage))
    assert cases == planted
    assert messages and messages > 0

    # Again, in process: same cases, no new message, every run recorded as succeeded.
    point_settings_at(monkeypatch, url, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    again = CliRunner().invoke(app, ["demo"])
    assert again.exit_code == 0, again.output
    with engine.connect() as conn:
        assert set(conn.execute(select(Case.rule_id, Case.subject_id, Case.period)).all()) == cases
        assert conn.scalar(select(func.count()).select_from(OutboxMessage)) == messages
        states = conn.execute(select(InspectionRun.state)).scalars().all()
    engine.dispose()
    assert states == [RunState.succeeded] * (2 * len(requests()))
