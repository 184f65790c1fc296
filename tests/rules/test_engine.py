"""The engine, kind by kind: passing and failing subjects, late records, bearers that follow
the post, windows, lookups, set membership, scope and no-evidence."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from dualduty.errors import NotFoundError
from rules.compiler import CompiledPack, content_version
from rules.engine import FINDINGS_SCHEMA, evaluate, evaluate_table
from rules.findings import Finding, SubjectKind, Verdict
from rules.periods import Period
from tests.rules.helpers import compiled, connection

COMMITTEE = """
- id: committee
  kind: duty
  title: 支委会每月至少召开一次
  side: integrity
  severity: medium
  ladder: standard
  subject: {unit_kinds: [branch]}
  bearer: 党支部书记
  evidence: meeting
  where: "kind = '支委会'"
  period: month
  at_least: 1
"""

MEETINGS = [
    {"unit": "B01", "kind": "支委会", "held_on": "2026-02-03"},
    {"unit": "B01", "kind": "党员大会", "held_on": "2026-03-20"},
    {"unit": "B02", "kind": "支委会", "held_on": "2026-03-15"},
    {"unit": "B02", "kind": "支委会", "held_on": "2026-07-15"},
]


def run(
    pack: CompiledPack, evidence: dict[str, list[dict[str, Any]]], period: str, **kw: Any
) -> dict[tuple[str, str, str], Finding]:
    con = connection(pack, evidence)
    try:
        found = evaluate(pack, con, Period.parse(period), **kw)
    finally:
        con.close()
    return {(f.rule_id, f.subject_id, f.period): f for f in found}


def verdicts(found: dict[tuple[str, str, str], Finding]) -> dict[str, str]:
    return {subject: f.verdict.value for (_, subject, _), f in found.items()}


def test_duty_count_pass_and_fail_with_bearer_and_words() -> None:
    pack = compiled(COMMITTEE)
    found = run(pack, {"meeting": MEETINGS}, "2026-03")
    assert verdicts(found) == {"B01": "fail", "B02": "pass", "B03": "fail"}
    b01 = found[("committee", "B01", "2026-03")]
    assert b01.bearer_person == "P01"
    assert b01.bearer_post == "党支部书记"
    assert b01.subject_kind is SubjectKind.unit
    assert b01.unit_code == "B01"
    assert b01.pack == "test-pack"
    assert b01.pack_version == pack.version
    assert b01.ladder == "standard"
    assert b01.evidence_ids == []
    assert b01.explanation == (
        "2026-03：计入的「会议记录」0 条，要求至少 1 条 / "
        "0 matching meeting record(s), at least 1 required"
    )
    b02 = found[("committee", "B02", "2026-03")]
    assert b02.evidence_ids == [3]
    # B03 has no secretary at all: the finding says so by having no bearer.
    assert found[("committee", "B03", "2026-03")].bearer_person is None


def test_the_duty_follows_the_post_when_it_changes_hands() -> None:
    pack = compiled(COMMITTEE)
    march = run(pack, {"meeting": MEETINGS}, "2026-03")
    july = run(pack, {"meeting": MEETINGS}, "2026-07")
    assert march[("committee", "B01", "2026-03")].bearer_person == "P01"
    assert july[("committee", "B01", "2026-07")].bearer_person == "P02"


def test_bearer_at_period_start_and_up_the_tree() -> None:
    rules = COMMITTEE.replace("bearer: 党支部书记", "bearer: {post: 党支部书记, at: period_start}")
    rules = rules.replace("period: month", "period: half")
    # P02 took over on 07-01: the second half-year starts with them, the first with P01.
    h2 = run(compiled(rules), {"meeting": MEETINGS}, "2026-H2")
    assert h2[("committee", "B01", "2026-H2")].bearer_person == "P02"
    h1 = run(compiled(rules), {"meeting": MEETINGS}, "2026-H1")
    assert h1[("committee", "B01", "2026-H1")].bearer_person == "P01"
    up = COMMITTEE.replace("bearer: 党支部书记", "bearer: {post: 党委书记, up: true}")
    found = run(compiled(up), {"meeting": MEETINGS}, "2026-03")
    assert found[("committee", "B03", "2026-03")].bearer_person == "P04"  # M2's secretary
    assert found[("committee", "B01", "2026-03")].bearer_person is None  # M1 has none


def test_periods_falling_due_in_the_inspected_period() -> None:
    pack = compiled(COMMITTEE)
    found = run(pack, {"meeting": MEETINGS}, "2026-Q1")
    assert sorted({period for (_, _, period) in found}) == ["2026-01", "2026-02", "2026-03"]
    quarterly = compiled(COMMITTEE.replace("period: month", "period: quarter"))
    assert run(quarterly, {"meeting": MEETINGS}, "2026-02") == {}
    assert {p for (_, _, p) in run(quarterly, {"meeting": MEETINGS}, "2026-03")} == {"2026-Q1"}


def test_no_evidence_when_the_type_has_no_record_in_the_period() -> None:
    pack = compiled(COMMITTEE)
    found = run(pack, {"meeting": MEETINGS}, "2026-05")
    assert set(verdicts(found).values()) == {"no-evidence"}
    assert (
        "本期没有任何「会议记录」记录，无法判断"
        in found[("committee", "B01", "2026-05")].explanation
    )


def test_sum_and_threshold_range_and_distinct() -> None:
    rules = """
    - id: hours
      kind: duty
      title: 学时
      side: integrity
      severity: low
      subject: {party_member: true}
      evidence: training
      sum: hours
      period: year
      at_least: 32
    - id: not-too-many
      kind: duty
      title: 学时区间
      side: business
      severity: low
      subject: {tags: [cadre]}
      evidence: training
      sum: hours
      period: year
      at_least: 10
      at_most: 40
    - id: distinct-days
      kind: duty
      title: 至少两个不同日期
      side: business
      severity: low
      subject: {party_member: true}
      evidence: training
      distinct: held_on
      period: year
      at_least: 2
    """
    training = [
        {"member": "P01", "hours": "20", "held_on": "2026-03-01"},
        {"member": "P01", "hours": "12.5", "held_on": "2026-03-01"},
        {"member": "P02", "hours": "45", "held_on": "2026-05-01"},
        {"member": "P05", "hours": "8", "held_on": "2026-05-01"},
        {"member": "P05", "hours": "8", "held_on": "2026-06-01"},
        {"member": "P03", "hours": "40", "held_on": "2025-12-31"},
    ]
    found = run(compiled(rules), {"training": training}, "2026")
    assert {s: f.verdict.value for (r, s, _), f in found.items() if r == "hours"} == {
        "P01": "pass",
        "P02": "pass",
        "P03": "fail",
        "P05": "fail",
    }
    assert {s: f.verdict.value for (r, s, _), f in found.items() if r == "not-too-many"} == {
        "P02": "fail",
        "P05": "pass",
    }
    assert {s: f.verdict.value for (r, s, _), f in found.items() if r == "distinct-days"} == {
        "P01": "fail",
        "P02": "fail",
        "P03": "fail",
        "P05": "pass",
    }
    assert "hours 合计 32.5" in found[("hours", "P01", "2026")].explanation
    assert "要求 10–40" in found[("not-too-many", "P02", "2026")].explanation
    # People subjects bear their own duty.
    assert found[("hours", "P01", "2026")].bearer_person == "P01"


DUES = """
- id: dues
  kind: duty
  title: 按月交纳党费
  side: integrity
  severity: low
  subject: {party_member: true}
  evidence: dues
  period: month
  period_field: month
  date_field: paid_on
  grace_days: 10
  at_least: 1
