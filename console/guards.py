"""Request-level checks shared by the pages and the API: find a case the user may see, refuse
an action they may not take, and put every refusal in the audit log."""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from console import auditing
from console.access import Access
from console.deps import ConsoleState, Principal
from models.base import utcnow
from models.cases.tables import Case


def access_for(state: ConsoleState, db: Session, principal: Principal) -> Access:
    return Access(db, user=principal.user, now=utcnow(), relatives=state.relatives)


def visible_case(
    request: Request, state: ConsoleState, db: Session, access: Access, case_id: int
) -> Case:
    """The case, or 404 whether it does not exist or lies outside the user's jurisdiction:
    the two must look the same, so ids cannot be probed. Refusals are audited."""
    case = db.get(Case, case_id)
    if case is None or not access.can_see(case):
        auditing.record_and_commit(
            db,
            actor=access.user.username,
            action="case.denied",
            subject_type="case",
            subject_id=case_id,
            detail={
                "method": request.method,
                "path": request.url.path,
                "reason": "missing" if case is None else "jurisdiction",
            },
        )
        raise HTTPException(404, f"案件不存在 / no case {case_id}")
    return case


def refuse_action(
    request: Request, state: ConsoleState, access: Access, case: Case, action: str
) -> None:
    """403 for someone who may see the case but not act on it (viewer, admin, recused)."""
    permissions = access.permissions(case)
    if permissions.can_decide:
        return
    reason = "recused" if permissions.recused else "role"
    auditing.record_and_commit(
        access.session,
        actor=access.user.username,
        action="case.denied",
        subject_type="case",
        subject_id=case.id,
        detail={"method": request.method, "path": request.url.path, "reason": reason},
    )
    if permissions.recused:
        raise HTTPException(
            403,
            "已回避：您不能办理此案件 / recused: you may not act on this case ("
            + "; ".join(r.message for r in permissions.recusal)
            + ")",
        )
    raise HTTPException(403, f"{action}：无此权限 / not permitted for your role")
