"""Who may see and do what with a case: role × jurisdiction × recusal, in one place.

Pages and the API both ask this module, so they cannot drift apart.

- admin: sees every case; decides nothing (accounts are not a mandate to judge).
- inspector: sees cases whose unit lies in their jurisdiction subtree; comments, attaches and
  decides there, except where recused (回避): then the case is read-only and shows why.
- viewer: sees cases in their jurisdiction; changes nothing.

A case outside the user's jurisdiction does not exist for them: pages and API answer 404,
exactly as for an id that was never used, so ids cannot be probed; the attempt is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import Session

from models import org
from models.cases.history import local_date
from models.cases.tables import Case
from models.users import (
    RecusalCheck,
    RecusalReason,
    RecusalSubject,
    RelativesLookup,
    Role,
    User,
    eligible_inspectors,
    no_declared_relatives,
)


@dataclass(frozen=True)
class CasePermissions:
    """What the current user may do with one case, with the reasons shown on the page."""

    can_decide: bool
    can_comment: bool
    recusal: list[RecusalReason]

    @property
    def recused(self) -> bool:
        return bool(self.recusal)


class Access:
    """One user's view of the cases, for one request (caches the jurisdiction subtree and the
    recusal look-ups)."""

    def __init__(
        self,
        session: Session,
        *,
        user: User,
        now: dt.datetime,
        relatives: RelativesLookup = no_declared_relatives,
    ) -> None:
        self.session = session
        self.user = user
        self.today = local_date(now)
        self._relatives = relatives
        self._scope: list[str] | None = None
        self._scope_set: frozenset[str] = frozenset()
        self._scope_loaded = False
        self._recusal = RecusalCheck(session, user=user, relatives=relatives)

    @property
    def role(self) -> Role:
        return self.user.role_enum

    @property
    def scope(self) -> list[str] | None:
        """Unit codes the user may see; None means all (admins)."""
        if not self._scope_loaded:
            self._scope_loaded = True
            if self.role is Role.admin:
                self._scope = None
            elif self.user.jurisdiction and org.get_unit(self.session, code=self.user.jurisdiction):
                self._scope = org.subtree(self.session, unit_code=self.user.jurisdiction)
            else:
                # A jurisdiction that no longer exists (org re-import) covers nothing.
                self._scope = []
            self._scope_set = frozenset(self._scope or ())
        return self._scope

    def scope_clause(self) -> ColumnElement[bool] | None:
        scope = self.scope
        if scope is None:
            return None
        if not scope:
            return false()
        return Case.unit_code.in_(scope)

    def can_see(self, case: Case) -> bool:
        if self.scope is None:
            return True
        return case.unit_code is not None and case.unit_code in self._scope_set

    def subject_of(self, case: Case) -> RecusalSubject:
        return RecusalSubject.of_case(case, today=self.today)

    def recusal(self, case: Case) -> list[RecusalReason]:
        if self.role is not Role.inspector:
            return []
        return self._recusal.reasons(self.subject_of(case))

    def permissions(self, case: Case) -> CasePermissions:
        recusal = self.recusal(case)
        acting = self.role is Role.inspector and self.can_see(case) and not recusal
        return CasePermissions(can_decide=acting, can_comment=acting, recusal=recusal)

    def routed_to(self, case: Case) -> list[User]:
        """The inspectors who handle the case instead of a recused one."""
        return eligible_inspectors(
            self.session, subject=self.subject_of(case), relatives=self._relatives
        )