"""


def test_late_is_not_on_time() -> None:
    dues = [
        {"member": "P01", "month": "2026-03", "amount": 50, "paid_on": "2026-04-10"},  # in grace
        {"member": "P02", "month": "2026-03", "amount": 50, "paid_on": "2026-04-11"},  # late
        {"member": "P03", "month": "2026-02", "amount": 50, "paid_on": "2026-03-02"},  # other month
        {"member": "P05", "month": "2026-03", "amount": 50, "paid_on": "2026-02-20"},  # early
    ]
    found = run(compiled(DUES), {"dues": dues}, "2026-03")
    assert verdicts(found) == {"P01": "pass", "P02": "fail", "P03": "fail", "P05": "pass"}
    late = found[("dues", "P02", "2026-03")]
    assert late.evidence_ids == [2]
    assert late.explanation.endswith(
        "；另有 1 条逾期记录不计入 / 0 matching dues record(s), at least 1 required; "
        "1 late record(s) not counted (late is not on time)"
    )


def test_fixed_yearly_deadline() -> None:
    rules = """
    - id: pledge
      kind: duty
      title: 一季度末前签订责任书
      side: integrity
      severity: medium
      subject: {posts: [部门负责人, 党支部书记]}
      evidence: training
      period: "03-31"
      at_least: 1
    """
    training = [
        {"member": "P05", "hours": 1, "held_on": "2026-03-31"},
        {"member": "P01", "hours": 1, "held_on": "2026-04-01"},
    ]
    pack = compiled(rules)
    found = run(pack, {"training": training}, "2026-03")
    # Subjects are the holders on the reference date (the year's end): P02 replaced P01.
    assert verdicts(found) == {"P05": "pass", "P02": "fail", "P03": "fail"}
    assert found[("pledge", "P05", "2026")].unit_code == "D1"
    # The deadline falls due in March, so other months do not judge it.
    assert run(pack, {"training": training}, "2026-04") == {}


CHECK = """
- id: decision-first
  kind: check
  title: 大额采购须事先集体决策
  side: integrity
  severity: high
  subject: {record: procurement}
  bearer: {post: 部门负责人, up: true}
  period: month
  lookups:
    decision: {evidence: decision, match: {id: decision_id}}
  when: "amount >= 1000000"
  require: "has(decision) AND decision.decided_on <= contract_date"
