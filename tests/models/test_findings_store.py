"""Storing findings in bulk on both databases: new rows once, ids for every input, and text
that survives the trip exactly (PostgreSQL takes the rows by COPY)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.findings import StoredFinding, content_hash, store
from rules.findings import Finding
from tests.cases.helpers import finding as base_finding

NOW = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.UTC)
AWKWARD = "第一行\t制表符\n第二行 \\N 反斜杠 \\ 回车\r 引号 \" ' 结束"


def finding(subject: str, explanation: str = "2026-03 无支委会记录", **extra: Any) -> Finding:
    nothing_else = dict.fromkeys(("unit_code", "ladder", "bearer_person", "bearer_post"))
    return base_finding(
        subject,
        **{
            "pack": "branch-life",
            **nothing_else,
            "explanation": explanation,
            "evidence_ids": [9, 3, 9],
            **extra,
        },
    )


def test_bulk_store_is_exact_and_idempotent(session: Session) -> None:
    first = [finding("B01", AWKWARD), finding("B02", ""), finding("B03", ladder="standard")]
    ids = store(session, findings=first, inspection_id=None, now=NOW)
    session.commit()
    assert len(set(ids)) == 3
    rows = [session.get(StoredFinding, row_id) for row_id in ids]
    assert [r.content_hash for r in rows if r] == [content_hash(f) for f in first]
    row = rows[0]
    assert row is not None
    assert row.explanation == AWKWARD
    assert row.evidence_ids == [3, 9]
    assert (row.unit_code, row.ladder, row.inspection_id) == (None, None, None)
    assert row.recorded_at == NOW
    assert row.to_finding().model_copy(update={"evidence_ids": [9, 3, 9]}) == first[0]
    empty = rows[1]
    assert empty is not None and empty.explanation == ""
    assert rows[2] is not None and rows[2].ladder == "standard"

    # old and new together, in any order and repeated: old rows keep their ids, one new row
    again = store(
        session, findings=[finding("B04"), *reversed(first), first[0]], inspection_id=None, now=NOW
    )
    session.commit()
    assert again[1:] == [*reversed(ids), ids[0]]
    assert again[0] not in ids
    assert session.scalar(select(func.count()).select_from(StoredFinding)) == 4
    assert store(session, findings=[], inspection_id=None, now=NOW) == []


def test_content_hash_is_the_canonical_json_of_the_finding() -> None:
    """Hashes must not change between versions (rows are deduplicated by them): the canonical
    form is compact JSON with sorted keys and unescaped UTF-8, evidence ids sorted and distinct."""
    import hashlib
    import json

    for text in (AWKWARD, "控制字符\x01\x1f 分隔\u2028 emoji 🚩 <&>", ""):
        f = finding("B01", text, evidence_ids=[9, 3, 9], bearer_post="党支部书记")
        data = f.model_dump(mode="json") | {"evidence_ids": [3, 9]}
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert content_hash(f) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
