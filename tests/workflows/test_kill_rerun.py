"""A run killed anywhere, then run again, ends exactly where one clean run ends.

Real processes: an inspection is started as a subprocess and SIGKILLed as soon as it announces a
step, at each writing step in turn, against one database, then ``dualduty inspect`` runs it to the
end; a second database gets one clean run. Findings, cases, evidence and outbox must then be the
same in both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from models.cases import Case
from models.evidence import EvidenceRecord
from models.findings import StoredFinding
from models.inspections import InspectionRun, RunState
from models.outbox import OutboxMessage
from models.session import make_engine
from rules.periods import Period
from tests.conftest import fresh_pg_database
from tests.workflows.conftest import World, make_world, point_settings_at
from workflows import pipeline
from workflows.summary import InspectionRequest

DUALDUTY = str(Path(sys.executable).parent / "dualduty")
MARCH = Period.parse("2026-03")


def _env(world: World, data: Path) -> dict[str, str]:
    return os.environ | {
        "DUALDUTY_DATABASE_URL": world.url,
        "DUALDUTY_DATA_DIR": str(data),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }


# The victim runs the library pipeline directly (the CLI's imports cost 2-3 s per process);
# the final re-run goes through the real CLI.
VICTIM = """
import sys
from workflows import pipeline
from workflows.summary import InspectionRequest

class Announce:
    def started(self, step):
        print(f"▶ {step} ", file=sys.stderr, flush=True)
    def finished(self, step, detail, seconds):
        pass

pipeline.run_inspection(InspectionRequest(pack=sys.argv[1], period=sys.argv[2]), listener=Announce())
"""


def _inspect(world: World, data: Path, *, kill_at: str | None = None) -> int:
    """Inspect in a subprocess; with ``kill_at``, SIGKILL it the moment it starts that step."""
    if kill_at is None:
        args = [DUALDUTY, "inspect", "--pack", str(world.pack), "--period", MARCH.label]
        args.append("--no-prefect")
    else:
        args = [sys.executable, "-c", VICTIM, str(world.pack), MARCH.label]
    process = subprocess.Popen(
        args, env=_env(world, data), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    if kill_at is not None:
        for line in process.stderr:
            if line.startswith(f"▶ {kill_at} "):
                process.send_signal(signal.SIGKILL)
                break
    process.stderr.read()
    return process.wait(timeout=120)


def _state(url: str) -> dict[str, object]:
    """Everything an inspection writes, without ids and timestamps."""
    engine = make_engine(url)
    with engine.connect() as conn:
        state: dict[str, object] = {
            "findings": sorted(
                conn.execute(
                    select(
                        StoredFinding.rule_id,
                        StoredFinding.subject_id,
                        StoredFinding.period,
                        StoredFinding.verdict,
                        StoredFinding.explanation,
                        StoredFinding.bearer_person,
                    )
                ).all()
            ),
            "cases": sorted(
                conn.execute(
                    select(Case.rule_id, Case.subject_id, Case.period, Case.state, Case.ladder_step)
                ).all()
            ),
            "evidence": sorted(
                conn.execute(select(EvidenceRecord.type_name, EvidenceRecord.natural_key)).all()
            ),
            "outbox": sorted(
                conn.execute(
                    select(OutboxMessage.step, OutboxMessage.channel, OutboxMessage.recipient)
                ).all()
            ),
        }
    engine.dispose()
    return state


@pytest.fixture
def reference_url(engine: sa.Engine, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind as ``engine``."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


def test_killed_at_each_step_then_rerun_equals_one_clean_run(
    world: World, reference_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = world.planted()
    world.write_meetings(MARCH, missing=missing)
    reference = make_world(reference_url, tmp_path / "reference-packs")
    reference.write_meetings(MARCH, missing=missing)
    point_settings_at(monkeypatch, reference_url, tmp_path / "reference-data")
    pipeline.run_inspection(InspectionRequest(pack=str(reference.pack), period=MARCH.label))
    point_settings_at(monkeypatch, world.url, tmp_path / "victim-data")

    data = tmp_path / "victim-data"
    # sync_org (no org files) and evaluate (read-only) are covered by the steps around them.
    for step in ("gather", "reconcile", "escalate"):
        assert _inspect(world, data, kill_at=step) == -signal.SIGKILL
    assert _inspect(world, data) == 0

    clean = _state(reference_url)
    assert len(clean["cases"]) == len(missing)  # type: ignore[arg-type]
    assert _state(world.url) == clean

    engine = make_engine(world.url)
    with engine.connect() as conn:
        states = [
            row[0] for row in conn.execute(select(InspectionRun.state).order_by(InspectionRun.id))
        ]
    engine.dispose()
    # Each killed run was closed as abandoned by the run after it; the last one succeeded.
    assert states[-1] == RunState.succeeded
    assert set(states[:-1]) <= {RunState.abandoned}