"""

PROCUREMENTS = [
    {
        "unit": "D1",
        "vendor": "V01",
        "amount": "150万",
        "contract_date": "2026-03-10",
        "decision_id": "DEC-1",
    },
    {
        "unit": "D1",
        "vendor": "V02",
        "amount": 2500000,
        "contract_date": "2026-03-12",
        "decision_id": "DEC-2",
    },
    {"unit": "D1", "vendor": "V03", "amount": 1200000, "contract_date": "2026-03-20"},
    {"unit": "B03", "vendor": "V04", "amount": 900000, "contract_date": "2026-03-21"},
    {
        "unit": "B03",
        "vendor": "V05",
        "amount": 3000000,
        "contract_date": "2026-02-21",
        "decision_id": "DEC-3",
    },
]
DECISIONS = [
    {"id": "DEC-1", "unit": "D1", "decided_on": "2026-03-01"},
    {"id": "DEC-2", "unit": "D1", "decided_on": "2026-03-15"},
    {"id": "DEC-2", "unit": "D1", "decided_on": "2026-03-11"},  # a second decision record
    {"id": "DEC-3", "unit": "B03", "decided_on": "2026-02-01"},
]


def test_check_with_lookup_any_match_counts() -> None:
    found = run(compiled(CHECK), {"procurement": PROCUREMENTS, "decision": DECISIONS}, "2026-03")
    # V02 has two decision records; the earlier one (03-11) precedes the contract: pass.
    assert verdicts(found) == {
        "D1/V01/2026-03-10": "pass",
        "D1/V02/2026-03-12": "pass",
        "D1/V03/2026-03-20": "fail",
    }
    v03 = found[("decision-first", "D1/V03/2026-03-20", "2026-03")]
    assert v03.subject_kind is SubjectKind.record
    assert v03.bearer_person == "P05"
    assert v03.evidence_ids == [3]
    assert v03.explanation.startswith("记录 D1/V03/2026-03-20 不满足要求")
    v02 = found[("decision-first", "D1/V02/2026-03-12", "2026-03")]
    assert v02.evidence_ids == [2, 7, 8]  # the record and both decisions


def test_check_without_any_looked_up_evidence_is_no_evidence() -> None:
    found = run(compiled(CHECK), {"procurement": PROCUREMENTS}, "2026-03")
    assert set(verdicts(found).values()) == {"no-evidence"}


def test_check_period_none_judges_every_record() -> None:
    rules = CHECK.replace("period: month", "period: none")
    found = run(compiled(rules), {"procurement": PROCUREMENTS, "decision": DECISIONS}, "2026-03")
    assert len(found) == 4
    assert found[("decision-first", "B03/V05/2026-02-21", "")].verdict is Verdict.passed


def test_set_membership_through_chained_and_post_lookups() -> None:
    rules = """
    - id: vendor-kin
      kind: check
      title: 供应商法定代表人不得为部门负责人亲属
      side: integrity
      severity: high
      subject: {record: procurement}
      lookups:
        head: {post: 部门负责人, unit: unit, at: contract_date}
        vendor: {evidence: vendor, match: {code: vendor}}
        kin: {evidence: relative, match: {cadre: head.person, name: vendor.legal_rep}}
      require: "NOT has(kin)"
    """
    evidence = {
        "procurement": PROCUREMENTS,
        "vendor": [{"code": "V01", "legal_rep": "陈明"}, {"code": "V02", "legal_rep": "赵六"}],
        "relative": [{"cadre": "P05", "name": "陈明"}, {"cadre": "P01", "name": "赵六"}],
    }
    found = run(compiled(rules), evidence, "2026-03")
    assert verdicts(found)["D1/V01/2026-03-10"] == "fail"  # the head's brother
    assert verdicts(found)["D1/V02/2026-03-12"] == "pass"  # someone else's relative
    assert verdicts(found)["B03/V04/2026-03-21"] == "pass"  # B03 has no 部门负责人
    assert found[("vendor-kin", "D1/V01/2026-03-10", "")].evidence_ids == [1, 6, 8]


WINDOW = """
- id: split
  kind: window
  title: 化整为零
  side: integrity
  severity: high
  subject: {record: procurement}
  period: quarter
  group_by: [unit, vendor]
  within_days: 30
  where: "amount < 1000000"
  sum: amount
  at_least: 1000000
