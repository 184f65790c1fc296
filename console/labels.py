"""Bilingual display names the pages and the API share (中文 / English)."""

from __future__ import annotations

from rules.findings import Severity, Side, SubjectKind

SEVERITY_LABELS: dict[Severity, str] = {
    Severity.critical: "特别严重 / critical",
    Severity.high: "严重 / high",
    Severity.medium: "一般 / medium",
    Severity.low: "轻微 / low",
}

SIDE_LABELS: dict[Side, str] = {
    Side.business: "业务 / business",
    Side.integrity: "党风廉政 / integrity",
}

SUBJECT_KIND_LABELS: dict[SubjectKind, str] = {
    SubjectKind.unit: "单位 / unit",
    SubjectKind.person: "个人 / person",
    SubjectKind.record: "业务记录 / record",
}

EVENT_LABELS: dict[str, str] = {
    "opened": "立案 / opened",
    "finding_updated": "检查结果更新 / finding updated",
    "resolved": "已纠正 / resolved",
    "reopened": "重新打开 / reopened",
    "decision": "处理决定 / decision",
    "step_fired": "阶梯步骤执行 / ladder step sent",
    "step_lapsed": "提醒已过时 / reminder lapsed",
    "awaiting_approval": "待批准 / awaiting approval",
    "pause_ended": "整改期满 / rectification period ended",
    "ladder_problem": "阶梯配置问题 / ladder problem",
}
