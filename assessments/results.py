"""The result of an assessment: scorecards explained line by line, ranks, the shortlist.

This is what is stored (as JSON) in a published snapshot and what every report renders, so it
carries its own explanations in Chinese first: a report never has to re-derive why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.findings import Side, Verdict

EvidenceStatus = Literal["complete", "partial", "none"]
EVIDENCE_LABELS: dict[str, str] = {"complete": "完整", "partial": "部分无证据", "none": "无证据"}
SIDE_LABELS: dict[Side, str] = {Side.business: "业务", Side.integrity: "党风廉政"}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreLine(_Frozen):
    """One reason the score moved: a finding that cost points, or a bonus that earned some."""

    kind: Literal["deduction", "bonus", "no_evidence"]
    side: Side
    item_id: str
    item_title: str
    rule_id: str | None = None
    rule_title: str = ""
    finding_subject: str | None = None
    finding_period: str | None = None
    verdict: Verdict | None = None
    label: str = Field(description="未通过 / 无证据 / 加分 …, what a reader sees first.")
    nominal: Decimal = Field(description="What the scheme charges or grants, before caps.")
    points: Decimal = Field(description="Signed effect on the score after caps (-2.5, +1).")
    capped_by: str | None = None
    post: str | None = Field(default=None, description="Persons: the post it was borne under.")
    explanation: str = ""


class SideScore(_Frozen):
    side: Side
    title: str
    base: Decimal
    deducted: Decimal
    bonus: Decimal
    score: Decimal


class PostShare(_Frozen):
    """A cadre's share of the period in one post.

    ``borne``: deductions for findings borne under this post; ``shared``: this post's pro-rata
    part (by days held) of everything not tied to a post (the person's own duties, bonuses,
    the base). ``contribution`` adds up to the score across a cadre's posts.
    """

    post_name: str
    unit_code: str
    unit_name: str
    since: dt.date
    until: dt.date
    days: int
    share: Decimal
    base_share: Decimal
    borne: Decimal
    shared: Decimal
    contribution: Decimal


class BlockerHit(_Frozen):
    blocker_id: str
    title: str
    reason: str
    cap_grade: str | None
    blocks_commendation: bool


class Scorecard(_Frozen):
    subject_kind: Literal["unit", "person"]
    subject_id: str
    name: str
    unit_code: str | None = None
    unit_name: str = ""
    party_member: bool = False
    peer_group: str = Field(description="Peers are ranked together: a unit kind or a post.")
    peer_label: str
    evidence: EvidenceStatus
    passed: int
    failed: int
    no_evidence: int
    sides: list[SideScore]
    score: Decimal | None = Field(description="None: unrated, the period had no evidence.")
    computed_grade: str | None
    grade: str
    blockers: list[BlockerHit] = Field(default_factory=list)
    lines: list[ScoreLine] = Field(default_factory=list)
    posts: list[PostShare] = Field(default_factory=list)
    rank: int | None = None
    peers: int = 0
    position: int = 0
    tie_note: str = ""
    previous_score: Decimal | None = None
    delta: Decimal | None = None

    def side(self, side: Side) -> SideScore:
        return next(s for s in self.sides if s.side is side)


class CommendationEntry(_Frozen):
    kind: str
    subject_kind: Literal["unit", "person"]
    subject_id: str
    name: str
    peer_label: str
    score: Decimal | None
    grade: str
    rank: int | None
    peers: int
    qualifies: bool
    reasons: list[str]


class EvidenceSummary(_Frozen):
    findings: int
    passed: int
    failed: int
    no_evidence: int
    ignored: int = Field(description="Findings of other periods left out of this one.")

    @property
    def nothing_at_all(self) -> bool:
        """No finding decided anything: either none exists or all lack evidence."""
        return self.passed == 0 and self.failed == 0


class AssessmentResult(_Frozen):
    period: str
    scheme_name: str
    scheme_version: int
    scheme_title: str
    scheme_sha256: str
    inputs_sha256: str
    pack_versions: list[str]
    previous_period: str | None = None
    previous_source: str | None = None
    evidence: EvidenceSummary
    units: list[Scorecard]
    people: list[Scorecard]
    commendations: list[CommendationEntry]
    method: list[str] = Field(description="How shares, ties and gaps were handled, in words.")

    def sha256(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


def by_peer_group(cards: list[Scorecard]) -> dict[str, list[Scorecard]]:
    """Cards by peer label (党支部, 党支部书记 …), each list in display order."""
    grouped: dict[str, list[Scorecard]] = {}
    for card in cards:
        grouped.setdefault(card.peer_label, []).append(card)
    return grouped
