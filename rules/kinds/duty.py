"""Duties: something must happen, so many times (or so much) per subject per period."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from rules.kinds.base import RuleBase
from rules.parts import Expression, FieldName, RulePeriod


class Duty(RuleBase):
    """Count (or sum) a subject's records per period and compare with a threshold.

    ```yaml
    - id: branch-committee-monthly
      kind: duty
      title: {zh: 支委会每月至少召开一次, en: Branch committee meets at least monthly}
      side: integrity
      severity: medium
      ladder: standard
      subject: {unit_kinds: [branch]}
      bearer: 党支部书记
      evidence: meeting
      where: "kind = '支委会'"
      period: month
      at_least: 1
    ```
    A record belongs to a period by its ``date_field``, or, with ``period_field``, by the period
    label it is for (``2026-03``); then it counts only if dated by the period's due date (its end,
    or the fixed deadline, plus ``grace_days``): late is not on time.
    """

    kind: Literal["duty"]
    evidence: str = Field(description="the evidence type counted")
    subject_field: FieldName | None = Field(
        default=None,
        description="the record's field holding the subject's code; default: its only unit "
        "field (unit subjects) or only person field (people)",
    )
    period: RulePeriod = Field(description="month, quarter, half, year, none, or MM-DD")
    period_field: FieldName | None = Field(
        default=None, description="text field naming the period a record is for (2026-03)"
    )
    grace_days: int = Field(default=0, ge=0, le=366)
    where: Expression | None = Field(default=None, description="which records count")
    sum: FieldName | None = Field(default=None, description="sum this numeric field")
    distinct: FieldName | None = Field(default=None, description="count distinct values")
    at_least: Decimal | None = None
    at_most: Decimal | None = None

    @model_validator(mode="after")
    def _threshold(self) -> Duty:
        if self.at_least is None and self.at_most is None:
            raise ValueError("a duty needs at_least or at_most / 须给出 at_least 或 at_most")
        if self.sum is not None and self.distinct is not None:
            raise ValueError("sum and distinct exclude each other / sum 与 distinct 只能选一")
        return self
