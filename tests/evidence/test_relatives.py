"""Declared relatives from personal-matters reports stored as evidence (recusal, B12)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.settings import Settings
from evidence.gather import gather
from evidence.relatives import StoredRelatives
from evidence.sources.file import FileSource
from evidence.types import EvidenceType
from models.org import Person, Unit
from models.users import MutualRelativesLookup
from rules.compiler import load_pack

PACKS = Path(__file__).parents[2] / "rules" / "packs"
ON = dt.date(2026, 3, 31)
HEADER = "干部工号,干部姓名,姓名,与本人关系,工作单位,出生年月\n"


def integrity_relative() -> EvidenceType:
    """The sample integrity pack's declaration type, as shipped."""
    return load_pack(PACKS / "integrity.yaml").pack.evidence["relative"]


def seed_people(session: Session) -> None:
    session.add(Unit(code="C", name="集团", kind="company", parent_code=None))
    session.flush()
    for code, name in [
        ("P1", "张纪检"),
        ("P2", "李书记"),
        ("P3", "王芳"),
        ("P4", "王芳"),  # a namesake of P3
        ("P5", "赵会计"),
    ]:
        session.add(Person(code=code, name=name, unit_code="C"))
    session.commit()


def gather_csv(
    session: Session, tmp_path: Path, etype: EvidenceType, rows: str, name: str = "family.csv"
) -> None:
    """Store declarations the way production does: the pack's file source, Chinese headers."""
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    assert isinstance(etype.source, FileSource)
    source = etype.source.model_copy(update={"path": path})
    report = gather(session, type_name="relative", evidence_type=etype, source=source)
    assert not [p for p in report.problems if p.severity == "error"], report.problems
    session.commit()


def lookup(**overrides: Any) -> StoredRelatives:
    found = StoredRelatives.from_settings(Settings(**overrides))
    assert found is not None
    return found


def test_names_in_the_sample_pack_declarations_resolve_to_people(
    engine: sa.Engine, tmp_path: Path
) -> None:
    relatives = lookup()  # the defaults match the integrity pack's `relative` type
    assert isinstance(relatives, MutualRelativesLookup)
    with Session(engine) as session:
        seed_people(session)
        assert relatives.check(session)[0].severity == "warning"  # nothing stored yet
        assert relatives(session, person_code="P1", on=ON) == set()
        gather_csv(
            session,
            tmp_path,
            integrity_relative(),
            "P1,张纪检,李书记,配偶,本公司\n"
            "P1,张纪检,王芳,子女,本公司\n"  # two people are called 王芳: both count
            "P1,张纪检,张纪检,父亲,退休\n"  # a namesake of the declarant is not themself
            "P5,赵会计,刘某,配偶,个体经营\n",  # not an employee: nobody to recuse
        )
        assert relatives.check(session) == []
        assert relatives(session, person_code="P1", on=ON) == {"P2", "P3", "P4"}
        assert relatives(session, person_code="P5", on=ON) == set()
        assert relatives(session, person_code="P2", on=ON) == set()
        # The other direction: who declared this person.
        assert relatives.declared_by(session, person_code="P2", on=ON) == {"P1"}
        assert relatives.declared_by(session, person_code="P4", on=ON) == {"P1"}
        assert relatives.declared_by(session, person_code="P1", on=ON) == set()


def test_new_and_changed_declarations_count_at_once(engine: sa.Engine, tmp_path: Path) -> None:
    relatives = lookup()
    etype = integrity_relative()
    with Session(engine) as session:
        seed_people(session)
        gather_csv(session, tmp_path, etype, "P1,张纪检,李书记,配偶,本公司\n")
        assert relatives(session, person_code="P1", on=ON) == {"P2"}
        # A new report: another relative, and the spouse's employer changed (a new version).
        gather_csv(
            session,
            tmp_path,
            etype,
            "P1,张纪检,李书记,配偶,外单位\nP1,张纪检,赵会计,子女,本公司\n",
            name="family-2.csv",
        )
    with Session(engine) as session:
        assert relatives(session, person_code="P1", on=ON) == {"P2", "P5"}


def test_a_person_code_field_is_used_before_the_name(engine: sa.Engine) -> None:
    etype = EvidenceType.model_validate(
        {
            "title": "个人有关事项报告：家庭成员",
            "fields": {"declarant": "person", "kin": "person", "kin_name": "str"},
            "key": ["declarant", "kin_name"],
            "source": {"kind": "manual"},
        }
    )
    relatives = lookup(
        relatives_type="family",
        relatives_declarant_field="declarant",
        relatives_person_field="kin",
        relatives_name_field="kin_name",
    )
    from evidence import manual

    with Session(engine) as session:
        seed_people(session)
        manual.submit(
            session,
            type_name="family",
            evidence_type=etype,
            records=[
                {"declarant": "P1", "kin": "P3", "kin_name": "王芳"},  # the code decides
                {"declarant": "P1", "kin": "", "kin_name": "赵会计"},  # no code: the name
            ],
            submitted_by="hr",
        )
        session.commit()
        assert relatives.check(session) == []
        assert relatives(session, person_code="P1", on=ON) == {"P3", "P5"}
        assert relatives.declared_by(session, person_code="P3", on=ON) == {"P1"}
        assert relatives.declared_by(session, person_code="P4", on=ON) == set()


def test_configuration_is_checked_against_the_stored_type(
    sqlite_engine: sa.Engine, tmp_path: Path
) -> None:
    with Session(sqlite_engine) as session:
        seed_people(session)
        gather_csv(session, tmp_path, integrity_relative(), "P1,张纪检,李书记,配偶,本公司\n")
        wrong = lookup(relatives_declarant_field="cadre_no", relatives_person_field="relation")
        with pytest.raises(UserError) as caught:
            wrong.check(session)
    problems = caught.value.problems
    assert [p.field for p in problems] == ["relatives_declarant_field"]
    assert "has no field 'cadre_no'" in problems[0].message
    assert problems[0].hint == "fields: cadre, employer, name, relation"
    with pytest.raises(UserError, match="relative's person code or name"):
        lookup(relatives_name_field="")
    assert StoredRelatives.from_settings(Settings(relatives_type="")) is None


def test_a_wrongly_typed_field_is_refused(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    with Session(sqlite_engine) as session:
        seed_people(session)
        gather_csv(session, tmp_path, integrity_relative(), "P1,张纪检,李书记,配偶,本公司\n")
        with pytest.raises(UserError, match="field 'cadre' is person, expected str"):
            lookup(relatives_name_field="cadre").check(session)