"""


def test_window_flags_runs_within_the_group_only() -> None:
    buys = [
        # V01: three small buys, 30 days apart end to end: together 1.2M -> fail.
        {"unit": "D1", "vendor": "V01", "amount": 400000, "contract_date": "2026-01-01"},
        {"unit": "D1", "vendor": "V01", "amount": 400000, "contract_date": "2026-01-15"},
        {"unit": "D1", "vendor": "V01", "amount": 400000, "contract_date": "2026-01-31"},
        # V02: 31 days apart -> never in one window.
        {"unit": "D1", "vendor": "V02", "amount": 900000, "contract_date": "2026-02-01"},
        {"unit": "D1", "vendor": "V02", "amount": 900000, "contract_date": "2026-03-04"},
        # V03: a big one is not "each below": only one small record remains.
        {"unit": "D1", "vendor": "V03", "amount": 1500000, "contract_date": "2026-02-01"},
        {"unit": "D1", "vendor": "V03", "amount": 100000, "contract_date": "2026-02-02"},
        # Same vendor at another unit is another group.
        {"unit": "B03", "vendor": "V01", "amount": 900000, "contract_date": "2026-01-20"},
        # A window ending in Q2 that reaches back into Q1 belongs to Q2.
        {"unit": "D1", "vendor": "V04", "amount": 600000, "contract_date": "2026-03-25"},
        {"unit": "D1", "vendor": "V04", "amount": 600000, "contract_date": "2026-04-05"},
    ]
    pack = compiled(WINDOW)
    q1 = run(pack, {"procurement": buys}, "2026-Q1")
    assert verdicts(q1) == {
        "D1/V01": "fail",
        "D1/V02": "pass",
        "D1/V03": "pass",
        "B03/V01": "pass",
        "D1/V04": "pass",
    }
    v01 = q1[("split", "D1/V01", "2026-Q1")]
    assert v01.evidence_ids == [1, 2, 3]
    assert "30 天内 3 笔" in v01.explanation
    assert "合计 1200000" in v01.explanation
    assert v01.unit_code == "D1"
    q2 = run(pack, {"procurement": buys}, "2026-Q2")
    assert verdicts(q2) == {"D1/V04": "fail"}
    assert q2[("split", "D1/V04", "2026-Q2")].evidence_ids == [9, 10]


def test_scope_limits_subjects_to_a_subtree() -> None:
    pack = compiled(COMMITTEE + CHECK.replace("period: month", "period: none"))
    evidence = {"meeting": MEETINGS, "procurement": PROCUREMENTS, "decision": DECISIONS}
    found = run(pack, evidence, "2026-03", scope="M2")
    assert {(r, s) for (r, s, _) in found} == {
        ("committee", "B03"),
        ("decision-first", "B03/V05/2026-02-21"),
    }
    assert {f.unit_code for f in found.values()} == {"B03"}
    everything = run(pack, evidence, "2026-03", scope="C")
    assert len(everything) == len(run(pack, evidence, "2026-03"))
    with pytest.raises(NotFoundError, match="no unit 'M9'"):
        run(pack, evidence, "2026-03", scope="M9")


def test_evaluate_table_and_verdict_filter() -> None:
    pack = compiled(COMMITTEE)
    con = connection(pack, {"meeting": MEETINGS})
    table = evaluate_table(pack, con, Period.parse("2026-03"))
    assert table.schema == FINDINGS_SCHEMA
    assert table.num_rows == 3
    failing = evaluate(pack, con, Period.parse("2026-03"), verdicts={Verdict.failed})
    assert sorted(f.subject_id for f in failing) == ["B01", "B03"]
    empty = evaluate_table(pack, con, Period.parse("2026-03"), rules=[])
    assert empty.num_rows == 0
    assert isinstance(empty, pa.Table)
    con.close()


def test_pack_version_is_content_not_formatting() -> None:
    base = compiled(COMMITTEE)
    reformatted = compiled("# a comment\n" + COMMITTEE.replace("  title:", "  title:   "))
    changed = compiled(COMMITTEE.replace("at_least: 1", "at_least: 2"))
    assert base.version == reformatted.version == content_version(base.pack)
    assert changed.version != base.version
    assert len(base.version) == 64


def test_missing_evidence_tables_are_created_empty() -> None:
    pack = compiled(COMMITTEE)
    from evidence.frames import connect, create_org_tables

    con = connect()
    create_org_tables(con)
    con.execute("INSERT INTO org_units VALUES ('B01', '', 'branch', NULL)")
    found = evaluate(pack, con, Period.parse("2026-03"))
    assert [(f.subject_id, f.verdict) for f in found] == [("B01", Verdict.no_evidence)]
    con.close()


def test_a_table_of_another_shape_is_a_run_error_naming_the_rule() -> None:
    from dualduty.errors import RunError

    pack = compiled(COMMITTEE)
    con = connection(pack, {"meeting": MEETINGS})
    con.execute("ALTER TABLE ev_meeting DROP COLUMN kind")
    with pytest.raises(RunError, match="rule committee could not run"):
        evaluate(pack, con, Period.parse("2026-03"))
    con.close()


def test_untold_passes_lose_only_their_words_and_ids() -> None:
    """Every kind (the benchmark pack has 13 rules of all of them): with ``detailed_passes``,
    verdicts and bearers are the same, failures keep their words and ids, and a pass is detailed
    exactly when its key is asked for."""
    from pathlib import Path

    from benchmarks.company import generate
    from evidence import frames
    from rules.compiler import load_pack

    pack = load_pack(Path(__file__).parents[2] / "benchmarks" / "pack.yaml")
    con = frames.connect()
    try:
        generate(con, pack, records=4000, units=60, people=600, seed=3)
        year = Period.parse("2026")
        full = evaluate_table(pack, con, year).to_pylist()
        passes = [r for r in full if r["verdict"] == "pass"]
        asked = {(r["rule_id"], r["subject_id"], r["period"]) for r in passes[::7]}
        lean = evaluate_table(pack, con, year, detailed_passes=asked).to_pylist()
    finally:
        con.close()
    assert {r["rule_id"] for r in full} == {p.id for p in pack.plans}
    assert {r["verdict"] for r in full} == {"pass", "fail"}
    key = lambda r: (r["rule_id"], r["subject_id"], r["period"])  # noqa: E731
    by_key = {key(r): r for r in full}
    assert len(lean) == len(full) == len(by_key)
    detailed = 0
    for row in lean:
        whole = by_key[key(row)]
        assert {k: v for k, v in row.items() if k not in ("explanation", "evidence_ids")} == {
            k: v for k, v in whole.items() if k not in ("explanation", "evidence_ids")
        }
        if row["verdict"] != "pass" or key(row) in asked:
            assert (row["explanation"], row["evidence_ids"]) == (
                whole["explanation"],
                whole["evidence_ids"],
            )
            detailed += 1
        else:
            assert (row["explanation"], row["evidence_ids"]) == ("", [])
    assert detailed < len(lean)


def test_rules_run_as_written_and_leave_the_connection_as_found() -> None:
    """Each rule's query runs with DuckDB's build-side optimizer off (``_AS_WRITTEN``); the
    caller's connection gets its setting back."""
    from rules import engine

    assert engine._optimizer_known()  # the DuckDB this project installs has it
    pack = compiled(COMMITTEE)
    con = connection(pack, {"meeting": MEETINGS})
    try:
        evaluate(pack, con, Period.parse("2026-03"))
        setting = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()
    finally:
        con.close()
    assert setting == [("",)]
