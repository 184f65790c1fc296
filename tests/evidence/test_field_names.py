"""Declared field names never collide with the store's own columns on the way to the engine.

The cache once typed the store's JSON with ``SELECT *, unnest(json_transform(fields, …))``, so a
declared field named ``id`` was silently replaced by the record id: ``match: {id: decision_id}``
then found nothing through the store, while pack tests (which read fixtures) passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Location
from evidence import frames, store
from evidence.cache import CACHE_FORMAT, cache_root
from evidence.loader import load_frames
from evidence.sources import TypedRecord
from evidence.types import EvidenceType
from evidence.values import coerce
from models.org import Person, PostAssignment, PostType, Unit
from rules.compiler import CompiledPack, load_pack_text
from rules.engine import evaluate
from rules.findings import Finding, Verdict
from rules.fixtures import fixture_connection
from rules.periods import Period
from rules.schema import OrgFixture

# Field names that are the store's column names (id, natural_key, fields, supersedes_id) and
# a DuckDB function name (unnest): none of them may change what a rule sees.
PACK = """
pack: names
version: 1
title: 字段名 / field names
evidence:
  decision:
    fields: {id: str, unit: unit, decided_on: date, fields: str}
    key: [id]
  procurement:
    fields:
      natural_key: str
      unit: unit
      amount: decimal
      contract_date: date
      decision_id: str
      supersedes_id: int
      unnest: str
    key: [natural_key]
rules:
  - id: major-procurement-decision
    kind: check
    title: 大额采购须事先集体决策
    side: business
    severity: high
    subject: {record: procurement}
    bearer: {post: 部门负责人, up: true}
    date_field: contract_date
    period: month
    lookups:
      decision: {evidence: decision, match: {id: decision_id}, where: "fields <> '作废'"}
    when: "amount >= 1000000 AND supersedes_id = 0 AND unnest = 'x'"
    require: "has(decision) AND decision.decided_on <= contract_date"
