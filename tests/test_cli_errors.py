"""Configuration and connection mistakes end in a clear message and an exit code, never a
traceback, and never show a password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DUALDUTY = str(Path(sys.executable).parent / "dualduty")


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DUALDUTY_")}
    return subprocess.run(
        [DUALDUTY, *args],
        cwd=tmp_path,
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ('DUALDUTY_DATABASE_URL = "sqlite:///x.db"\n', {}, "DUALDUTY_DATABASE_URL: 配置错误"),
        ("", {"DUALDUTY_DATABASE_URL": "nonsense"}, "not a database URL"),
        ("", {"DUALDUTY_TIMEZONE": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
    ],
)
def test_bad_settings_are_named_with_where_settings_come_from(
    tmp_path: Path, toml: str, env: dict[str, str], expected: str
) -> None:
    if toml:
        (tmp_path / "dualduty.toml").write_text(toml, encoding="utf-8")
    result = _run(tmp_path, "db", "upgrade", **env)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "DUALDUTY_* environment variables and dualduty.toml" in result.stderr
    assert "Traceback" not in result.stderr and "error: error:" not in result.stderr


def test_a_bad_setting_stops_commands_that_do_not_read_it(tmp_path: Path) -> None:
    pack = Path(__file__).parents[1] / "rules" / "packs" / "branch-life.yaml"
    result = _run(tmp_path, "rules", "validate", str(pack), DUALDUTY_EVALUATION_MEMORY_MIB="lots")
    assert result.returncode == 2, result.stderr
    assert "evaluation_memory_mib" in result.stderr
    assert "Traceback" not in result.stderr
    assert _run(tmp_path, "rules", "validate", str(pack)).returncode == 0


def test_an_unreachable_database_is_a_run_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://dd:s3cret-pw@127.0.0.1:1/nowhere"
    result = _run(tmp_path, "db", "upgrade", DUALDUTY_DATABASE_URL=url)
    assert result.returncode == 1, result.stderr
    assert "无法连接数据库 / cannot use the database" in result.stderr
    assert "127.0.0.1:1/nowhere" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
