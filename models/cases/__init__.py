"""Cases: a failing finding that needs action, its history, decisions and working notes.

Public API (service functions take the session, are keyword-only, and never commit)::

    reconcile(session, *, findings, inspection_id, now) -> ReconcileReport
    decide(session, *, case_id, actor, decision, expected_version, now) -> Case
    allowed_decisions(case) -> list[DecisionKind]
    add_comment(session, *, case_id, author, body, now) -> CaseComment
    add_attachment(session, *, case_id, uploaded_by, filename, content, now, ...) -> CaseAttachment
    list_cases(session, *, filters, sort, cursor, limit) -> CasePage
    count_cases(session, *, filters) -> int;  count_by_state(session, *, filters) -> dict[...]
    get_or_raise(session, *, case_id) -> Case;  history(session, *, case_id) -> list[CaseEvent]
"""

from models.cases.decisions import (
    CATEGORY_LABELS,
    FORM_LABELS,
    KIND_LABELS,
    AccountabilityForm,
    Decision,
    DecisionKind,
    DismissCategory,
    allowed_decisions,
    decide,
    get_or_raise,
)
from models.cases.history import local_date
from models.cases.notes import (
    MAX_ATTACHMENT_BYTES,
    add_attachment,
    add_comment,
    attachment_path,
    attachments,
    comments,
    get_attachment_or_raise,
)
from models.cases.queries import (
    CaseFilter,
    CasePage,
    CaseSort,
    case_keys,
    count_by_state,
    count_cases,
    find_by_key,
    finding_of,
    history,
    list_cases,
)
from models.cases.reconcile import ReconcileReport, reconcile
from models.cases.tables import (
    ACTIVE_STATES,
    STATE_LABELS,
    Case,
    CaseAttachment,
    CaseComment,
    CaseEvent,
    CaseState,
    EventKind,
    Outcome,
)

__all__ = [
    "ACTIVE_STATES",
    "CATEGORY_LABELS",
    "FORM_LABELS",
    "KIND_LABELS",
    "MAX_ATTACHMENT_BYTES",
    "STATE_LABELS",
    "AccountabilityForm",
    "Case",
    "CaseAttachment",
    "CaseComment",
    "CaseEvent",
    "CaseFilter",
    "CasePage",
    "CaseSort",
    "CaseState",
    "Decision",
    "DecisionKind",
    "DismissCategory",
    "EventKind",
    "Outcome",
    "ReconcileReport",
    "add_attachment",
    "add_comment",
    "allowed_decisions",
    "attachment_path",
    "attachments",
    "case_keys",
    "comments",
    "count_by_state",
    "count_cases",
    "decide",
    "find_by_key",
    "finding_of",
    "get_attachment_or_raise",
    "get_or_raise",
    "history",
    "list_cases",
    "local_date",
    "reconcile",
]
