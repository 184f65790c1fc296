"""``dualduty org`` and ``dualduty demo`` through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

import models
from dualduty.cli import app
from dualduty.errors import DualdutyError, NotFoundError, UserError
from evidence.orgmapping import OrgMapping, load_mapping
from models import org
from models.session import make_engine

from .helpers import POSTS, counts, write, write_org

BIN = Path(sys.executable).parent


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def exit_code(result: Result) -> int:
    """The exit code ``dualduty.cli.main`` gives: CliRunner runs ``app``, which lets our
    errors through as exceptions."""
    if isinstance(result.exception, DualdutyError):
        return result.exception.exit_code
    return result.exit_code


@pytest.fixture
def db(db_env: str) -> str:
    engine = make_engine(db_env)
    models.Base.metadata.create_all(engine)
    engine.dispose()
    return db_env


def state(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        result = counts(session)
    engine.dispose()
    return result


def test_import_then_reimport(db: str, tmp_path: Path) -> None:
    paths = [str(p) for p in write_org(tmp_path / "export")]
    first = invoke("org", "import", *paths)
    assert first.exit_code == 0, first.output
    assert "已导入 / imported" in first.output
    assert "gb18030" in first.output
    assert state(db)[:2] == (7, 8)
    again = invoke("org", "import", *paths)
    assert again.exit_code == 0 and "没有变化 / nothing changed" in again.output


def test_import_bad_rows_exit_2_and_write_nothing(db: str, tmp_path: Path) -> None:
    paths = write_org(tmp_path, posts=POSTS + "P7,杨小红,B,党支部书计,2026-01-01,\n")
    result = invoke("org", "import", *map(str, paths))
    assert exit_code(result) == 2
    assert isinstance(result.exception, UserError)
    assert f"{paths[2]}:11" in str(result.exception)
    assert state(db) == (0, 0, 0, 0)

    skipped = invoke("org", "import", "--skip-bad-rows", *map(str, paths))
    assert skipped.exit_code == 0, skipped.output
    assert "已跳过 1 行 / skipped rows" in skipped.output
    assert f"{paths[2]}:11" in skipped.output
    assert state(db)[:2] == (7, 8)


def test_dry_run_writes_nothing(db: str, tmp_path: Path) -> None:
    result = invoke("org", "import", "--dry-run", *map(str, write_org(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "│ 单位 / units          │            7" in result.output
    assert state(db) == (0, 0, 0, 0)


def test_import_with_mapping_and_without_schema(db_env: str, tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.yaml", "units: {code: 机构代码}\n")
    units = write(tmp_path / "u.csv", "机构代码,单位名称,单位类型\nC,集团,公司\n")
    no_tables = invoke("org", "import", "--mapping", str(mapping), str(units))
    assert exit_code(no_tables) == 2 and "dualduty db upgrade" in str(no_tables.exception)
    engine = make_engine(db_env)
    models.Base.metadata.create_all(engine)
    engine.dispose()
    result = invoke("org", "import", "--mapping", str(mapping), str(units))
    assert result.exit_code == 0, result.output
    assert state(db_env)[0] == 1


def test_show_follows_the_date(db: str, tmp_path: Path) -> None:
    assert invoke("org", "import", *map(str, write_org(tmp_path))).exit_code == 0
    before = invoke("org", "show", "--on", "2026/4/30")
    after = invoke("org", "show", "--on", "2026年5月1日")
    assert before.exit_code == 0 and after.exit_code == 0, before.output + after.output
    assert "党支部书记：赵志强" in before.output and "刘晓梅" not in before.output
    assert "党支部书记：刘晓梅" in after.output and "赵志强" not in after.output
    for name in ("测试集团", "一矿", "综采队党支部", "第一党小组", "党委书记：张建国"):
        assert name in after.output

    shallow = invoke("org", "show", "--unit", "M", "--depth", "1", "--on", "2026-06-01")
    assert shallow.exit_code == 0, shallow.output
    assert "一矿" in shallow.output and "综采队" in shallow.output
    assert "综采队党支部" not in shallow.output and "1 个下级单位" in shallow.output
    assert "测试集团" not in shallow.output

    missing = invoke("org", "show", "--unit", "MM")
    assert isinstance(missing.exception, NotFoundError) and "did you mean" in str(missing.exception)
    bad_date = invoke("org", "show", "--on", "2026-02-30")
    assert exit_code(bad_date) == 2 and "impossible date" in str(bad_date.exception)


def test_mapping_command_prints_a_usable_mapping(db: str, tmp_path: Path) -> None:
    result = invoke("org", "mapping")
    assert result.exit_code == 0
    saved = write(tmp_path / "mapping.yaml", result.output)
    assert "单位编码" in result.output and "所在单位" in result.output
    assert load_mapping(saved) == OrgMapping()


def test_demo_end_to_end_and_exit_codes(tmp_path: Path) -> None:
    """The installed console script on a fresh SQLite file: migrate, import, summarise (the demo
    inspection itself is tests/workflows/test_demo.py's); then a
    bad import through ``main`` exits 2 with a readable message and no traceback."""
    env = {
        **os.environ,
        "DUALDUTY_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "DUALDUTY_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    run = subprocess.run(
        [str(BIN / "dualduty"), "demo", "--no-inspect", "--on", "2026-06-01"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "北辰煤业集团有限公司" in run.stdout
    assert "党支部 / branch" in run.stdout and "东山煤矿" in run.stdout
    again = subprocess.run(
        [str(BIN / "dualduty"), "demo", "--no-inspect"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "没有变化 / nothing changed" in again.stdout

    bad = write(tmp_path / "bad.csv", "单位编码,单位名称,单位类型,上级单位\nX,某站,工作站,BC\n")
    failed = subprocess.run(
        [str(BIN / "dualduty"), "org", "import", str(bad)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert f"{bad}:2" in failed.stderr and "工作站" in failed.stderr
    assert "Traceback" not in failed.stderr
    engine = make_engine(env["DUALDUTY_DATABASE_URL"])
    with Session(engine) as session:
        assert org.get_unit(session, code="X") is None
        assert org.get_unit_or_raise(session, code="BC").name == "北辰煤业集团有限公司"
    engine.dispose()


def test_chain_command(db: str, tmp_path: Path) -> None:
    assert invoke("org", "import", *map(str, write_org(tmp_path))).exit_code == 0
    result = invoke("org", "chain", "P6", "--on", "2026-06-01")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    names = [row.split("│")[2].strip() for row in rows]
    assert names == ["刘晓梅", "王海燕", "李卫东", "张建国"]
    assert "B 纪检委员、G 党小组组长" in result.output
    top = invoke("org", "chain", "P1")
    assert top.exit_code == 0 and "没有上级 / no superior" in top.output
    missing = invoke("org", "chain", "P66")
    assert isinstance(missing.exception, NotFoundError)
