"""Helpers for the rule tests: packs from YAML text, connections from inline org and records."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner, Result

from dualduty.cli import app
from dualduty.errors import DualdutyError
from rules.compiler import CompiledPack, load_pack_text
from rules.fixtures import fixture_connection
from rules.schema import OrgFixture

EVIDENCE = """
evidence:
  meeting:
    title: 会议记录
    fields: {unit: unit, kind: str, held_on: date, attendance: int}
  training:
    fields: {member: person, hours: decimal, held_on: date}
  dues:
    fields: {member: person, month: str, amount: decimal, paid_on: date}
  procurement:
    fields: {unit: unit, vendor: str, amount: decimal, contract_date: date, decision_id: str}
    key: [unit, vendor, contract_date]
  decision:
    fields: {id: str, unit: unit, decided_on: date}
    key: [id]
  vendor:
    fields: {code: str, legal_rep: str}
    key: [code]
  relative:
    fields: {cadre: person, name: str}
"""

ORG = OrgFixture.model_validate(
    {
        "units": [
            {"code": "C", "kind": "company"},
            {"code": "M1", "kind": "mine", "parent": "C"},
            {"code": "D1", "kind": "department", "parent": "M1"},
            {"code": "B01", "kind": "branch", "parent": "M1"},
            {"code": "B02", "kind": "branch", "parent": "M1"},
            {"code": "M2", "kind": "mine", "parent": "C"},
            {"code": "B03", "kind": "branch", "parent": "M2"},
        ],
        "people": [
            {"code": "P01", "unit": "B01", "party_member": True},
            {"code": "P02", "unit": "B01", "party_member": True, "tags": ["cadre"]},
            {"code": "P03", "unit": "B02", "party_member": True},
            {"code": "P04", "unit": "B03", "party_member": False},
            {"code": "P05", "unit": "D1", "party_member": True, "tags": ["cadre"]},
        ],
        "posts": [
            {"person": "P01", "post": "党支部书记", "unit": "B01", "until": "2026-06-30"},
            {"person": "P02", "post": "党支部书记", "unit": "B01", "since": "2026-07-01"},
            {"person": "P03", "post": "党支部书记", "unit": "B02"},
            {"person": "P05", "post": "部门负责人", "unit": "D1"},
            {"person": "P04", "post": "党委书记", "unit": "M2"},
        ],
    }
)


def pack_text(rules: str, *, evidence: str = EVIDENCE, extra: str = "") -> str:
    """A whole pack around ``rules`` (YAML list items, any indentation)."""
    body = textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ")
    return (
        "pack: test-pack\nversion: 1\ntitle: 测试\n"
        + textwrap.dedent(evidence)
        + "rules:\n"
        + body
        + "\n"
        + textwrap.dedent(extra)
    )


def compiled(rules: str, **kwargs: Any) -> CompiledPack:
    return load_pack_text(pack_text(rules, **kwargs), file="pack.yaml")


def connection(
    pack: CompiledPack,
    evidence: Mapping[str, list[dict[str, Any]]],
    org: OrgFixture = ORG,
) -> duckdb.DuckDBPyConnection:
    return fixture_connection(pack, org, {k: [v] for k, v in evidence.items()}, Path.cwd())


def invoke(*args: str) -> tuple[int, Result]:
    """Run the CLI as ``main()`` would: a DualdutyError becomes its exit code."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, DualdutyError):
        return result.exception.exit_code, result
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result
