"""The JSON API under /api: the same permissions as the pages, for automation.

Authenticate with ``Authorization: Bearer <token>`` (``dualduty users token create``), or with
the browser's session cookie plus the ``X-CSRF-Token`` header for unsafe methods. A case
outside your jurisdiction answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import JSONResponse

from console import auditing, caseview
from console import queue as review_queue
from console.deps import ApiUser, Db, State
from console.guards import access_for, refuse_action, visible_case
from console.schemas import (
    AttachmentOut,
    CaseDetail,
    CaseList,
    CaseSummary,
    CommentIn,
    CommentOut,
    Conflict,
    DecisionRequest,
    EventOut,
    EvidenceOut,
    EvidenceSubmission,
    Me,
    PermissionsOut,
)
from dualduty.errors import ConflictError, UserError
from evidence import manual
from evidence.sources.manual import ManualSource
from evidence.store import IngestReport, declared_type, unit_field
from evidence.types import EvidenceType
from models import cases
from models.base import utcnow
from models.users import Role

router = APIRouter()


def _unprocessable(error: UserError) -> HTTPException:
    return HTTPException(422, [p.model_dump(mode="json") for p in error.problems])


@router.get("/me", response_model=Me, tags=["auth"])
def me(principal: ApiUser) -> Me:
    """Who the token or session belongs to, and what they may see."""
    return Me.model_validate(principal.user, from_attributes=True)


@router.get("/cases", response_model=CaseList, tags=["cases"])
def list_cases(
    state: State,
    db: Db,
    principal: ApiUser,
    query: Annotated[review_queue.QueueFilter, Query()],
) -> CaseList:
    """The review queue within your jurisdiction: the same filters, sort orders and keyset
    paging as the /cases page."""
    access = access_for(state, db, principal)
    try:
        found = review_queue.page(db, access=access, query=query)
    except UserError as error:
        raise _unprocessable(error) from error
    return CaseList(
        items=[CaseSummary.model_validate(c) for c in found.rows],
        total=review_queue.total(db, access=access, query=query),
        next_cursor=found.next_cursor,
    )


@router.get("/cases/{case_id}", response_model=CaseDetail, tags=["cases"])
def get_case(
    request: Request, state: State, db: Db, principal: ApiUser, case_id: int
) -> CaseDetail:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    auditing.record(
        db,
        actor=principal.user.username,
        action="case.view",
        subject_type="case",
        subject_id=case.id,
        detail={"version": case.version, "via": "api"},
        now=utcnow(),
    )
    view = caseview.build(db, access=access, case=case)
    return CaseDetail(
        case=CaseSummary.model_validate(case),
        explanation=view.finding.explanation,
        pack_version=view.finding.pack_version,
        evidence=[EvidenceOut.model_validate(r) for r in view.evidence],
        comments=[CommentOut.model_validate(c) for c in view.comments],
        attachments=[AttachmentOut.model_validate(a) for a in view.attachments],
        history=[EventOut.model_validate(e) for e in view.events],
        permissions=PermissionsOut(
            can_decide=view.permissions.can_decide,
            can_comment=view.permissions.can_comment,
            recused=view.permissions.recused,
            recusal=view.permissions.recusal,
            routed_to=[u.username for u in view.routed_to],
        ),
    )


@router.post(
    "/cases/{case_id}/decisions",
    response_model=CaseSummary,
    tags=["cases"],
    responses={409: {"model": Conflict}, 403: {"description": "recused, or role may not decide"}},
)
def decide(
    request: Request,
    state: State,
    db: Db,
    principal: ApiUser,
    case_id: int,
    body: DecisionRequest,
) -> CaseSummary | JSONResponse:
    """Record a decision with its written reason. A stale ``expected_version`` gets 409 with
    what changed; read the case again and decide on what it now says."""
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    refuse_action(request, state, access, case, "处理决定")
    try:
        decided = cases.decide(
            db,
            case_id=case.id,
            actor=auditing.actor_of(principal.user.username),
            decision=body.decision,
            expected_version=body.expected_version,
            now=utcnow(),
        )
    except ConflictError as error:
        db.rollback()
        fresh = visible_case(request, state, db, access, case_id)
        changes = [
            EventOut.model_validate(e)
            for e in cases.history(db, case_id=case_id)
            if e.version > body.expected_version
        ]
        conflict = Conflict(detail=str(error), current_version=fresh.version, changes=changes)
        return JSONResponse(conflict.model_dump(mode="json"), status_code=409)
    except UserError as error:
        raise _unprocessable(error) from error
    return CaseSummary.model_validate(decided)


@router.post(
    "/cases/{case_id}/comments", response_model=CommentOut, status_code=201, tags=["cases"]
)
def comment(
    request: Request, state: State, db: Db, principal: ApiUser, case_id: int, body: CommentIn
) -> CommentOut:
    """Stored as written; every page and response escapes it when shown."""
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    refuse_action(request, state, access, case, "添加意见")
    try:
        added = cases.add_comment(
            db,
            case_id=case.id,
            author=auditing.actor_of(principal.user.username),
            body=body.body,
            now=utcnow(),
        )
    except UserError as error:
        raise _unprocessable(error) from error
    return CommentOut.model_validate(added)


@router.post(
    "/evidence/{type_name}", response_model=IngestReport, status_code=201, tags=["evidence"]
)
def submit_evidence(
    state: State, db: Db, principal: ApiUser, type_name: str, body: EvidenceSubmission
) -> IngestReport:
    """Hand-entered records of a declared evidence type (values as text, typed like any
    other source). Inspectors may submit records of units in their jurisdiction only."""
    access = access_for(state, db, principal)
    evidence_type = declared_type(db, type_name=type_name)
    if evidence_type is None:
        raise HTTPException(404, f"未声明的证据类型 / no declared evidence type {type_name!r}")
    refusal = _evidence_refusal(principal.user.role_enum, access.scope, evidence_type, body)
    if refusal is not None:
        auditing.record_and_commit(
            db,
            actor=principal.user.username,
            action="evidence.denied",
            subject_type="evidence_type",
            subject_id=type_name,
            detail={"reason": refusal},
        )
        raise HTTPException(403, refusal)
    try:
        return manual.submit(
            db,
            type_name=type_name,
            evidence_type=evidence_type,
            records=body.records,
            submitted_by=principal.user.username,
            origin="console",
        )
    except UserError as error:
        raise _unprocessable(error) from error


def _evidence_refusal(
    role: Role, scope: list[str] | None, evidence_type: EvidenceType, body: EvidenceSubmission
) -> str | None:
    """Why this user may not submit these records, or None. Viewers submit nothing; an
    inspector only records of units inside their jurisdiction."""
    if role not in {Role.inspector, Role.admin}:
        return "无此权限 / not permitted for your role"
    if scope is None:
        return None
    unit_name = unit_field(evidence_type)
    if unit_name is None:
        return "此类证据不含单位，仅管理员可登记 / this type names no unit: admins only"
    source = evidence_type.source
    column = source.column_for(unit_name) if isinstance(source, ManualSource) else unit_name
    outside = sorted({str(r.get(column, r.get(unit_name))) for r in body.records} - set(scope))
    if outside:
        return (
            "记录的单位不在您的管辖范围内 / records for units outside your jurisdiction: "
            + ", ".join(outside)
        )
    return None
