"""``dualduty evidence``: add by hand, gather a pack's sources, list and show with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import models
from dualduty.cli import app
from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError
from models.session import get_engine

EXAMPLE = Path(__file__).resolve().parents[2] / "rules" / "packs" / "example" / "example.yaml"
runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def exit_code(result: Result) -> int:
    if isinstance(result.exception, DualdutyError):
        return result.exception.exit_code
    return result.exit_code


def message(result: Result) -> str:
    return str(result.exception) if isinstance(result.exception, DualdutyError) else result.output


@pytest.fixture
def db(db_env: str) -> Iterator[str]:
    """Tables created, and consoles wide enough that table cells are not elided (Rich reads
    the width once, at import)."""
    models.Base.metadata.create_all(get_engine())
    saved = (out._width, err_console._width)
    out.width = err_console.width = 250
    yield db_env
    out._width, err_console._width = saved


def test_a_database_without_tables_says_what_to_run(db_env: str) -> None:
    result = invoke("evidence", "list", "--type", "meeting")
    assert exit_code(result) == 2 and "dualduty db upgrade" in message(result)


def test_add_by_hand_then_change_then_show(db: str) -> None:
    first = invoke(
        "evidence",
        "add",
        "--pack",
        str(EXAMPLE),
        "--type",
        "dues",
        "--field",
        "member=P001",
        "--field",
        "month=2026-03",
        "--field",
        "amount=50",
        "--field",
        "paid_on=2026/3/5",
        "--by",
        "王五",
    )
    assert first.exit_code == 0, first.output
    assert "新增 new 1" in first.output and "#1" in first.output
    # The declaration was stored: no --pack needed any more.
    same = invoke(
        "evidence",
        "add",
        "-t",
        "dues",
        "-f",
        "member=P001",
        "-f",
        "month=2026-03",
        "-f",
        "amount=50.00",
        "-f",
        "paid_on=2026-03-05",
    )
    assert same.exit_code == 0, same.output
    assert "未变 unchanged 1" in same.output
    changed = invoke(
        "evidence",
        "add",
        "-t",
        "dues",
        "-f",
        "member=P001",
        "-f",
        "month=2026-03",
        "-f",
        "amount=80",
        "-f",
        "paid_on=2026-03-05",
    )
    assert "变更 changed 1" in changed.output and "#2" in changed.output

    listed = invoke("evidence", "list", "--type", "dues")
    assert listed.exit_code == 0, listed.output
    assert "P001" in listed.output and "80" in listed.output and "cli" in listed.output
    assert "dues: 1 / 1" in listed.output

    shown = invoke("evidence", "show", "2")
    assert shown.exit_code == 0, shown.output
    for text in ("P001/2026-03", "v2", "当前 current", "王五" if False else "cli", "superseded"):
        assert text in shown.output
    old = invoke("evidence", "show", "1")
    assert "已被替代 superseded" in old.output and "王五" in old.output


def test_bad_manual_input_is_refused_with_reasons(db: str) -> None:
    bad = invoke(
        "evidence",
        "add",
        "--pack",
        str(EXAMPLE),
        "-t",
        "dues",
        "-f",
        "member=P001",
        "-f",
        "month=2026-03",
        "-f",
        "amount=五十",
        "-f",
        "paid_on=2026-02-30",
        "-f",
        "payer=张三",
    )
    assert exit_code(bad) == 2
    text = message(bad)
    assert "amount" in text and "not a number" in text
    assert "paid_on" in text and "impossible date" in text
    assert "undeclared fields: payer" in text
    unknown = invoke("evidence", "add", "-t", "meeting", "-f", "unit=B01")
    assert exit_code(unknown) == 2 and "--pack" in message(unknown)
    not_in_pack = invoke(
        "evidence", "add", "--pack", str(EXAMPLE), "-t", "meetings", "-f", "unit=B01"
    )
    assert exit_code(not_in_pack) == 2 and "declared:" in message(not_in_pack)
    malformed = invoke("evidence", "add", "--pack", str(EXAMPLE), "-t", "dues", "-f", "member")
    assert exit_code(malformed) == 2 and "name=value" in message(malformed)
    neither = invoke("evidence", "add", "-t", "dues")
    assert exit_code(neither) == 2
    missing = invoke("evidence", "show", "42")
    assert exit_code(missing) == 2 and "#42" in message(missing)


def test_add_from_a_file_reports_the_broken_line(db: str, tmp_path: Path) -> None:
    sheet = tmp_path / "dues.csv"
    sheet.write_text(
        "member,month,amount,paid_on\nP001,2026-03,50,2026-03-05\nP002,2026-03,abc,2026-03-06\n",
        encoding="gbk",
    )
    bad = invoke("evidence", "add", "--pack", str(EXAMPLE), "-t", "dues", "--file", str(sheet))
    assert exit_code(bad) == 2 and f"{sheet}:3" in message(bad)
    assert "dues: 0 / 0" in invoke("evidence", "list", "-t", "dues").output
    sheet.write_text(
        "member,month,amount,paid_on\nP001,2026-03,50,2026-03-05\nP002,2026-03,60,2026-03-06\n",
        encoding="gbk",
    )
    good = invoke("evidence", "add", "--pack", str(EXAMPLE), "-t", "dues", "--file", str(sheet))
    assert good.exit_code == 0 and "新增 new 2" in good.output


def test_gather_a_pack_source_then_list_by_unit(db: str, tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "    key: [unit, kind, held_on]\n  training:",
        "    key: [unit, kind, held_on]\n"
        "    source: {file: meetings.csv, map: {unit: 单位编码, kind: 会议类型, held_on: 召开日期}, on_error: skip}\n"
        "  training:",
        1,
    )
    assert "meetings.csv" in text
    pack = tmp_path / "pack.yaml"
    pack.write_text(text, encoding="utf-8")
    for fixture in (EXAMPLE.parent / "fixtures", EXAMPLE.parent / "org.yaml"):
        target = tmp_path / fixture.name
        if fixture.is_dir():
            target.mkdir()
            for child in fixture.iterdir():
                (target / child.name).write_bytes(child.read_bytes())
        else:
            target.write_bytes(fixture.read_bytes())
    (tmp_path / "meetings.csv").write_text(
        "单位编码,会议类型,召开日期\nB01,支委会,2026-03-05\nB02,支委会,2026-03-06\nB03,支委会,三月\n",
        encoding="utf-8-sig",
    )
    result = invoke("evidence", "gather", "--pack", str(pack))
    assert result.exit_code == 0, message(result)
    assert "meeting (file)" in result.output
    assert "meetings.csv:4" in result.output  # the skipped row is reported
    listed = invoke("evidence", "list", "-t", "meeting", "--unit", "B02")
    assert "meeting: 1 / 1" in listed.output and "2026-03-06" in listed.output
    unknown = invoke("evidence", "gather", "--pack", str(pack), "-t", "meetings")
    assert exit_code(unknown) == 2
