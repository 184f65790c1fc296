"""Every rule kind's docstring carries a YAML example; each must validate and compile, and the
registry must hold exactly the kinds the engine can run (after cloud-custodian's doc tests)."""

from __future__ import annotations

import re
import textwrap
import typing
from pathlib import Path

import pytest

from evidence.frames import connect, create_org_tables
from rules.compiler import load_pack_text
from rules.engine import FINDINGS_SCHEMA, evaluate_table
from rules.kinds import Rule
from rules.periods import Period
from rules.safeyaml import load_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "rules" / "packs" / "example" / "example.yaml"
KINDS = typing.get_args(typing.get_args(Rule)[0])


def yaml_block(doc: str | None) -> str:
    match = re.search(r"```yaml\n(.*?)```", doc or "", re.S)
    assert match, "the docstring needs a ```yaml example"
    return textwrap.dedent(match.group(1))


def evidence_section() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    return text[text.index("evidence:\n") : text.index("\nrules:\n")] + "\n"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_docstring_example_compiles(kind: type) -> None:
    example = yaml_block(kind.__doc__)
    text = (
        "pack: doc-example\nversion: 1\ntitle: 示例\n"
        + evidence_section()
        + "rules:\n"
        + textwrap.indent(example, "  ")
    )
    pack = load_pack_text(text, file=f"{kind.__name__}.yaml")
    (plan,) = pack.plans
    assert plan.rule.kind == kind.model_fields["kind"].annotation.__args__[0]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_the_engine_runs_every_kind(kind: type) -> None:
    """Each kind's query runs on DuckDB, on empty tables and over one inspected year."""
    text = (
        "pack: doc-example\nversion: 1\ntitle: 示例\n"
        + evidence_section()
        + "rules:\n"
        + textwrap.indent(yaml_block(kind.__doc__), "  ")
    )
    pack = load_pack_text(text)
    con = connect()
    create_org_tables(con)
    table = evaluate_table(pack, con, Period.parse("2026"))
    assert table.schema == FINDINGS_SCHEMA
    con.close()


def test_example_pack_uses_every_kind() -> None:
    data = load_path(EXAMPLE).data
    assert {rule["kind"] for rule in data["rules"]} == {"duty", "check", "window"}
