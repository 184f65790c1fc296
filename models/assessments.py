"""Published assessments: versioned, immutable snapshots of a period's scores.

A row keeps everything needed to re-score it and to prove nothing moved: the scheme's text and
hash, the rule-pack versions of the findings, the input snapshot and its hash, and the result.
Rows are never updated except to mark one superseded when a new version is issued, so a
published assessment stays readable exactly as it was announced. At most one version per
(scheme, period) is ``published`` at a time (a partial unique index on both dialects).

The JSON columns hold ``assessments.inputs.AssessmentInputs`` and
``assessments.results.AssessmentResult`` dumps; those pydantic models are the only definitions.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AssessmentStatus(StrEnum):
    published = "published"  # 已发布
    superseded = "superseded"  # 已被新版本取代


STATUS_LABELS: dict[AssessmentStatus, str] = {
    AssessmentStatus.published: "已发布 / published",
    AssessmentStatus.superseded: "已被取代 / superseded",
}


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("scheme_name", "period", "version"),
        Index(
            "uq_assessments__one_published",
            "scheme_name",
            "period",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scheme_name: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AssessmentStatus.published)
    scheme_version: Mapped[int] = mapped_column(Integer)
    scheme_sha256: Mapped[str] = mapped_column(String(64))
    scheme_text: Mapped[str] = mapped_column(Text)
    pack_versions: Mapped[list[str]] = mapped_column(default=list)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column()
    results_sha256: Mapped[str] = mapped_column(String(64))
    results: Mapped[dict[str, Any]] = mapped_column()
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    superseded_at: Mapped[dt.datetime | None]
    superseded_by: Mapped[int | None] = mapped_column(Integer)
