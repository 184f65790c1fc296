"""``dualduty inspect``: summary, JSON, exit codes, and the time split it prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dualduty.cli import app
from dualduty.settings import get_settings
from models.session import get_engine
from rules.periods import Period
from tests.workflows.conftest import World, make_world

MARCH = Period.parse("2026-03")


@pytest.fixture
def cli_world(db_env: str, tmp_path: Path) -> Iterator[World]:
    yield make_world(db_env, tmp_path / "packs")
    get_engine().dispose()


def _inspect(world: World, *extra: str) -> tuple[int, str]:
    args = ["inspect", "--pack", str(world.pack), "--period", MARCH.label, "--no-prefect", *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_findings_are_not_a_failure_and_the_summary_says_what_was_found(cli_world: World) -> None:
    missing = cli_world.planted()
    cli_world.write_meetings(MARCH, missing=missing)

    code, output = _inspect(cli_world)

    assert code == 0, output
    assert "branch-committee-monthly" in output
    assert f"新增 new {len(missing)}" in output
    for branch in missing:
        assert branch in output
    assert "启动与编排 start-up" in output and "library pipeline" in output

    code, output = _inspect(cli_world, "--format", "json")
    assert code == 0, output
    data = json.loads(output)
    assert data["counts"]["failed"] == len(missing)
    assert data["counts"]["cases_opened"] == 0 and data["counts"]["cases_still_open"] == len(
        missing
    )
    assert data["timing"]["engine"] == "library"
    assert data["timing"]["work_seconds"] <= data["timing"]["total_seconds"]


def test_bad_input_exits_2_and_a_failure_to_run_exits_1(
    cli_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _inspect(cli_world, "--period", "2026-13")
    assert code == 2 and "2026-13" in output

    # The pack's evidence file does not exist: the pack points at nothing, a user error.
    code, output = _inspect(cli_world)
    assert code == 2 and "no such file" in output

    # The database is unreachable: the inspection cannot run.
    monkeypatch.setenv("DUALDUTY_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:9/none")
    get_settings.cache_clear()
    get_engine.cache_clear()
    code, output = _inspect(cli_world)
    assert code == 1, output
    assert "数据库" in output and "127.0.0.1:9" in output
