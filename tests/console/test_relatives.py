"""Recusal by declared relatives, from personal-matters reports gathered into the evidence store,
through the console as ``dualduty serve`` builds it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from console.deps import ConsoleState
from dualduty.cli import app as cli
from evidence.gather import gather
from evidence.relatives import StoredRelatives
from evidence.sources.file import FileSource
from models.session import get_engine
from rules.compiler import load_pack
from tests.console.conftest import (
    console_settings,
    csrf_from,
    logged_in,
    running_console,
    seed_org,
    seed_scenario,
)

PACKS = Path(__file__).parents[2] / "rules" / "packs"
HEADER = "干部工号,干部姓名,姓名,与本人关系,工作单位,出生年月\n"


def declare(engine: Engine, folder: Path, name: str, rows: str) -> None:
    """Gather a personal-matters export with the sample integrity pack's `relative` type."""
    etype = load_pack(PACKS / "integrity.yaml").pack.evidence["relative"]
    path = folder / name
    path.write_text(HEADER + rows, encoding="utf-8")
    assert isinstance(etype.source, FileSource)
    with Session(engine) as session:
        gather(
            session,
            type_name="relative",
            evidence_type=etype,
            source=etype.source.model_copy(update={"path": path}),
        )
        session.commit()


def _forced_decision(client: httpx.Client, case_id: int) -> httpx.Response:
    csrf = csrf_from(client.get(f"/cases/{case_id}").text)
    return client.post(
        f"/cases/{case_id}/decide",
        data={"csrf_token": csrf, "expected_version": "1", "kind": "close", "reason": "强行"},
    )


def test_stored_declarations_recuse_inspectors_both_ways(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        scn = seed_scenario(session)
        session.commit()
    # 赵纪检 (P-INSP2) declared 李书记, the branch case's bearer, as his spouse.
    declare(engine, tmp_path, "2025.csv", "P-INSP2,赵纪检,李书记,配偶,本公司\n")
    settings = console_settings(engine)
    relatives = StoredRelatives.from_settings(settings)  # the defaults: the sample pack's type
    assert relatives is not None
    with running_console(engine, settings, relatives=relatives) as url:
        with logged_in(url, "insp2") as client:
            queue = client.get("/cases").text
            assert queue.count("已回避 / recused") == 2  # mine_head (superior) and branch
            page = client.get(f"/cases/{scn.branch}").text
            assert "已回避 / Recused" in page
            assert "李书记（P-SEC-B1） 是本人申报的亲属" in page
            assert f'action="/cases/{scn.branch}/decide"' not in page
            assert "insp1" in page  # routed to the colleague who is not related
            forced = _forced_decision(client, scn.branch)
            assert forced.status_code == 403 and "已回避" in forced.text
            detail = client.get(f"/api/cases/{scn.branch}").json()["permissions"]
            assert detail["recused"] and detail["recusal"][0]["kind"] == "relative"
        with logged_in(url, "insp1") as client:
            page = client.get(f"/cases/{scn.branch}").text
            assert f'action="/cases/{scn.branch}/decide"' in page

        # Next year 李书记 reports 张纪检 (P-INSP1) as a relative: insp1 is recused at once,
        # though insp1 declared nothing, and without restarting the console.
        declare(engine, tmp_path, "2026.csv", "P-SEC-B1,李书记,张纪检,子女,本公司\n")
        with logged_in(url, "insp1") as client:
            page = client.get(f"/cases/{scn.branch}").text
            assert "李书记（P-SEC-B1） 申报本人为其亲属" in page
            assert f'action="/cases/{scn.branch}/decide"' not in page
            assert _forced_decision(client, scn.branch).status_code == 403
        with logged_in(url, "insp3") as client:  # another mine: the case is not theirs anyway
            assert client.get(f"/cases/{scn.branch}").status_code == 404


class _Stop(Exception):
    pass


@pytest.fixture
def captured_app(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``dualduty serve`` up to the point where uvicorn would take over."""
    seen: dict[str, Any] = {}

    def run(app: Any, **options: Any) -> None:
        seen["app"] = app
        raise _Stop

    monkeypatch.setattr(uvicorn, "run", run)
    return seen


def _prepare_db() -> Engine:
    engine = get_engine()
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_org(session)
        session.commit()
    return engine


def test_serve_builds_the_console_with_stored_declarations(
    db_env: str, tmp_path: Path, captured_app: dict[str, Any]
) -> None:
    engine = _prepare_db()
    runner = CliRunner()
    result = runner.invoke(cli, ["serve"])
    assert isinstance(result.exception, _Stop), result.output
    assert "尚无亲属申报" in result.output  # told, not silently inactive
    state: ConsoleState = captured_app["app"].state.console
    assert isinstance(state.relatives, StoredRelatives)
    assert state.relatives.type_name == "relative"

    declare(engine, tmp_path, "family.csv", "P-INSP2,赵纪检,李书记,配偶,本公司\n")
    result = runner.invoke(cli, ["serve"])
    assert isinstance(result.exception, _Stop) and "尚无亲属申报" not in result.output
    relatives = captured_app["app"].state.console.relatives
    with Session(engine) as session:
        assert relatives(session, person_code="P-INSP2", on=dt.date(2026, 3, 31)) == {"P-SEC-B1"}


def test_serve_refuses_a_misconfigured_declaration_type(
    db_env: str, tmp_path: Path, captured_app: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _prepare_db()
    declare(engine, tmp_path, "family.csv", "P-INSP2,赵纪检,李书记,配偶,本公司\n")
    monkeypatch.setenv("DUALDUTY_RELATIVES_NAME_FIELD", "relative_name")
    from dualduty.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["serve"])
    assert "app" not in captured_app
    assert result.exit_code != 0
    assert "has no field 'relative_name'" in str(result.exception)
