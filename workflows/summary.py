"""What an inspection found, in the shapes people read: counts by rule, by unit and by verdict,
the case changes, and the failing findings. The CLI prints it as rich tables; the Prefect flow
publishes it as a markdown artifact and a table artifact; both come from here."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from models.inspections import RunCounts
from rules.engine import findings as engine_findings
from rules.findings import Verdict

STEPS = ("sync_org", "gather", "evaluate", "reconcile", "escalate")
STEP_LABELS = {
    "sync_org": "同步组织 / sync org",
    "gather": "采集证据 / gather evidence",
    "evaluate": "评估规则 / evaluate rules",
    "reconcile": "更新问题 / reconcile cases",
    "escalate": "升级督办 / escalate",
}
FAILING_ROWS_LIMIT = 1000  # a table artifact beyond this is unreadable; the count says how many


class InspectionRequest(BaseModel):
    """What to inspect. ``pack`` is the pack file's path as the running machine sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pack: str
    period: str  # a period label: 2026-03, 2026-Q1, 2026-H1, 2026
    scope: str | None = None  # unit code: inspect its subtree only
    rules: list[str] | None = None  # only these rules of the pack (re-checking a fix)
    trigger: str = "cli"


class VerdictCount(BaseModel):
    key: str  # rule id or unit code
    passed: int = 0
    failed: int = 0
    no_evidence: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.no_evidence


class FailingFinding(BaseModel):
    rule_id: str
    subject_id: str
    unit_code: str | None
    period: str
    severity: str
    side: str
    bearer: str | None
    explanation: str


class Timed(BaseModel):
    """Where a command's seconds went: starting the process (interpreter and imports),
    orchestration (Prefect's server, flow and task bookkeeping; the run lock and records in
    the library), and the inspection's work."""

    engine: str  # "prefect" or "library"
    process_seconds: float | None = None  # process start to the command; None: unknown
    total_seconds: float  # the command, from its start to the result
    work_seconds: float

    @property
    def startup_seconds(self) -> float:
        return max(self.total_seconds - self.work_seconds, 0.0)


class StepTiming(BaseModel):
    step: str
    seconds: float


class InspectionSummary(BaseModel):
    run_id: int
    pack: str
    pack_version: str
    period: str
    scope: str | None
    counts: RunCounts
    by_rule: list[VerdictCount] = Field(default_factory=list)
    by_unit: list[VerdictCount] = Field(default_factory=list)
    failing: list[FailingFinding] = Field(default_factory=list)  # at most FAILING_ROWS_LIMIT
    steps: list[StepTiming] = Field(default_factory=list)

    @property
    def work_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def _count(findings: pa.Table, column: str) -> list[VerdictCount]:
    """Verdicts counted per value of ``column``, grouped in Arrow (a million findings)."""
    if not findings.num_rows:
        return []
    keys = pc.fill_null(findings[column].cast(pa.string()), "-")
    grouped = (
        pa.table({"key": keys, "verdict": findings["verdict"].cast(pa.string())})
        .group_by(["key", "verdict"])
        .aggregate([([], "count_all")])
    )
    counts: dict[str, VerdictCount] = {}
    for key, verdict, n in zip(
        grouped["key"].to_pylist(),
        grouped["verdict"].to_pylist(),
        grouped["count_all"].to_pylist(),
        strict=True,
    ):
        row = counts.setdefault(key, VerdictCount(key=key))
        match Verdict(verdict):
            case Verdict.passed:
                row.passed = n
            case Verdict.failed:
                row.failed = n
            case Verdict.no_evidence:
                row.no_evidence = n
    return [counts[key] for key in sorted(counts)]


def by_rule(findings: pa.Table) -> list[VerdictCount]:
    return _count(findings, "rule_id")


def by_unit(findings: pa.Table) -> list[VerdictCount]:
    return _count(findings, "unit_code")


def failing(findings: pa.Table, limit: int = FAILING_ROWS_LIMIT) -> list[FailingFinding]:
    """The first ``limit`` failures by rule, unit and subject (sorted in Arrow, so only those
    cross into Python)."""
    failed = findings.filter(pc.equal(findings["verdict"], Verdict.failed.value))
    keys = pa.table(
        {
            "rule": failed["rule_id"].cast(pa.string()),
            "unit": pc.fill_null(failed["unit_code"], ""),
            "subject": failed["subject_id"],
        }
    )
    order = pc.sort_indices(
        keys, sort_keys=[("rule", "ascending"), ("unit", "ascending"), ("subject", "ascending")]
    )
    first = failed.take(order[:limit])
    return [
        FailingFinding(
            rule_id=f.rule_id,
            subject_id=f.subject_id,
            unit_code=f.unit_code,
            period=f.period,
            severity=f.severity,
            side=f.side,
            bearer=f.bearer_person,
            explanation=f.explanation,
        )
        for f in engine_findings(first)
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


def _verdict_rows(counts: list[VerdictCount]) -> list[list[str]]:
    return [[c.key, str(c.failed), str(c.no_evidence), str(c.passed), str(c.total)] for c in counts]


def markdown(summary: InspectionSummary) -> str:
    """The inspection report as Markdown (the Prefect artifact; also readable as plain text)."""
    c = summary.counts
    scope = summary.scope or "全部 / all"
    lines = [
        f"# 检查结果 / Inspection {summary.pack} {summary.period}",
        "",
        f"- 范围 / scope: {scope}",
        f"- 规则包版本 / pack version: `{summary.pack_version[:12]}`",
        f"- 运行 / run: #{summary.run_id}",
        f"- 证据 / evidence: {c.evidence_fetched} fetched, {c.evidence_new} new, "
        f"{c.evidence_changed} changed",
        f"- 结论 / findings: {c.findings} — 不合格 fail {c.failed}, 无证据 no-evidence "
        f"{c.no_evidence}, 合格 pass {c.passed}",
        f"- 问题 / cases: 新增 new {c.cases_opened}, 仍未整改 still open {c.cases_still_open}, "
        f"重新打开 reopened {c.cases_reopened}, 已解决 resolved {c.cases_resolved}",
        f"- 通知 / notifications queued: {c.notifications}",
        "",
        "## 按规则 / by rule",
        "",
        *_table(
            ["规则 / rule", "不合格 fail", "无证据 no-evidence", "合格 pass", "合计 total"],
            _verdict_rows(summary.by_rule),
        ),
        "",
        "## 按单位 / by unit",
        "",
        *_table(
            ["单位 / unit", "不合格 fail", "无证据 no-evidence", "合格 pass", "合计 total"],
            _verdict_rows(summary.by_unit),
        ),
    ]
    if summary.steps:
        lines += [
            "",
            "## 耗时 / timing",
            "",
            *_table(
                ["步骤 / step", "秒 / s"], [[s.step, f"{s.seconds:.2f}"] for s in summary.steps]
            ),
        ]
    return "\n".join(lines) + "\n"


def failing_table(summary: InspectionSummary) -> list[dict[str, str]]:
    """Rows for Prefect's table artifact (it takes a list of flat dicts)."""
    return [
        {
            "规则 rule": f.rule_id,
            "对象 subject": f.subject_id,
            "单位 unit": f.unit_code or "",
            "期间 period": f.period,
            "严重程度 severity": f.severity,
            "责任人 bearer": f.bearer or "",
            "说明 explanation": f.explanation,
        }
        for f in summary.failing
    ]
