"""Declared relatives for recusal (回避), read from personal-matters reports in the evidence store.

Cadres declare their family members in the personal-matters report (个人有关事项报告, catalogue
B12); HR systems export it and a rule pack stores it as evidence (the sample integrity pack's
``relative`` type: ``{cadre: person, name: str, relation: str, employer: str}``). This module
answers ``models.users.RelativesLookup`` from those stored records, so an inspector whose declared
relative is a case's subject or bearer is recused, and it answers the other direction too
(``declared_by``): a subject who declared the inspector as a relative also recuses them.

Which type and fields hold a declaration is configuration (``Settings.relatives_*``): the
declarant's person code, and the relative's person code and/or name. A relative given by name
is every person of the organisation with exactly that name: a namesake is recused too, which
routes the case to a colleague (over-recusal is the safe error; give the relative's 工号 to
avoid it).

Only the current version of each record counts, on every date: a report states a family as it
is. The records of the type are indexed in memory and re-read only when the store gained rows
of it (the newest row's id and hash are compared on each call: one indexed query).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Problem
from dualduty.settings import Settings
from evidence.store import declared_type
from evidence.values import FieldType
from models.evidence import EvidenceRecord
from models.org import Person

CODE_TYPES = {FieldType.person, FieldType.str}


@dataclass
class _Index:
    """Current declarations, both ways, by code and by name."""

    stamp: tuple[int, str] | None = None  # newest row of the type: (id, content hash)
    codes: dict[str, set[str]] = field(default_factory=dict)  # declarant -> relatives' codes
    names: dict[str, set[str]] = field(default_factory=dict)  # declarant -> relatives' names
    by_code: dict[str, set[str]] = field(default_factory=dict)  # relative's code -> declarants
    by_name: dict[str, set[str]] = field(default_factory=dict)  # relative's name -> declarants


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class StoredRelatives:
    """``RelativesLookup`` over personal-matters declarations stored as evidence.

    One instance serves a whole console (thread-safe); build it with ``from_settings``.
    """

    def __init__(
        self,
        *,
        type_name: str,
        declarant_field: str,
        person_field: str | None = None,
        name_field: str | None = None,
    ) -> None:
        if not person_field and not name_field:
            raise UserError(
                [
                    Problem(
                        message="亲属申报须指明亲属的工号或姓名字段 / a relatives declaration "
                        "needs the field of the relative's person code or name",
                        field="relatives_person_field, relatives_name_field",
                        hint="set DUALDUTY_RELATIVES_NAME_FIELD (e.g. name) and/or "
                        "DUALDUTY_RELATIVES_PERSON_FIELD",
                    )
                ]
            )
        self.type_name = type_name
        self.declarant_field = declarant_field
        self.person_field = person_field or None
        self.name_field = name_field or None
        self._index = _Index()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> StoredRelatives | None:
        """The configured lookup, or None when ``relatives_type`` is empty (switched off)."""
        if not settings.relatives_type:
            return None
        return cls(
            type_name=settings.relatives_type,
            declarant_field=settings.relatives_declarant_field,
            person_field=settings.relatives_person_field,
            name_field=settings.relatives_name_field,
        )

    # --- checking the configuration ------------------------------------------------------

    def check(self, session: Session) -> list[Problem]:
        """Problems with the configuration against the type's stored declaration.

        Errors (a configured field the type does not have, or of the wrong type) raise
        ``UserError``; a type never stored yet is a warning: nothing is declared until it is.
        """
        etype = declared_type(session, type_name=self.type_name)
        if etype is None:
            return [
                Problem(
                    message=f"证据库中尚无亲属申报（类型 {self.type_name}），按亲属回避暂不生效 / "
                    f"no declarations of type {self.type_name!r} stored yet: recusal by "
                    "declared relatives finds nothing until they are gathered",
                    field="relatives_type",
                    hint="dualduty evidence gather --pack rules/packs/integrity.yaml "
                    "--type relative",
                    severity="warning",
                )
            ]
        problems: list[Problem] = []
        wanted = [
            ("relatives_declarant_field", self.declarant_field, CODE_TYPES),
            ("relatives_person_field", self.person_field, CODE_TYPES),
            ("relatives_name_field", self.name_field, {FieldType.str}),
        ]
        for setting, name, types in wanted:
            if name is None:
                continue
            actual = etype.fields.get(name)
            if actual is None:
                problems.append(
                    Problem(
                        message=f"证据类型 {self.type_name} 没有字段 {name} / evidence type "
                        f"{self.type_name!r} has no field {name!r}",
                        field=setting,
                        hint=f"fields: {', '.join(etype.fields)}",
                    )
                )
            elif actual not in types:
                problems.append(
                    Problem(
                        message=f"字段 {name} 的类型是 {actual}，应为 "
                        f"{' / '.join(sorted(types))} / field {name!r} is {actual}, expected "
                        f"{' or '.join(sorted(types))}",
                        field=setting,
                    )
                )
        if problems:
            raise UserError(problems)
        return []

    # --- RelativesLookup ---------------------------------------------------------------

    def __call__(self, session: Session, *, person_code: str, on: dt.date) -> set[str]:
        """Person codes of the relatives ``person_code`` declared (names resolved to people)."""
        index = self._current(session)
        found = set(index.codes.get(person_code, ()))
        found |= self._people_named(session, index.names.get(person_code, ()))
        found.discard(person_code)
        return found

    def declared_by(self, session: Session, *, person_code: str, on: dt.date) -> set[str]:
        """Person codes of those who declared ``person_code`` as their relative."""
        index = self._current(session)
        found = set(index.by_code.get(person_code, ()))
        if index.by_name:
            name = session.scalar(sa.select(Person.name).where(Person.code == person_code))
            if name and name.strip():
                found |= index.by_name.get(name.strip(), set())
        found.discard(person_code)
        return found

    # --- the index -----------------------------------------------------------------------

    def _people_named(self, session: Session, names: Iterable[str]) -> set[str]:
        wanted = sorted(names)
        if not wanted:
            return set()
        return set(session.scalars(sa.select(Person.code).where(Person.name.in_(wanted))))

    def _stamp(self, session: Session) -> tuple[int, str] | None:
        # Rows are insert-only and a type's ids grow in commit order (evidence.store), so the
        # newest row changes whenever the current declarations do; its hash tells a rebuilt
        # database with the same ids apart.
        row = session.execute(
            sa.select(EvidenceRecord.id, EvidenceRecord.content_hash)
            .where(EvidenceRecord.type_name == self.type_name)
            .order_by(EvidenceRecord.id.desc())
            .limit(1)
        ).first()
        return None if row is None else (row.id, row.content_hash)

    def _current(self, session: Session) -> _Index:
        stamp = self._stamp(session)
        with self._lock:
            if stamp != self._index.stamp:
                self._index = self._build(session, stamp)
            return self._index

    def _build(self, session: Session, stamp: tuple[int, str] | None) -> _Index:
        index = _Index(stamp=stamp)
        if stamp is None:
            return index
        rows = session.scalars(
            sa.select(EvidenceRecord.fields).where(
                EvidenceRecord.type_name == self.type_name, EvidenceRecord.is_current.is_(True)
            )
        )
        for fields in rows:
            declarant = _text(fields.get(self.declarant_field))
            if declarant is None:
                continue
            code = _text(fields.get(self.person_field)) if self.person_field else None
            name = _text(fields.get(self.name_field)) if self.name_field else None
            if code is not None:
                index.codes.setdefault(declarant, set()).add(code)
                index.by_code.setdefault(code, set()).add(declarant)
            elif name is not None:  # a code, when given, is the better identity
                index.names.setdefault(declarant, set()).add(name)
                index.by_name.setdefault(name, set()).add(declarant)
        return index
