"""Filling an evaluation connection from fixture files: the organisation and evidence records
for pack tests and for ``dualduty rules explain --evidence DIR``.

Values go through ``evidence.values.coerce`` and keys through ``evidence.store.natural_key``, so a
fixture record has the same typed values and the same ``_key`` as the store would give it. Every
bad value is reported with its file, line and column name, all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
from pydantic import ValidationError

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from evidence.frames import connect, create_evidence_table, create_org_tables, insert_rows
from evidence.store import canonical_fields, natural_key
from evidence.tabular import Row, iter_files, read_table
from evidence.types import EvidenceType
from evidence.values import BadValue, coerce
from rules.compiler import CompiledPack
from rules.diagnostics import did_you_mean, validation_problems
from rules.safeyaml import load_path
from rules.schema import EvidenceFixture, OrgFixture


def load_org_file(path: Path) -> OrgFixture:
    doc = load_path(path)
    try:
        return OrgFixture.model_validate(doc.data)
    except ValidationError as error:
        raise UserError(validation_problems(error, doc, OrgFixture)) from None


def insert_org(con: duckdb.DuckDBPyConnection, org: OrgFixture) -> None:
    create_org_tables(con)
    con.executemany(
        "INSERT INTO org_units VALUES (?, ?, ?, ?)",
        [[u.code, u.name, u.kind, u.parent] for u in org.units],
    )
    if org.people:
        con.executemany(
            "INSERT INTO org_people VALUES (?, ?, ?, ?, ?)",
            [[p.code, p.name, p.unit, p.party_member, p.tags] for p in org.people],
        )
    if org.posts:
        con.executemany(
            "INSERT INTO org_posts VALUES (?, ?, ?, ?, ?)",
            [[p.person, p.post, p.unit, p.since, p.until] for p in org.posts],
        )


def typed_rows(
    type_name: str,
    etype: EvidenceType,
    rows: Iterable[tuple[Mapping[str, Any], Location]],
    first_id: int,
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Coerce raw rows to the declared field types; assign ``_id`` (unless given) and ``_key``."""
    result: list[dict[str, Any]] = []
    problems: list[Problem] = []
    next_id = first_id
    for raw, location in rows:
        unknown = [name for name in raw if name not in etype.fields and name not in {"_id", "_key"}]
        for name in unknown:
            problems.append(
                Problem(
                    message=f"{type_name} 没有字段 / {type_name} has no field '{name}'",
                    location=location,
                    field=name,
                    hint=did_you_mean(name, etype.fields) or f"fields: {', '.join(etype.fields)}",
                )
            )
        record: dict[str, Any] = {}
        for name, field_type in etype.fields.items():
            try:
                record[name] = coerce(raw.get(name), field_type)
            except BadValue as error:
                problems.append(Problem(message=str(error), location=location, field=name))
        try:
            record_id = int(raw["_id"]) if raw.get("_id") not in (None, "") else next_id
        except (TypeError, ValueError):
            problems.append(
                Problem(message="_id 应为整数 / _id must be an integer", location=location)
            )
            record_id = next_id
        next_id = max(next_id, record_id) + 1
        record["_id"] = record_id
        record["_key"] = raw.get("_key") or natural_key(canonical_fields(record, etype), etype)
        result.append(record)
    return result, problems


def fixture_rows(
    source: EvidenceFixture, base_dir: Path, label: str
) -> list[tuple[Mapping[str, Any], Location]]:
    """Raw rows of a fixture: a file or folder (relative to ``base_dir``) or inline records."""
    if isinstance(source, list):
        return [(row, Location(file=f"{label}[{index}]")) for index, row in enumerate(source)]
    path = Path(source)
    if not path.is_absolute():
        path = base_dir / path
    rows: list[tuple[Mapping[str, Any], Location]] = []
    for file in iter_files(path):
        table = read_table(file)
        rows.extend((_plain(row), row.location) for row in table.rows)
    return rows


def _plain(row: Row) -> dict[str, Any]:
    return dict(row.values)


def load_evidence(
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    fixtures: Mapping[str, list[EvidenceFixture]],
    base_dir: Path,
) -> None:
    """Create every evidence table of the pack and insert the fixtures' records."""
    problems: list[Problem] = []
    next_id = 1
    for name, declared in pack.pack.evidence.items():
        create_evidence_table(con, name, declared.fields)
    for name, sources in fixtures.items():
        etype = pack.pack.evidence.get(name)
        if etype is None:
            problems.append(
                Problem(
                    message=f"未声明的证据类型 / undeclared evidence type '{name}'",
                    hint=did_you_mean(name, pack.pack.evidence),
                )
            )
            continue
        for source in sources:
            raw = fixture_rows(source, base_dir, f"evidence.{name}")
            rows, found = typed_rows(name, etype, raw, next_id)
            problems.extend(found)
            if rows:
                next_id = max(r["_id"] for r in rows) + 1
                insert_rows(con, name, etype.fields, rows)
    if problems:
        raise UserError(problems)


def evidence_dir_fixtures(pack: CompiledPack, folder: Path) -> dict[str, list[EvidenceFixture]]:
    """``--evidence DIR``: files named after the evidence types (``meeting.csv``, ``meeting/``)."""
    if not folder.is_dir():
        raise UserError(
            [Problem(message="证据目录不存在 / not a folder", location=Location(file=str(folder)))]
        )
    found: dict[str, list[EvidenceFixture]] = {}
    for child in sorted(folder.iterdir()):
        name = child.stem if child.is_file() else child.name
        if name in pack.pack.evidence:
            found.setdefault(name, []).append(str(child.resolve()))
    return found


def fixture_connection(
    pack: CompiledPack,
    org: OrgFixture,
    evidence: Mapping[str, list[EvidenceFixture]],
    base_dir: Path,
) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection holding ``org`` and the evidence fixtures."""
    con = connect()
    insert_org(con, org)
    load_evidence(con, pack, evidence, base_dir)
    return con
