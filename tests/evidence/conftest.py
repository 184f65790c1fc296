"""Shared evidence types for the evidence tests."""

from __future__ import annotations

import pytest

from evidence.types import EvidenceType


@pytest.fixture
def meeting_type() -> EvidenceType:
    return EvidenceType.model_validate(
        {
            "title": "会议记录 / meetings",
            "fields": {"unit": "unit", "kind": "str", "held_on": "date", "attendance": "int"},
            "key": ["unit", "kind", "held_on"],
        }
    )
