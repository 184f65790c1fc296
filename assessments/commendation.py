"""The 两优一先 shortlist: who may be put forward for each title, and why or why not.

The shortlist proposes; the Party committee decides. So every candidate of the right kind is
listed, the qualified first, each with the reasons in words (✓ met, ✗ blocking, ! worth
knowing), because a committee asked "why is X not on the list" needs the answer on the page.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from assessments.inputs import AssessmentInputs
from assessments.results import CommendationEntry, Scorecard
from assessments.scheme import Commendation, Scheme
from rules.periods import Period


def shortlist(
    *, scheme: Scheme, inputs: AssessmentInputs, units: list[Scorecard], people: list[Scorecard]
) -> list[CommendationEntry]:
    period = Period.parse(inputs.period)
    held: dict[str, set[str]] = defaultdict(set)
    for post in inputs.posts:
        if post.days_within(period) > 0:
            held[post.person_code].add(post.post_name)
    unit_kind = {u.code: u.kind for u in inputs.units}
    entries: list[CommendationEntry] = []
    for title in scheme.commendations:
        if title.subject == "person":
            candidates = [
                card
                for card in people
                if (card.party_member or not title.party_member)
                and (not title.posts or held[card.subject_id] & set(title.posts))
            ]
        else:
            candidates = [
                card
                for card in units
                if not title.unit_kinds or unit_kind.get(card.subject_id) in title.unit_kinds
            ]
        found = [_entry(scheme, title, card, held[card.subject_id]) for card in candidates]
        entries += sorted(found, key=_order)
    return entries


def _entry(
    scheme: Scheme, title: Commendation, card: Scorecard, posts: set[str]
) -> CommendationEntry:
    reasons: list[str] = []
    ok = True
    if title.party_member:
        reasons.append("✓ 中共党员 / party member")
    if title.posts:
        names = "、".join(sorted(posts & set(title.posts)))
        reasons.append(f"✓ 任{names} / holds the post")
    if card.score is None:
        ok = False
        reasons.append("✗ 本期无证据，不予评定 / no evidence this period: unrated")
    else:
        if card.evidence == "none":
            ok = False
            reasons.append("✗ 本期检查结果均为无证据 / every finding lacks evidence")
        elif card.evidence == "partial":
            reasons.append(
                f"! {card.no_evidence} 项检查无证据 / {card.no_evidence} without evidence"
            )
        if scheme.grade_rank(card.grade) <= scheme.grade_rank(title.min_grade):
            reasons.append(f"✓ 考核等级“{card.grade}”，要求不低于“{title.min_grade}”")
        else:
            ok = False
            reasons.append(
                f"✗ 考核等级“{card.grade}”低于“{title.min_grade}” / grade below {title.min_grade}"
            )
        if title.max_rank is not None:
            if card.rank is not None and card.rank <= title.max_rank:
                reasons.append(f"✓ 同类排名第{card.rank}/{card.peers}（要求前{title.max_rank}）")
            else:
                ok = False
                reasons.append(
                    f"✗ 同类排名第{card.rank}/{card.peers}，未进前{title.max_rank}"
                    f" / not in the top {title.max_rank}"
                )
    for hit in card.blockers:
        if hit.blocks_commendation:
            ok = False
            reasons.append(f"✗ {hit.title}：{hit.reason}")
        elif hit.cap_grade:
            reasons.append(f"! {hit.title}（等级最高“{hit.cap_grade}”）：{hit.reason}")
    return CommendationEntry(
        kind=title.kind,
        subject_kind=card.subject_kind,
        subject_id=card.subject_id,
        name=card.name,
        peer_label=card.peer_label,
        score=card.score,
        grade=card.grade,
        rank=card.rank,
        peers=card.peers,
        qualifies=ok,
        reasons=reasons,
    )


def _order(entry: CommendationEntry) -> tuple[bool, Decimal, str]:
    score = entry.score if entry.score is not None else Decimal("-Infinity")
    return (not entry.qualifies, -score, entry.subject_id)
