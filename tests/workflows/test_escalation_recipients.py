"""The escalation pass resolves recipients with the same declared-relatives lookup as the console."""

from __future__ import annotations

import pytest

from dualduty.settings import get_settings
from evidence.relatives import StoredRelatives
from models.users import no_declared_relatives
from workflows.escalation import recipient_resolver


def test_the_pass_uses_the_configured_relatives_lookup(db_env: str) -> None:
    resolver = recipient_resolver()
    assert isinstance(resolver.relatives, StoredRelatives)
    assert resolver.relatives.type_name == get_settings().relatives_type


def test_switched_off_relatives_mean_no_declared_relatives(
    db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUALDUTY_RELATIVES_TYPE", "")
    get_settings.cache_clear()
    try:
        assert recipient_resolver().relatives is no_declared_relatives
    finally:
        get_settings.cache_clear()
