"""The review queue (/cases) and the case page (/cases/{id}) with its forms.

Every form re-renders the case page on a refusal, with what the user typed still in it: a
stale decision shows what changed since the page was loaded and keeps the written reason, so
nothing is lost and nothing is silently merged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, RedirectResponse, Response

from console import auditing, caseview, labels
from console import queue as review_queue
from console.access import Access
from console.deps import ConsoleState, Db, FormUser, PageUser, Principal, State, render
from console.guards import access_for, refuse_action, visible_case
from dualduty.errors import ConflictError, UserError
from models import cases
from models.base import utcnow
from models.cases import (
    CATEGORY_LABELS,
    FORM_LABELS,
    KIND_LABELS,
    AccountabilityForm,
    Decision,
    DecisionKind,
    DismissCategory,
)
from models.cases.tables import STATE_LABELS, Case, CaseState
from models.org import Unit
from rules.findings import Severity, Side

router = APIRouter()

COMMON_LABELS: dict[str, Any] = {
    "state_labels": {s.value: label for s, label in STATE_LABELS.items()},
    "severity_labels": {s.value: label for s, label in labels.SEVERITY_LABELS.items()},
    "side_labels": {s.value: label for s, label in labels.SIDE_LABELS.items()},
    "subject_labels": {s.value: label for s, label in labels.SUBJECT_KIND_LABELS.items()},
    "event_labels": labels.EVENT_LABELS,
    "kind_labels": {k.value: label for k, label in KIND_LABELS.items()},
    "form_labels": {f.value: label for f, label in FORM_LABELS.items()},
    "category_labels": {c.value: label for c, label in CATEGORY_LABELS.items()},
    "case_states": list(CaseState),
    "severities": list(Severity),
    "sides": list(Side),
}


# --- the queue ---------------------------------------------------------------------------


@router.get("/cases")
def queue_page(request: Request, state: State, db: Db, principal: PageUser) -> Response:
    access = access_for(state, db, principal)
    try:
        query = review_queue.QueueFilter.model_validate(dict(request.query_params))
    except ValidationError as error:
        message = "; ".join(str(e["msg"]) for e in error.errors())
        raise HTTPException(400, f"筛选条件无效 / invalid filter: {message}") from error
    try:
        found = review_queue.page(db, access=access, query=query)
    except UserError as error:
        raise HTTPException(400, str(error)) from error
    recusals = {case.id: bool(access.recusal(case)) for case in found.rows}
    codes = {case.unit_code for case in found.rows if case.unit_code}
    rows = db.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).tuples()
    unit_names = {code: name for code, name in rows}
    return render(
        request,
        state,
        "queue.html",
        COMMON_LABELS
        | {
            "query": query,
            "page": found,
            "total": review_queue.total(db, access=access, query=query),
            "counts": review_queue.counts(db, access=access),
            "choices": review_queue.filter_choices(db, access=access),
            "recused": recusals,
            "unit_names": unit_names,
            "today": access.today,
            "active_states": sorted(s.value for s in cases.ACTIVE_STATES),
            "scope": _scope_label(db, principal.user.jurisdiction),
        },
        principal=principal,
    )


def _scope_label(db: Session, jurisdiction: str | None) -> str | None:
    if jurisdiction is None:
        return None
    unit = db.get(Unit, jurisdiction)
    return f"{unit.name}（{unit.code}）" if unit else jurisdiction


# --- the case page -----------------------------------------------------------------------


def case_page(
    request: Request,
    state: ConsoleState,
    db: Session,
    principal: Principal,
    access: Access,
    case: Case,
    *,
    status_code: int = 200,
    decision_form: dict[str, str] | None = None,
    decision_errors: list[str] | None = None,
    conflict_since: int | None = None,
    comment_text: str = "",
    comment_error: str | None = None,
    upload_error: str | None = None,
    notice: str | None = None,
) -> Response:
    view = caseview.build(db, access=access, case=case)
    changes = (
        caseview.changes_since(view, version=conflict_since) if conflict_since is not None else []
    )
    form = {"kind": "", "reason": "", "category": "", "deadline": "", "form": "", "reference": ""}
    form |= decision_form or {}
    return render(
        request,
        state,
        "case.html",
        COMMON_LABELS
        | {
            "view": view,
            "case": case,
            # Only what the case's state allows; decide() still refuses anything else.
            "decision_kinds": cases.allowed_decisions(case),
            "dismiss_categories": list(DismissCategory),
            "accountability_forms": list(AccountabilityForm),
            "form": form,
            "decision_errors": decision_errors or [],
            "conflict": conflict_since is not None,
            "changes": changes,
            "comment_text": comment_text,
            "comment_error": comment_error,
            "upload_error": upload_error,
            "upload_max_bytes": state.upload_max_bytes,
            "upload_max_mb": f"{state.settings.upload_max_mb:g}",
            "notice": notice,
        },
        principal=principal,
        status_code=status_code,
    )


NOTICES = {
    "decided": "处理决定已保存。/ The decision was recorded.",
    "commented": "意见已添加。/ Comment added.",
    "attached": "附件已上传。/ Attachment uploaded.",
}


@router.get("/cases/{case_id}")
def show_case(
    request: Request,
    state: State,
    db: Db,
    principal: PageUser,
    case_id: int,
    done: str | None = None,
) -> Response:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    auditing.record(
        db,
        actor=principal.user.username,
        action="case.view",
        subject_type="case",
        subject_id=case.id,
        detail={"version": case.version},
        now=utcnow(),
    )
    return case_page(request, state, db, principal, access, case, notice=NOTICES.get(done or ""))


def _decision_from_form(values: dict[str, str]) -> Decision:
    """Empty fields are absent. The page's script disables the fields of other kinds, so they
    are not submitted; ``step`` is the one hidden field, meaningful only for an approval."""
    data = {name: value for name, value in values.items() if value}
    if values.get("kind") != DecisionKind.approve_next_step.value:
        data.pop("step", None)
    data.setdefault("reason", "")
    return Decision.model_validate(data)


def _validation_messages(error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        text = str(item["msg"]).removeprefix("Value error, ")
        messages.append(f"{where}: {text}" if where else text)
    return messages


@router.post("/cases/{case_id}/decide")
def decide_case(
    request: Request,
    state: State,
    db: Db,
    principal: FormUser,
    case_id: int,
    expected_version: Annotated[int, Form()],
    kind: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
    form: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
    step: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    refuse_action(request, state, access, case, "处理决定")
    typed = {
        "kind": kind,
        "reason": reason,
        "category": category,
        "deadline": deadline,
        "form": form,
        "reference": reference,
        "step": step,
    }
    try:
        decision = _decision_from_form(typed)
        cases.decide(
            db,
            case_id=case.id,
            actor=auditing.actor_of(principal.user.username),
            decision=decision,
            expected_version=expected_version,
            now=utcnow(),
        )
    except ValidationError as error:
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            case,
            status_code=422,
            decision_form=typed,
            decision_errors=_validation_messages(error),
        )
    except ConflictError as error:
        db.rollback()
        fresh = visible_case(request, state, db, access, case_id)
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            fresh,
            status_code=409,
            decision_form=typed,
            decision_errors=[str(error)],
            conflict_since=expected_version,
        )
    except UserError as error:
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            case,
            status_code=422,
            decision_form=typed,
            decision_errors=[str(p.message) for p in error.problems],
        )
    return RedirectResponse(f"/cases/{case.id}?done=decided", status_code=303)


@router.post("/cases/{case_id}/comments")
def comment_case(
    request: Request,
    state: State,
    db: Db,
    principal: FormUser,
    case_id: int,
    body: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    refuse_action(request, state, access, case, "添加意见")
    try:
        cases.add_comment(
            db,
            case_id=case.id,
            author=auditing.actor_of(principal.user.username),
            body=body,
            now=utcnow(),
        )
    except UserError as error:
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            case,
            status_code=422,
            comment_text=body,
            comment_error=str(error.problems[0].message),
        )
    return RedirectResponse(f"/cases/{case.id}?done=commented#comments", status_code=303)


@router.post("/cases/{case_id}/attachments")
def attach_to_case(
    request: Request,
    state: State,
    db: Db,
    principal: FormUser,
    case_id: int,
    file: Annotated[UploadFile, File()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    refuse_action(request, state, access, case, "上传附件")
    limit = state.upload_max_bytes
    too_large = (
        f"附件过大：{file.filename} 超过 {state.settings.upload_max_mb:g} MB 上限 / "
        f"attachment too large: {file.filename} exceeds the {state.settings.upload_max_mb:g} "
        "MB limit"
    )
    if file.size is not None and file.size > limit:
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            case,
            status_code=413,
            upload_error=too_large,
        )
    try:
        cases.add_attachment(
            db,
            case_id=case.id,
            uploaded_by=auditing.actor_of(principal.user.username),
            filename=file.filename or "",
            content=file.file,
            now=utcnow(),
            content_type=file.content_type or "application/octet-stream",
            note=note,
            max_bytes=limit,
        )
    except UserError as error:
        return case_page(
            request,
            state,
            db,
            principal,
            access,
            case,
            status_code=422,
            upload_error="; ".join(p.message for p in error.problems),
        )
    return RedirectResponse(f"/cases/{case.id}?done=attached#attachments", status_code=303)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download_attachment(
    request: Request,
    state: State,
    db: Db,
    principal: PageUser,
    case_id: int,
    attachment_id: int,
) -> Response:
    access = access_for(state, db, principal)
    case = visible_case(request, state, db, access, case_id)
    attachment = next(
        (a for a in cases.attachments(db, case_id=case.id) if a.id == attachment_id), None
    )
    if attachment is None:
        raise HTTPException(404, f"附件不存在 / no attachment {attachment_id}")
    auditing.record(
        db,
        actor=principal.user.username,
        action="case.attachment.download",
        subject_type="case",
        subject_id=case.id,
        detail={"attachment_id": attachment.id, "sha256": attachment.sha256},
        now=utcnow(),
    )
    # Always a download, never rendered inline: an uploaded HTML file must not run as a page
    # of the console.
    return FileResponse(
        cases.attachment_path(attachment),
        filename=attachment.filename,
        media_type="application/octet-stream",
        content_disposition_type="attachment",
    )
