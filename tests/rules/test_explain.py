"""explain(): the records behind one finding, each with what it did."""

from __future__ import annotations

import pytest

from dualduty.errors import UserError
from rules.explain import RecordStatus, explain
from rules.periods import Period
from tests.rules.helpers import compiled, connection
from tests.rules.test_engine import CHECK, COMMITTEE, DECISIONS, DUES, PROCUREMENTS, WINDOW


def statuses(result: object) -> list[tuple[str, int, RecordStatus]]:
    return [(r.evidence, r.id, r.status) for r in result.records]  # type: ignore[attr-defined]


def test_duty_lists_counted_late_and_not_matching_records() -> None:
    pack = compiled(COMMITTEE + DUES)
    meetings = [
        {"unit": "B01", "kind": "支委会", "held_on": "2026-03-02"},
        {"unit": "B01", "kind": "党员大会", "held_on": "2026-03-20"},
        {"unit": "B01", "kind": "支委会", "held_on": "2026-04-02"},
    ]
    dues = [
        {"member": "P02", "month": "2026-03", "amount": 50, "paid_on": "2026-04-20"},
        {"member": "P02", "month": "2026-03", "amount": 50, "paid_on": "2026-04-05"},
    ]
    con = connection(pack, {"meeting": meetings, "dues": dues})
    result = explain(pack, con, "committee", "B01", Period.parse("2026-03"))
    assert result.finding is not None
    assert result.finding.verdict.value == "pass"
    assert statuses(result) == [
        ("meeting", 1, RecordStatus.counted),
        ("meeting", 2, RecordStatus.not_matching),
    ]
    assert result.records[1].values == {
        "unit": "B01",
        "kind": "党员大会",
        "held_on": "2026-03-20",
        "attendance": "",
    }
    late = explain(pack, con, "dues", "P02", Period.parse("2026-03"))
    assert statuses(late) == [("dues", 5, RecordStatus.counted), ("dues", 4, RecordStatus.late)]
    assert late.records[1].note.startswith("2026-04-20 晚于截止日 2026-04-10")
    con.close()


def test_check_shows_the_record_and_what_it_looked_up() -> None:
    pack = compiled(CHECK)
    con = connection(pack, {"procurement": PROCUREMENTS, "decision": DECISIONS})
    result = explain(pack, con, "decision-first", "D1/V02/2026-03-12", Period.parse("2026-03"))
    assert statuses(result) == [
        ("procurement", 2, RecordStatus.passed),
        ("decision", 7, RecordStatus.looked_up),
        ("decision", 8, RecordStatus.looked_up),
    ]
    assert "不满足要求" in result.records[1].note  # decided after the contract
    assert "满足要求 / satisfies" in result.records[2].note
    missing = explain(pack, con, "decision-first", "D1/V03/2026-03-20", Period.parse("2026-03"))
    assert missing.records[-1].note == "关联 decision：未找到 / no decision record found"
    con.close()


def test_window_marks_the_records_of_windows_over_the_limit() -> None:
    pack = compiled(WINDOW)
    buys = [
        {"unit": "D1", "vendor": "V01", "amount": 600000, "contract_date": "2026-01-01"},
        {"unit": "D1", "vendor": "V01", "amount": 500000, "contract_date": "2026-03-01"},
        {"unit": "D1", "vendor": "V01", "amount": 500000, "contract_date": "2026-03-20"},
    ]
    con = connection(pack, {"procurement": buys})
    result = explain(pack, con, "split", "D1/V01", Period.parse("2026-Q1"))
    assert statuses(result) == [
        ("procurement", 1, RecordStatus.outside_window),
        ("procurement", 2, RecordStatus.in_window),
        ("procurement", 3, RecordStatus.in_window),
    ]
    assert "合计 1000000" in result.records[2].note
    con.close()


def test_unknown_subject_and_rule() -> None:
    pack = compiled(COMMITTEE)
    con = connection(pack, {"meeting": []})
    result = explain(pack, con, "committee", "B99", Period.parse("2026-03"))
    assert result.finding is None
    assert result.summary.startswith("本期没有 B99 的结论 / no finding for B99 in 2026-03")
    with pytest.raises(UserError, match="did you mean 'committee'"):
        explain(pack, con, "comittee", "B01", Period.parse("2026-03"))
    con.close()
