"""API shapes that differ from the ORM rows they are read from (``from_attributes``).

Request bodies reuse the domain models where one exists (``models.cases.Decision``); only the
envelope around them is defined here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.cases import Decision
from models.users import RecusalReason, Role


class Me(BaseModel):
    """A user as the API shows them: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: Role
    jurisdiction: str | None
    person_code: str | None


class CaseSummary(BaseModel):
    """One row of the queue."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: str
    pack: str
    subject_kind: str
    subject_id: str
    period: str
    unit_code: str | None
    side: str
    severity: str
    state: str
    bearer_person: str | None
    bearer_post: str | None
    ladder: str | None
    ladder_step: str | None
    pending_step: str | None
    deadline_on: dt.date
    due_on: dt.date
    opened_at: dt.datetime
    updated_at: dt.datetime
    version: int
    outcome: str | None
    accountability_form: str | None
    dismiss_category: str | None


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type_name: str
    natural_key: str
    version: int
    content_hash: str
    fields: dict[str, Any]
    unit_code: str | None
    source_name: str
    source_kind: str
    location: str | None
    submitted_by: str | None
    fetched_at: dt.datetime
    is_current: bool


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    version: int
    detail: dict[str, Any]


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    body: str
    at: dt.datetime


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    at: dt.datetime
    note: str


class PermissionsOut(BaseModel):
    can_decide: bool
    can_comment: bool
    recused: bool
    recusal: list[RecusalReason]
    routed_to: list[str] = Field(description="usernames handling the case instead")


class CaseDetail(BaseModel):
    case: CaseSummary
    explanation: str
    pack_version: str
    evidence: list[EvidenceOut]
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[EventOut]
    permissions: PermissionsOut


class DecisionRequest(BaseModel):
    """A decision, and the case version it was made on (from the case you read)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    expected_version: int = Field(ge=1)


class Conflict(BaseModel):
    """409: the case changed since ``expected_version``; nothing was saved."""

    detail: str
    current_version: int
    changes: list[EventOut]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=5000)


class EvidenceSubmission(BaseModel):
    """Hand-entered records of one declared evidence type, values as typed in a form."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, str | None]] = Field(min_length=1, max_length=500)
