"""Gathering: fetch from a source and ingest into the store, as one unit of work.

Everything is fetched and typed before anything is written, so a source that fails half-way
(a timeout on page 7, a bad row with ``on_error: fail``) leaves the store and the watermark as
they were. The caller commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Problem
from evidence.sources.base import BaseSource, FetchContext
from evidence.store import IngestReport, get_watermark, ingest, set_watermark
from evidence.types import EvidenceType
from models.base import utcnow

log = logging.getLogger(__name__)


class GatherReport(BaseModel):
    """One source's gathering: how many records came, what the store made of them, and every
    problem (skipped records are warnings)."""

    type_name: str
    source_name: str
    source_kind: str
    fetched: int  # records the source returned, bad ones included
    skipped: int  # bad records left out (on_error: skip)
    new: int
    changed: int
    unchanged: int
    duplicates: int
    watermark_before: str | None = None
    watermark_after: str | None = None
    seconds: float
    problems: list[Problem] = Field(default_factory=list)
    ids: list[int] = Field(default_factory=list)


def source_name_of(source: BaseSource, type_name: str) -> str:
    return source.name or type_name


def gather(
    session: Session,
    *,
    type_name: str,
    evidence_type: EvidenceType,
    source: BaseSource | None = None,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    http: httpx.Client | None = None,
    fetched_at: dt.datetime | None = None,
) -> GatherReport:
    """Fetch ``type_name`` from ``source`` (default: the type's declared source) and ingest it.

    ``base_dir`` resolves relative file paths (the pack's folder); ``env`` supplies the
    secrets (default: the process environment); ``http`` is the client HTTP sources use.
    """
    source = source or evidence_type.source
    if source is None:
        raise UserError(
            [
                Problem(
                    message=f"证据类型 {type_name} 没有声明来源 / evidence type {type_name!r} declares no source",
                    field=f"evidence.{type_name}.source",
                    hint="add `source: {kind: file, path: …}` (or sql, http, manual)",
                )
            ]
        )
    started = time.perf_counter()
    name = source_name_of(source, type_name)
    watermark = get_watermark(session, source_name=name)
    ctx = FetchContext(
        source_name=name,
        base_dir=base_dir or Path.cwd(),
        env=env if env is not None else dict(os.environ),
        http=http,
        watermark=watermark,
    )
    fetched_at = fetched_at or utcnow()
    result = source.read(evidence_type, ctx)
    report: IngestReport = ingest(
        session,
        type_name=type_name,
        evidence_type=evidence_type,
        records=result.records,
        source_name=name,
        source_kind=source.kind,
        fetched_at=fetched_at,
    )
    if result.watermark is not None and result.watermark != watermark:
        set_watermark(session, source_name=name, value=result.watermark)
    gathered = GatherReport(
        type_name=type_name,
        source_name=name,
        source_kind=source.kind,
        fetched=result.fetched,
        skipped=result.fetched - len(result.records),
        new=report.new,
        changed=report.changed,
        unchanged=report.unchanged,
        duplicates=report.duplicates,
        watermark_before=None if watermark is None else str(watermark),
        watermark_after=None if result.watermark is None else str(result.watermark),
        seconds=round(time.perf_counter() - started, 3),
        problems=result.problems + report.problems,
        ids=report.ids,
    )
    log.info(
        "gathered %s from %s: %d fetched, %d new, %d changed, %d unchanged, %d skipped",
        type_name,
        name,
        gathered.fetched,
        gathered.new,
        gathered.changed,
        gathered.unchanged,
        gathered.skipped,
    )
    return gathered
