"""Comments and attachments: stored as given, limited, audited, and never a path we write to."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError, UserError
from models import audit
from models.cases import (
    Case,
    add_attachment,
    add_comment,
    attachment_path,
    attachments,
    comments,
    reconcile,
)
from models.cases.notes import attachments_dir, clean_filename
from tests.cases.helpers import NOW, finding


@pytest.fixture
def case_id(session: Session, db_env: str) -> int:
    ids = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW).opened
    session.commit()
    return ids[0]


def test_comments_keep_text_as_written_and_do_not_bump_the_version(
    session: Session, case_id: int
) -> None:
    add_comment(
        session, case_id=case_id, author="user:a", body="  <script>alert(1)</script>  ", now=NOW
    )
    session.commit()
    assert [c.body for c in comments(session, case_id=case_id)] == ["<script>alert(1)</script>"]
    assert session.get(Case, case_id).version == 1  # type: ignore[union-attr]
    assert (
        audit.entries(session, subject_type="case", subject_id=case_id)[0].action == "case.comment"
    )
    with pytest.raises(UserError, match="the comment is empty"):
        add_comment(session, case_id=case_id, author="user:a", body=" \n ", now=NOW)
    with pytest.raises(UserError, match="comment too long"):
        add_comment(session, case_id=case_id, author="user:a", body="字" * 5001, now=NOW)
    with pytest.raises(NotFoundError):
        add_comment(session, case_id=404, author="user:a", body="x", now=NOW)


def test_attachment_is_stored_once_by_content(session: Session, case_id: int, db_env: str) -> None:
    content = "整改报告：已于4月8日补开支委会。".encode()
    first = add_attachment(
        session,
        case_id=case_id,
        uploaded_by="user:a",
        filename="整改报告.docx",
        content=io.BytesIO(content),
        now=NOW,
    )
    second = add_attachment(
        session,
        case_id=case_id,
        uploaded_by="user:b",
        filename="copy.docx",
        content=io.BytesIO(content),
        now=NOW,
    )
    session.commit()
    assert first.sha256 == second.sha256 and first.size == len(content)
    path = attachment_path(first)
    assert path.read_bytes() == content
    assert Path(db_env.removeprefix("sqlite:///")).parent in path.parents
    assert [a.filename for a in attachments(session, case_id=case_id)] == [
        "整改报告.docx",
        "copy.docx",
    ]
    assert not list(path.parent.parent.glob(".upload-*"))  # no temporary files left behind


def test_oversized_and_empty_uploads_are_refused_and_leave_nothing(
    session: Session, case_id: int
) -> None:
    with pytest.raises(UserError, match="attachment too large"):
        add_attachment(
            session,
            case_id=case_id,
            uploaded_by="user:a",
            filename="big.pdf",
            content=io.BytesIO(b"x" * 2049),
            now=NOW,
            max_bytes=2048,
        )
    with pytest.raises(UserError, match="the file is empty"):
        add_attachment(
            session,
            case_id=case_id,
            uploaded_by="user:a",
            filename="empty.pdf",
            content=io.BytesIO(b""),
            now=NOW,
        )
    assert attachments(session, case_id=case_id) == []
    folder = attachments_dir()
    assert [p for p in folder.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\整改报告.pdf", "整改报告.pdf"),
        ("report\x00.pdf", "report.pdf"),
    ],
)
def test_file_names_lose_their_paths(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


@pytest.mark.parametrize("given", ["", "..", "/", "\x07"])
def test_file_names_that_are_nothing_are_refused(given: str) -> None:
    with pytest.raises(UserError, match="invalid file name"):
        clean_filename(given)
