"""Ranking peers: competition ranking (1, 1, 3) with a stated, stable order inside a tie.

Equal scores share a rank because the scheme cannot tell them apart; the next rank skips, so
"third" still means two did better. Inside a tie the list is ordered by the integrity side's
score (the half of the dual duty a tie is usually about), then by code, and each tied entry
says so, so a printed list never implies an order that the scores do not.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from assessments.results import Scorecard
from rules.findings import Side

TIEBREAK_NOTE = "同分按党风廉政得分、再按编码排列 / ties listed by integrity score, then code"


def rank_peers(cards: list[Scorecard]) -> list[Scorecard]:
    """Ranks within each peer group; unrated cards (no evidence) get no rank and come last.

    Returns the cards grouped by peer group (in first-seen order), each group in display order.
    """
    groups: dict[str, list[Scorecard]] = defaultdict(list)
    for card in cards:
        groups[card.peer_group].append(card)
    ranked: list[Scorecard] = []
    for members in groups.values():
        rated = sorted((c for c in members if c.score is not None), key=_display_key)
        unrated = sorted((c for c in members if c.score is None), key=lambda c: c.subject_id)
        tied_count = Counter(c.score for c in rated)
        rank = 0
        previous: Decimal | None = None
        for position, card in enumerate(rated, start=1):
            if card.score != previous:
                rank, previous = position, card.score
            tied = tied_count[card.score]
            note = f"并列第{rank}名（{tied}个）/ tied {rank} of {tied}" if tied > 1 else ""
            ranked.append(
                card.model_copy(
                    update={
                        "rank": rank,
                        "peers": len(rated),
                        "position": position,
                        "tie_note": note,
                    }
                )
            )
        for offset, card in enumerate(unrated, start=len(rated) + 1):
            ranked.append(
                card.model_copy(
                    update={
                        "rank": None,
                        "peers": len(rated),
                        "position": offset,
                        "tie_note": "无证据，不参与排名 / unrated, not ranked",
                    }
                )
            )
    return ranked


def _display_key(card: Scorecard) -> tuple[Decimal, Decimal, str]:
    assert card.score is not None
    return (-card.score, -card.side(Side.integrity).score, card.subject_id)