"""

ORG = OrgFixture.model_validate(
    {
        "units": [
            {"code": "C", "name": "集团", "kind": "company"},
            {"code": "D1", "name": "采购部", "kind": "department", "parent": "C"},
        ],
        "people": [{"code": "P1", "name": "张三", "unit": "D1"}],
        "posts": [{"person": "P1", "post": "部门负责人", "unit": "D1", "since": "2020-01-01"}],
    }
)

DECISIONS = [
    {"id": "JC-1", "unit": "D1", "decided_on": "2026-02-20", "fields": "有效"},
    {"id": "JC-2", "unit": "D1", "decided_on": "2026-03-20", "fields": "有效"},
    {"id": "JC-3", "unit": "D1", "decided_on": "2026-02-01", "fields": "作废"},
]
PROCUREMENTS = [
    # passes: decided before signing
    {
        "natural_key": "HT-1",
        "decision_id": "JC-1",
        "amount": "1200000",
        "contract_date": "2026-03-05",
    },
    # fails: decided after signing
    {
        "natural_key": "HT-2",
        "decision_id": "JC-2",
        "amount": "2000000",
        "contract_date": "2026-03-06",
    },
    # fails: no such decision
    {
        "natural_key": "HT-3",
        "decision_id": "JC-9",
        "amount": "1500000",
        "contract_date": "2026-03-07",
    },
    # fails: the decision was voided (lookup `where` on a field named `fields`)
    {
        "natural_key": "HT-4",
        "decision_id": "JC-3",
        "amount": "3000000",
        "contract_date": "2026-03-08",
    },
    # not selected: below the threshold
    {"natural_key": "HT-5", "decision_id": "", "amount": "90000", "contract_date": "2026-03-09"},
]
for _row in PROCUREMENTS:
    _row.update(unit="D1", supersedes_id="0", unnest="x")


def typed(etype: EvidenceType, rows: list[dict[str, Any]]) -> list[TypedRecord]:
    return [
        TypedRecord(
            fields={name: coerce(row.get(name), t) for name, t in etype.fields.items()},
            raw=row,
            location=Location(file="t"),
        )
        for row in rows
    ]


def seed_org(session: Session, org: OrgFixture) -> None:
    for unit in org.units:
        session.add(Unit(code=unit.code, name=unit.name, kind=unit.kind, parent_code=unit.parent))
        session.flush()
    for person in org.people:
        session.add(Person(code=person.code, name=person.name, unit_code=person.unit))
    session.add_all(PostType(name=name) for name in {p.post for p in org.posts})
    session.flush()
    for post in org.posts:
        session.add(
            PostAssignment(
                person_code=post.person,
                post_name=post.post,
                unit_code=post.unit,
                since=post.since,
                until=post.until,
            )
        )
    session.commit()


def comparable(findings: list[Finding]) -> list[tuple[Any, ...]]:
    """Everything but the record ids, which the store and the fixtures number differently."""
    return [
        (f.rule_id, f.period, f.subject_id, f.verdict, f.bearer_person, f.explanation)
        for f in findings
    ]


def test_store_path_agrees_with_fixtures_for_fields_named_like_store_columns(
    engine: sa.Engine, tmp_path: Path
) -> None:
    pack: CompiledPack = load_pack_text(PACK)
    march = Period.parse("2026-03")
    evidence: dict[str, list[Any]] = {"decision": [DECISIONS], "procurement": [PROCUREMENTS]}
    con = fixture_connection(pack, ORG, evidence, tmp_path)
    expected = evaluate(pack, con, march)
    con.close()
    # The fixture path judges as intended: the test is not vacuous.
    assert {(f.subject_id, f.verdict) for f in expected} == {
        ("HT-1", Verdict.passed),
        ("HT-2", Verdict.failed),
        ("HT-3", Verdict.failed),
        ("HT-4", Verdict.failed),
    }

    with Session(engine) as session:
        seed_org(session, ORG)
        for name, rows in (("decision", DECISIONS), ("procurement", PROCUREMENTS)):
            etype = pack.pack.evidence[name]
            store.ingest(
                session,
                type_name=name,
                evidence_type=etype,
                records=typed(etype, rows),
                source_name="t",
            )
        session.commit()
        ids = {r.natural_key: r.id for r in store.list_current(session, type_name="decision")}

    for load in ("cold", "warm"):
        con = frames.connect()
        report = load_frames(engine, types=pack.pack.evidence, con=con, cache_dir=tmp_path)
        assert report.types["decision"].cache_rebuilt is (load == "cold")
        assert dict(con.execute("SELECT id, _id FROM ev_decision").fetchall()) == ids
        found = evaluate(pack, con, march)
        con.close()
        assert comparable(found) == comparable(expected), load
        cited = {f.subject_id: f.evidence_ids for f in found}
        assert cited["HT-1"][1:] == [ids["JC-1"]]  # the decision the lookup found


@pytest.mark.parametrize("name", ["_id", "_key", "_supersedes", "_unit", "_hit"])
def test_reserved_field_names_are_refused_with_a_hint(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EvidenceType.model_validate({"fields": {"no": "str", name: "str"}})
    (error,) = caught.value.errors()
    assert error["loc"] == ("fields", name, "[key]")
    assert "保留" in error["msg"] and "reserved" in error["msg"]
    assert error["ctx"]["hint"]


def test_a_reserved_field_name_in_a_pack_is_located_at_its_key() -> None:
    text = PACK.replace("fields: {id: str,", "fields: {_id: str, id: str,")
    with pytest.raises(UserError) as caught:
        load_pack_text(text, file="names.yaml")
    problem = caught.value.problems[0]
    assert problem.field == "evidence.decision.fields._id"
    assert problem.location == Location(file="names.yaml", line=7, column=14)
    assert problem.hint and problem.hint.startswith("rename it, e.g. 'id'")


def test_a_cache_written_in_the_old_layout_is_rebuilt(
    sqlite_engine: sa.Engine, tmp_path: Path
) -> None:
    """Caches of format 1 hold the record id in a field named ``id``: never read them."""
    pack = load_pack_text(PACK)
    etype = pack.pack.evidence["decision"]
    with Session(sqlite_engine) as session:
        store.ingest(
            session,
            type_name="decision",
            evidence_type=etype,
            records=typed(etype, DECISIONS),
            source_name="t",
        )
        session.commit()
    types = {"decision": etype}
    load_frames(sqlite_engine, types=types, con=frames.connect(), cache_dir=tmp_path)
    manifest = cache_root(sqlite_engine, tmp_path) / "decision.json"
    data = json.loads(manifest.read_text())
    assert data["format"] == CACHE_FORMAT
    del data["format"]  # as format 1 wrote it
    manifest.write_text(json.dumps(data))
    con = frames.connect()
    report = load_frames(sqlite_engine, types=types, con=con, cache_dir=tmp_path)
    assert report.types["decision"].cache_rebuilt
    assert sorted(con.execute("SELECT id FROM ev_decision").fetchall()) == [
        ("JC-1",),
        ("JC-2",),
        ("JC-3",),
    ]
