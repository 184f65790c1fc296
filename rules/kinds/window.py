"""Windows: records that are each harmless but together cross a line (化整为零)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from rules.kinds.base import RuleBase
from rules.parts import Expression, FieldName, RulePeriod


class Window(RuleBase):
    """Within a group, records no more than ``within_days`` apart that each match ``where`` but
    whose ``sum`` reaches ``at_least`` (with at least ``min_count`` of them) fail together.

    ```yaml
    - id: split-purchase
      kind: window
      title: {zh: 化整为零规避招标, en: Purchases split to avoid tendering}
      side: integrity
      severity: high
      subject: {record: procurement}
      group_by: [unit, vendor]
      within_days: 90
      where: "amount < 2000000"
      sum: amount
      at_least: 2000000
    ```
    The subject of a finding is the group (``B01/V007``); a group fails for a period when a
    window ending in that period crosses the line, and passes when it has records there but no
    such window.
    """

    kind: Literal["window"]
    period: RulePeriod = Field(default="none")
    unit_field: FieldName | None = Field(default=None)
    group_by: list[FieldName] = Field(min_length=1, description="records compared together")
    within_days: int = Field(ge=1, le=3660, description="first to last record at most N days")
    where: Expression | None = Field(default=None, description="each record (e.g. below a limit)")
    sum: FieldName = Field(description="numeric field summed over the window")
    at_least: Decimal = Field(description="the window fails at or above this total")
    min_count: int = Field(default=2, ge=1, description="records needed in the window")
