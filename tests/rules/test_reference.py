"""The engine against a straightforward per-record Python evaluation of the same rules, on
generated data (hypothesis): the SQL and the plain reading of the rules must agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import evaluate
from rules.periods import Period
from tests.rules.helpers import ORG, compiled, connection

RULES = """
- id: committee
  kind: duty
  title: 支委会
  side: integrity
  severity: medium
  subject: {unit_kinds: [branch]}
  bearer: 党支部书记
  evidence: meeting
  where: "kind = '支委会'"
  period: month
  at_least: 2
- id: dues
  kind: duty
  title: 党费
  side: integrity
  severity: low
  subject: {party_member: true}
  evidence: dues
  period: month
  period_field: month
  date_field: paid_on
  grace_days: 10
  where: "amount > 0"
  at_least: 1
- id: decision-first
  kind: check
  title: 决策在先
  side: integrity
  severity: high
  subject: {record: procurement}
  lookups:
    decision: {evidence: decision, match: {id: decision_id}}
  when: "amount >= 1000000"
  require: "has(decision) AND decision.decided_on <= contract_date"
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
PACK = compiled(RULES)
BRANCHES = [u.code for u in ORG.units if u.kind == "branch"]
MEMBERS = [p.code for p in ORG.people if p.party_member]

days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 6, 30))
meetings = st.lists(
    st.fixed_dictionaries(
        {
            "unit": st.sampled_from([*BRANCHES, "D1"]),
            "kind": st.sampled_from(["支委会", "党员大会"]),
            "held_on": days,
        }
    ),
    max_size=25,
)
dues = st.lists(
    st.fixed_dictionaries(
        {
            "member": st.sampled_from(["P01", "P02", "P03", "P04", "P05"]),
            "month": st.sampled_from(["2026-02", "2026-03"]),
            "amount": st.sampled_from([0, 20, 50]),
            "paid_on": days,
        }
    ),
    max_size=15,
)
procurements = st.lists(
    st.fixed_dictionaries(
        {
            "unit": st.sampled_from(["D1", "B03"]),
            "vendor": st.sampled_from(["V1", "V2", "V3"]),
            "amount": st.integers(1, 15).map(lambda n: n * 100000),
            "contract_date": days,
            "decision_id": st.sampled_from([None, "DEC-1", "DEC-2", "DEC-3"]),
        }
    ),
    max_size=25,
    unique_by=lambda r: (r["unit"], r["vendor"], r["contract_date"]),
)
decisions = st.lists(
    st.fixed_dictionaries({"id": st.sampled_from(["DEC-1", "DEC-2", "DEC-3"]), "decided_on": days}),
    max_size=5,
)

Key = tuple[str, str, str]


def reference(data: dict[str, list[dict[str, Any]]]) -> dict[Key, str]:
    """The rules read plainly, one record at a time, for an inspection of March 2026."""
    result: dict[Key, str] = {}
    march = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))

    in_march = [m for m in data["meeting"] if march[0] <= m["held_on"] <= march[1]]
    for unit in BRANCHES:
        count = sum(1 for m in in_march if m["unit"] == unit and m["kind"] == "支委会")
        verdict = "no-evidence" if not in_march else ("pass" if count >= 2 else "fail")
        result[("committee", unit, "2026-03")] = verdict

    for_march = [d for d in data["dues"] if d["month"] == "2026-03"]
    due = dt.date(2026, 3, 31) + dt.timedelta(days=10)
    for member in MEMBERS:
        paid = [
            d
            for d in for_march
            if d["member"] == member and d["amount"] > 0 and d["paid_on"] <= due
        ]
        verdict = "no-evidence" if not for_march else ("pass" if paid else "fail")
        result[("dues", member, "2026-03")] = verdict

    for buy in data["procurement"]:
        if buy["amount"] < 1000000:
            continue
        key = f"{buy['unit']}/{buy['vendor']}/{buy['contract_date'].isoformat()}"
        ok = any(
            d["id"] == buy["decision_id"] and d["decided_on"] <= buy["contract_date"]
            for d in data["decision"]
        )
        verdict = "no-evidence" if not data["decision"] else ("pass" if ok else "fail")
        result[("decision-first", key, "")] = verdict

    # Inspecting March judges the quarter that ends in it.
    small = [b for b in data["procurement"] if b["amount"] < 1000000]
    q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    groups = {(b["unit"], b["vendor"]) for b in small if q1[0] <= b["contract_date"] <= q1[1]}
    for unit, vendor in groups:
        mine = [b for b in small if (b["unit"], b["vendor"]) == (unit, vendor)]
        failed = False
        for last in mine:
            if not q1[0] <= last["contract_date"] <= q1[1]:
                continue
            window = [
                b
                for b in mine
                if last["contract_date"] - dt.timedelta(days=30)
                <= b["contract_date"]
                <= last["contract_date"]
            ]
            total = sum(b["amount"] for b in window)
            failed = failed or (len(window) >= 2 and total >= 1000000)
        result[("split", f"{unit}/{vendor}", "2026-Q1")] = "fail" if failed else "pass"
    return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meetings, dues, procurements, decisions)
def test_engine_agrees_with_a_plain_reading(
    meeting: list[dict[str, Any]],
    due: list[dict[str, Any]],
    procurement: list[dict[str, Any]],
    decision: list[dict[str, Any]],
) -> None:
    data = {"meeting": meeting, "dues": due, "procurement": procurement, "decision": decision}
    con = connection(PACK, data)
    try:
        found = evaluate(PACK, con, Period.parse("2026-03"))
    finally:
        con.close()
    engine = {(f.rule_id, f.subject_id, f.period): f.verdict.value for f in found}
    assert engine == reference(data)
    # Bearers follow the post on the period's end; people bear their own dues.
    for f in found:
        if f.rule_id == "committee":
            assert f.bearer_person == {"B01": "P01", "B02": "P03"}.get(f.subject_id)
        if f.rule_id == "dues":
            assert f.bearer_person == f.subject_id


def test_reference_sees_a_violation() -> None:
    """Guard against a vacuous comparison: the reference itself flags a planted split."""
    data: dict[str, list[dict[str, Any]]] = {
        "meeting": [],
        "dues": [],
        "decision": [],
        "procurement": [
            {"unit": "D1", "vendor": "V1", "amount": Decimal(600000),
             "contract_date": dt.date(2026, 2, 1), "decision_id": None},
            {"unit": "D1", "vendor": "V1", "amount": Decimal(600000),
             "contract_date": dt.date(2026, 2, 20), "decision_id": None},
        ],
    }  # fmt: skip
    assert reference(data)[("split", "D1/V1", "2026-Q1")] == "fail"
