"""Checks: something must not happen, judged record by record."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rules.kinds.base import RuleBase
from rules.parts import Expression, FieldName, Lookup, RulePeriod


class Check(RuleBase):
    """Each record of the subject type that matches ``when`` must satisfy ``require``.

    ```yaml
    - id: major-procurement-decision
      kind: check
      title: {zh: 三重一大：大额采购须事先集体决策, en: Major procurement needs a prior decision}
      side: integrity
      severity: high
      ladder: integrity
      subject: {record: procurement}
      lookups:
        decision: {evidence: decision, match: {decision_no: decision_id}}
      when: "amount >= 1000000"
      require: "has(decision) AND decision.decided_on <= contract_date"
    ```
    A NULL result counts as not satisfied (``require``) or not selected (``when``).
    """

    kind: Literal["check"]
    period: RulePeriod = Field(
        default="none",
        description="none: every record; else only records dated in the inspected periods",
    )
    unit_field: FieldName | None = Field(
        default=None, description="the record's unit (jurisdiction); default: its only unit field"
    )
    lookups: dict[FieldName, Lookup] = Field(default_factory=dict)
    when: Expression | None = Field(default=None, description="which records are judged")
    require: Expression = Field(description="what a judged record must satisfy")
