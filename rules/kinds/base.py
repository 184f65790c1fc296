"""What every rule says, whatever its kind: identity, texts, side, severity, ladder, period."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rules.findings import Severity, Side
from rules.parts import RULE_ID_PATTERN, Bearer, Bilingual, FieldName, PeriodSpec, Subject


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID_PATTERN, description="kebab-case, unique in the pack")
    title: Bilingual
    description: Bilingual | None = None
    catalogue: list[str] = Field(
        default_factory=list, description="catalogue items covered (A2, B10, C1 …)"
    )
    side: Side = Field(description="business (业务) or integrity (党风廉政/党建)")
    severity: Severity = Field(description="low, medium, high or critical")
    ladder: str | None = Field(
        default=None, description="escalation ladder: one of the pack's or the shipped ladders"
    )
    subject: Subject
    bearer: Bearer | None = None
    date_field: FieldName | None = Field(
        default=None, description="the record's date; default: its only date field"
    )

    @property
    def period_spec(self) -> PeriodSpec:
        return PeriodSpec.parse(getattr(self, "period", "none"))
