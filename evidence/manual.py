"""Manual submission: records people enter (CLI today, the console's form later).

Submitted values are text as typed ("2026-03-05", "是", "1,200"), typed through the same
``coerce`` as every other source, so a bad value gets the same message. Manual records always
fail as a whole: a person fixes the form and submits again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from evidence.sources.base import RawRecord, type_records
from evidence.sources.manual import ManualSource
from evidence.store import IngestReport, ingest
from evidence.types import EvidenceType


def submit(
    session: Session,
    *,
    type_name: str,
    evidence_type: EvidenceType,
    records: Sequence[Mapping[str, Any]],
    submitted_by: str,
    origin: str = "manual",
    locations: Sequence[Location] | None = None,
    fetched_at: dt.datetime | None = None,
) -> IngestReport:
    """Type and store hand-entered records; any bad value or unknown field rejects them all.

    ``origin`` names where they were entered (``cli``, ``console``, a file name);
    ``locations`` (one per record) point problems at a file line when records came from a file.
    """
    problems: list[Problem] = []
    raws: list[RawRecord] = []
    source = (
        evidence_type.source if isinstance(evidence_type.source, ManualSource) else ManualSource()
    )
    known = set(evidence_type.fields) | set(source.map.values())
    for index, values in enumerate(records):
        location = locations[index] if locations else Location(file=f"{origin}#{index + 1}")
        unknown = sorted(set(values) - known)
        if unknown:
            problems.append(
                Problem(
                    message=f"未声明的字段 / undeclared fields: {', '.join(unknown)}",
                    location=location,
                    hint=f"{type_name} fields: {', '.join(evidence_type.fields)}",
                )
            )
        # A field left out of a form is empty, not a missing column.
        filled = {source.column_for(name): None for name in evidence_type.fields} | dict(values)
        raws.append(RawRecord(values=filled, location=location))
    if not raws:
        raise UserError(
            "没有要登记的记录 / nothing to submit", hint="give --field name=value or --file"
        )
    typed = type_records(raws, evidence_type, source)
    problems.extend(typed.problems)
    if problems:
        raise UserError(problems)
    return ingest(
        session,
        type_name=type_name,
        evidence_type=evidence_type,
        records=typed.records,
        source_name=origin,
        source_kind="manual",
        fetched_at=fetched_at,
        submitted_by=submitted_by,
    )
