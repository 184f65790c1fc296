"""The JSON API under /api: the same permissions as the pages, for automation.

Authenticate with ``Authorization: Bearer <token>`` (``dualduty users token create``), or with
the browser's session cookie plus the ``X-CSRF-Token`` header for unsafe methods.
"""

from __future__ import annotations

from fastapi import APIRouter

from console.deps import ApiUser
from console.schemas import Me

router = APIRouter()


@router.get("/me", response_model=Me, tags=["auth"])
def me(principal: ApiUser) -> Me:
    """Who the token or session belongs to, and what they may see."""
    return Me.model_validate(principal.user, from_attributes=True)
