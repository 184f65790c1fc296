"""A small real world for inspections: the bundled sample company, a pack, and a meetings
export with planted gaps. Expected results are derived from what was planted, never typed in."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import models
from dualduty.demo import load_sample_company
from dualduty.settings import get_settings
from models.org import Unit, UnitKind
from models.session import get_engine, make_engine, session_scope
from rules.periods import Period
from workflows import PREFECT_DEFAULTS

FIXTURES = Path(__file__).with_name("fixtures")
PACK = "branch-meetings.yaml"
MEETING_HEADER = ["单位编码", "会议类型", "召开日期", "出席人数"]


@dataclass
class World:
    """A database with the sample company, a pack file and its evidence folder."""

    url: str
    folder: Path
    pack: Path
    branches: list[str]

    @property
    def meetings(self) -> Path:
        return self.folder / "meetings.csv"

    def write_meetings(self, period: Period, *, missing: set[str]) -> None:
        """One 支委会 per branch in ``period`` (mid-period), except the ``missing`` branches;
        every branch also holds a 党员大会, which the rule must not count."""
        held = period.start + (period.end - period.start) // 2
        rows = []
        for code in self.branches:
            rows.append([code, "党员大会", held.isoformat(), "20"])
            if code not in missing:
                rows.append([code, "支委会", held.isoformat(), "5"])
        existing = self.meetings.read_text(encoding="utf-8-sig") if self.meetings.exists() else ""
        with self.meetings.open("a", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            if not existing:
                writer.writerow(MEETING_HEADER)
            writer.writerows(rows)

    def planted(self, every: int = 7) -> set[str]:
        """Branches to leave without a meeting: every ``every``-th one."""
        return set(self.branches[::every])


def make_world(url: str, folder: Path) -> World:
    engine = make_engine(url)
    models.Base.metadata.create_all(engine)
    with session_scope(engine) as session:
        load_sample_company(session)
    with session_scope(engine) as session:
        branches = sorted(
            session.scalars(select(Unit.code).where(Unit.kind == UnitKind.branch)).all()
        )
    engine.dispose()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / PACK, folder / PACK)
    return World(url=url, folder=folder, pack=folder / PACK, branches=branches)


def point_settings_at(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    monkeypatch.setenv("DUALDUTY_DATABASE_URL", url)
    monkeypatch.setenv("DUALDUTY_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def world(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The sample world on the ``engine`` fixture's database (SQLite, then PostgreSQL), with the
    application's settings pointing at it."""
    url = engine.url.render_as_string(hide_password=False)
    made = make_world(url, tmp_path / "packs")
    point_settings_at(monkeypatch, url, tmp_path / "data")
    yield made
    get_engine(url).dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def sqlite_world(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The sample world on SQLite only: for behaviour that does not depend on the database
    (each PostgreSQL variant costs a truncation and an org import, ~2 s)."""
    url = sqlite_engine.url.render_as_string(hide_password=False)
    made = make_world(url, tmp_path / "packs")
    point_settings_at(monkeypatch, url, tmp_path / "data")
    yield made
    get_engine(url).dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect engine for all flow tests of this process (it costs ~15 s each)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        for name, value in PREFECT_DEFAULTS.items():
            patch.setenv(name, value)
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=90):
            yield
