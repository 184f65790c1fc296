"""Comments and attachments on a case: the inspectors' working notes and uploaded files.

Neither changes the case's version: a comment written while a colleague decides must not make
the decision conflict. Both are audited. Attachment files are content-addressed under
``settings.data_dir/attachments`` (the same file uploaded twice is stored once); a file written
for a transaction that then rolls back is an orphan, harmless and reused if uploaded again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import unicodedata
from pathlib import Path, PureWindowsPath
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError, UserError
from dualduty.problems import Problem
from dualduty.settings import get_settings
from models.audit import record
from models.cases.decisions import get_or_raise
from models.cases.tables import CaseAttachment, CaseComment

MAX_COMMENT_CHARS = 5000
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024


def add_comment(
    session: Session, *, case_id: int, author: str, body: str, now: dt.datetime
) -> CaseComment:
    """Store the text as written; escaping it is the job of whatever displays it."""
    get_or_raise(session, case_id=case_id)
    text = body.strip()
    if not text:
        raise UserError([Problem(message="评论不能为空 / the comment is empty", field="body")])
    if len(text) > MAX_COMMENT_CHARS:
        raise UserError(
            [
                Problem(
                    message=f"评论过长 / comment too long ({len(text)} > {MAX_COMMENT_CHARS})",
                    field="body",
                    hint="attach long texts as a file",
                )
            ]
        )
    comment = CaseComment(case_id=case_id, author=author, body=text, at=now)
    session.add(comment)
    session.flush()
    record(
        session,
        actor=author,
        action="case.comment",
        subject_type="case",
        subject_id=case_id,
        detail={"comment_id": comment.id, "chars": len(text)},
        now=now,
    )
    return comment


def comments(session: Session, *, case_id: int) -> list[CaseComment]:
    return list(
        session.scalars(
            select(CaseComment).where(CaseComment.case_id == case_id).order_by(CaseComment.id)
        )
    )


def attachments_dir() -> Path:
    return get_settings().data_dir / "attachments"


def attachment_path(attachment: CaseAttachment) -> Path:
    return attachments_dir() / attachment.sha256[:2] / attachment.sha256


def clean_filename(filename: str) -> str:
    """The last path component, without control characters: never a path we write to."""
    name = PureWindowsPath(filename.replace("/", "\\")).name.strip()
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    if not name or name in {".", ".."}:
        raise UserError([Problem(message="文件名无效 / invalid file name", field="filename")])
    return name[:255]


def add_attachment(
    session: Session,
    *,
    case_id: int,
    uploaded_by: str,
    filename: str,
    content: BinaryIO,
    now: dt.datetime,
    content_type: str = "application/octet-stream",
    note: str = "",
    max_bytes: int = MAX_ATTACHMENT_BYTES,
) -> CaseAttachment:
    """Stream ``content`` to disk, refusing it as soon as it passes ``max_bytes``."""
    get_or_raise(session, case_id=case_id)
    name = clean_filename(filename)
    folder = attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := content.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UserError(
                        [
                            Problem(
                                message=(
                                    f"附件过大 / attachment too large (limit {max_bytes} bytes)"
                                ),
                                field="file",
                                hint="compress or split the file",
                            )
                        ]
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UserError([Problem(message="附件为空 / the file is empty", field="file")])
        sha = digest.hexdigest()
        final = folder / sha[:2] / sha
        final.parent.mkdir(exist_ok=True)
        os.replace(temp_name, final)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    attachment = CaseAttachment(
        case_id=case_id,
        filename=name,
        content_type=content_type[:100],
        size=size,
        sha256=sha,
        uploaded_by=uploaded_by,
        at=now,
        note=note,
    )
    session.add(attachment)
    session.flush()
    record(
        session,
        actor=uploaded_by,
        action="case.attach",
        subject_type="case",
        subject_id=case_id,
        detail={"attachment_id": attachment.id, "filename": name, "size": size, "sha256": sha},
        now=now,
    )
    return attachment


def attachments(session: Session, *, case_id: int) -> list[CaseAttachment]:
    return list(
        session.scalars(
            select(CaseAttachment)
            .where(CaseAttachment.case_id == case_id)
            .order_by(CaseAttachment.id)
        )
    )


def get_attachment_or_raise(session: Session, *, attachment_id: int) -> CaseAttachment:
    attachment = session.get(CaseAttachment, attachment_id)
    if attachment is None:
        raise NotFoundError(f"附件不存在 / no attachment {attachment_id}")
    return attachment
