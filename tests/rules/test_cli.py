"""``dualduty rules``: validate, test, explain and schema, with their exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema

from rules.safeyaml import load_path
from rules.schema import pack_schema
from tests.rules.helpers import invoke

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "rules" / "packs" / "example" / "example.yaml"
BAD = Path(__file__).parent / "bad"


def test_validate_good_pack() -> None:
    code, result = invoke("rules", "validate", str(EXAMPLE))
    assert code == 0, result.output
    assert "✓" in result.output
    assert "example (7 条规则 / rules" in result.output


def test_validate_reports_every_problem_and_exits_2() -> None:
    code, result = invoke("rules", "validate", str(BAD / "unknown-key.yaml"), str(EXAMPLE))
    assert code == 2
    assert "unknown-key.yaml:16:5: error: rules[0].wher: 未知的键 / unknown key 'wher'" in (
        result.output
    )
    assert "✓" in result.output  # the good pack is still checked


def test_validate_json_for_ci() -> None:
    code, result = invoke(
        "rules", "validate", "--format", "json", str(BAD / "expression-type.yaml"), str(EXAMPLE)
    )
    assert code == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    bad, good = payload["packs"]
    assert good["ok"] is True
    assert good["pack"] == "example"
    assert len(good["version"]) == 64
    assert [(p["line"], p["column"], p["field"]) for p in bad["problems"]] == [
        (18, 12, "rules[0].when"),
        (21, 34, "rules[0].require"),
        (22, 11, "rules[0].require"),
    ]
    assert bad["problems"][0]["hint"].startswith("numbers are written without quotes")


def test_validate_folder_skips_non_packs(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE.parent, tmp_path / "packs")
    code, result = invoke("rules", "validate", "--format", "json", str(tmp_path / "packs"))
    assert code == 0, result.output
    files = [Path(p["file"]).name for p in json.loads(result.stdout)["packs"]]
    assert files == ["example.yaml"]  # org.yaml is not a pack
    code, result = invoke("rules", "validate", str(tmp_path / "empty-folder-that-is-missing"))
    assert code == 2


def test_test_command_passes_the_example_pack() -> None:
    code, result = invoke("rules", "test", str(EXAMPLE))
    assert code == 0, result.output
    assert "8/8 通过 / passed" in result.output


def test_test_command_shows_a_diff_and_exits_1(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE.parent, tmp_path / "packs")
    pack = tmp_path / "packs" / "example.yaml"
    text = pack.read_text(encoding="utf-8")
    text = text.replace(
        "{rule: branch-committee-monthly, subject: B02, period: 2026-03, verdict: pass}",
        "{rule: branch-committee-monthly, subject: B02, period: 2026-03, verdict: fail}",
    )
    pack.write_text(text, encoding="utf-8")
    code, result = invoke("rules", "test", str(pack))
    assert code == 1
    assert "-branch-committee-monthly B02 2026-03 fail" in result.output
    assert "+branch-committee-monthly B02 2026-03 pass" in result.output
    assert "7/8 通过 / passed" in result.output
    code, result = invoke("rules", "test", "--format", "json", str(pack))
    assert code == 1
    payload = json.loads(result.stdout)
    assert [case["passed"] for case in payload["packs"][0]["cases"]].count(False) == 1


def test_tests_beside_the_pack(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE.parent, tmp_path / "packs")
    pack = tmp_path / "packs" / "example.yaml"
    text = pack.read_text(encoding="utf-8")
    head, tests = text.split("\ntests:\n")
    pack.write_text(head + "\n", encoding="utf-8")
    beside = tmp_path / "packs" / "example.tests.yaml"
    body = "\n".join(line[2:] for line in tests.splitlines())
    beside.write_text(body + "\n", encoding="utf-8")
    code, result = invoke("rules", "test", str(pack))
    assert code == 0, result.output
    assert "8/8" in result.output
    beside.unlink()
    code, result = invoke("rules", "test", str(pack))
    assert code == 2
    assert "the pack has no tests" in str(result.exception)


def test_explain_from_fixture_files() -> None:
    fixtures = EXAMPLE.parent / "fixtures"
    code, result = invoke(
        "rules",
        "explain",
        str(EXAMPLE),
        "--rule",
        "major-procurement-decision",
        "--subject",
        "D1/V02/2026-03-12",
        "--period",
        "2026-03",
        "--evidence",
        str(fixtures),
        "--format",
        "json",
    )
    assert code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["finding"]["verdict"] == "fail"
    assert payload["finding"]["bearer_person"] == "P05"
    assert [r["status"] for r in payload["records"]] == ["failed", "looked_up"]
    code, result = invoke(
        "rules",
        "explain",
        str(EXAMPLE),
        "--rule",
        "branch-committee-monthly",
        "--subject",
        "B01",
        "--period",
        "2026-03",
        "--evidence",
        str(fixtures),
    )
    assert code == 0, result.output
    assert "branch-committee-monthly B01 2026-03: fail" in result.output
    assert "P01 (党支部书记)" in result.output


def test_explain_bad_period_is_a_user_error() -> None:
    code, result = invoke(
        "rules", "explain", str(EXAMPLE), "--rule", "x", "--subject", "B01",
        "--period", "2026-13", "--evidence", str(EXAMPLE.parent / "fixtures"),
    )  # fmt: skip
    assert code == 2
    assert "unrecognised period" in str(result.exception)


def test_schema_is_published_and_validates_the_example() -> None:
    code, result = invoke("rules", "schema")
    assert code == 0
    schema = json.loads(result.stdout)
    assert schema == pack_schema()
    published = json.loads((ROOT / "docs" / "rule-pack.schema.json").read_text(encoding="utf-8"))
    assert published == schema, "run: dualduty rules schema -o docs/rule-pack.schema.json"
    jsonschema.validate(load_path(EXAMPLE).data, schema)
