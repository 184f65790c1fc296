"""The store: no duplicates, versions on change, provenance, watermarks (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError, UserError
from dualduty.problems import Location
from evidence import store
from evidence.gather import gather
from evidence.sources import FileSource, TypedRecord
from evidence.types import EvidenceType
from models.evidence import EvidenceRecord

T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def rec(unit: str, held_on: str, attendance: int, line: int = 2) -> TypedRecord:
    return TypedRecord(
        fields={
            "unit": unit,
            "kind": "支委会",
            "held_on": dt.date.fromisoformat(held_on),
            "attendance": attendance,
        },
        raw={"单位编码": unit, "召开日期": held_on, "应到人数": str(attendance)},
        location=Location(file="m.csv", line=line),
    )


def put(
    session: Session, meeting_type: EvidenceType, records: list[TypedRecord]
) -> store.IngestReport:
    return store.ingest(
        session,
        type_name="meeting",
        evidence_type=meeting_type,
        records=records,
        source_name="meetings-file",
        source_kind="file",
        fetched_at=T0,
    )


def all_rows(session: Session) -> list[EvidenceRecord]:
    return list(session.scalars(sa.select(EvidenceRecord).order_by(EvidenceRecord.id)))


def test_same_content_again_is_not_duplicated(session: Session, meeting_type: EvidenceType) -> None:
    first = put(session, meeting_type, [rec("B01", "2026-03-05", 7), rec("B02", "2026-03-06", 9)])
    session.commit()
    again = put(session, meeting_type, [rec("B02", "2026-03-06", 9), rec("B01", "2026-03-05", 7)])
    session.commit()
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    assert (again.new, again.changed, again.unchanged, again.ids) == (0, 0, 2, [])
    rows = all_rows(session)
    assert len(rows) == 2
    assert rows[0].natural_key == "B01/支委会/2026-03-05"
    assert rows[0].fields == {
        "unit": "B01",
        "kind": "支委会",
        "held_on": "2026-03-05",
        "attendance": 7,
    }
    assert rows[0].raw["单位编码"] == "B01"
    assert (rows[0].source_name, rows[0].source_kind, rows[0].location) == (
        "meetings-file",
        "file",
        "m.csv:2",
    )
    assert rows[0].fetched_at == T0
    assert rows[0].unit_code == "B01"
    assert len(rows[0].content_hash) == 64


def test_changed_content_makes_a_new_version(session: Session, meeting_type: EvidenceType) -> None:
    put(session, meeting_type, [rec("B01", "2026-03-05", 7)])
    session.commit()
    report = put(session, meeting_type, [rec("B01", "2026-03-05", 8)])
    session.commit()
    assert (report.new, report.changed, report.unchanged) == (0, 1, 0)
    old, new = all_rows(session)
    assert (old.version, old.is_current, old.fields["attendance"]) == (1, False, 7)
    assert (new.version, new.is_current, new.fields["attendance"]) == (2, True, 8)
    assert new.supersedes_id == old.id and old.superseded_at is not None
    assert report.ids == [new.id]
    assert [r.version for r in store.versions(session, record=old)] == [1, 2]
    # Going back to the first content is a third version, not a resurrection of the first.
    back = put(session, meeting_type, [rec("B01", "2026-03-05", 7)])
    session.commit()
    assert back.changed == 1
    assert [(r.version, r.is_current) for r in all_rows(session)] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert store.count_current(session, type_name="meeting") == 1


def test_the_same_key_twice_in_one_batch(session: Session, meeting_type: EvidenceType) -> None:
    report = put(
        session, meeting_type, [rec("B01", "2026-03-05", 7, 2), rec("B01", "2026-03-05", 9, 5)]
    )
    assert (report.new, report.duplicates) == (1, 1)
    (problem,) = report.problems
    assert problem.severity == "warning" and "m.csv:5" in problem.message
    assert [r.fields["attendance"] for r in all_rows(session)] == [9]


def test_equal_values_in_other_spellings_are_unchanged(session: Session) -> None:
    kind = EvidenceType.model_validate(
        {"fields": {"no": "str", "amount": "decimal", "at": "datetime"}, "key": ["no"]}
    )

    def one(amount: Decimal, at: dt.datetime) -> TypedRecord:
        return TypedRecord(
            fields={"no": "C1", "amount": amount, "at": at}, raw={}, location=Location()
        )

    store.ingest(
        session,
        type_name="contract",
        evidence_type=kind,
        records=[one(Decimal("1200000.00"), dt.datetime(2026, 3, 1, 9))],
        source_name="erp",
        source_kind="sql",
    )
    again = store.ingest(
        session,
        type_name="contract",
        evidence_type=kind,
        records=[
            one(Decimal("1.2E+6"), dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC))
        ],  # 09:00 in Beijing
        source_name="erp",
        source_kind="sql",
    )
    assert again.unchanged == 1
    assert all_rows(session)[0].fields == {
        "no": "C1",
        "amount": "1200000",
        "at": "2026-03-01 09:00:00",
    }


def test_a_failed_batch_leaves_nothing(engine: sa.Engine, meeting_type: EvidenceType) -> None:
    with Session(engine) as session:
        put(session, meeting_type, [rec("B01", "2026-03-05", 7)])
        session.commit()
    with Session(engine) as session, pytest.raises(sa.exc.IntegrityError):
        put(session, meeting_type, [rec("B01", "2026-03-05", 8), rec("B02", "2026-03-05", 1)])
        # Another writer's row for the same key: the second current version violates the index.
        session.execute(
            sa.insert(EvidenceRecord),
            [
                {
                    "type_name": "meeting",
                    "natural_key": "x",
                    "key_hash": all_rows(session)[-1].key_hash,
                    "version": 99,
                    "content_hash": "0" * 64,
                    "fields": {},
                    "raw": {},
                    "source_name": "x",
                    "source_kind": "x",
                    "fetched_at": T0,
                    "is_current": True,
                }
            ],
        )
    with Session(engine) as session:
        rows = all_rows(session)
        assert [(r.natural_key, r.version, r.is_current) for r in rows] == [
            ("B01/支委会/2026-03-05", 1, True)
        ]


def test_watermarks_round_trip(session: Session) -> None:
    assert store.get_watermark(session, source_name="erp") is None
    for value in [42, Decimal("3.50"), "A-17", dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 8, 30)]:
        store.set_watermark(session, source_name="erp", value=value)
        session.commit()
        assert store.get_watermark(session, source_name="erp") == value


def test_reading_helpers(session: Session, meeting_type: EvidenceType) -> None:
    put(session, meeting_type, [rec("B01", "2026-03-05", 7), rec("B02", "2026-03-06", 9)])
    assert [r.unit_code for r in store.list_current(session, type_name="meeting")] == ["B02", "B01"]
    assert [
        r.unit_code for r in store.list_current(session, type_name="meeting", unit_code="B01")
    ] == ["B01"]
    assert store.declared_type(session, type_name="meeting") == meeting_type
    with pytest.raises(NotFoundError, match="#999"):
        store.get_or_raise(session, record_id=999)
    with pytest.raises(UserError, match="invalid evidence type name"):
        store.ingest(
            session,
            type_name="会议",
            evidence_type=meeting_type,
            records=[],
            source_name="x",
            source_kind="x",
        )


def test_gather_a_csv_twice(session: Session, meeting_type: EvidenceType, tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text(
        "单位编码,会议类型,召开日期,应到人数\nB01,支委会,2026-03-05,7\nB02,支委会,2026-03-06,x\n",
        encoding="gbk",
    )
    source = FileSource(
        path=Path("m.csv"),
        map={
            "unit": "单位编码",
            "kind": "会议类型",
            "held_on": "召开日期",
            "attendance": "应到人数",
        },
        on_error="skip",
    )
    first = gather(
        session, type_name="meeting", evidence_type=meeting_type, source=source, base_dir=tmp_path
    )
    session.commit()
    assert (first.fetched, first.skipped, first.new, first.source_name) == (2, 1, 1, "meeting")
    assert [str(p.location) for p in first.problems] == [f"{csv}:3"]
    csv.write_text(
        "单位编码,会议类型,召开日期,应到人数\nB01,支委会,2026-03-05,7\nB02,支委会,2026-03-06,6\n",
        encoding="gbk",
    )
    second = gather(
        session, type_name="meeting", evidence_type=meeting_type, source=source, base_dir=tmp_path
    )
    session.commit()
    assert (second.new, second.unchanged, second.skipped, second.problems) == (1, 1, 0, [])


def test_gather_with_a_failing_policy_writes_nothing(
    session: Session, meeting_type: EvidenceType, tmp_path: Path
) -> None:
    (tmp_path / "m.csv").write_text(
        "unit,kind,held_on,attendance\nB01,支委会,2026-03-05,7\nB02,支委会,bad,6\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="not a date"):
        gather(
            session,
            type_name="meeting",
            evidence_type=meeting_type,
            source=FileSource(path=Path("m.csv")),
            base_dir=tmp_path,
        )
    assert all_rows(session) == []
    with pytest.raises(UserError, match="declares no source"):
        gather(session, type_name="meeting", evidence_type=meeting_type)
