"""Verdict sets on both databases: what is written, what is skipped, what reading returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import RunError
from models import inspections
from models.verdicts import VerdictSet, latest_verdicts, store_verdicts
from rules.engine import FINDINGS_SCHEMA, findings, findings_table
from rules.findings import Finding, Severity, Side, SubjectKind, Verdict
from tests.cases.helpers import finding as base_finding

NOW = dt.datetime(2026, 4, 10, 2, 0, tzinfo=dt.UTC)
Q1 = ["2026-01", "2026-02", "2026-03", "2026-Q1"]


def finding(
    subject: str,
    verdict: Verdict = Verdict.passed,
    *,
    rule: str = "branch-committee-monthly",
    period: str = "2026-03",
    **overrides: Any,
) -> Finding:
    told = verdict is not Verdict.passed
    return base_finding(
        subject,
        verdict=verdict,
        rule=rule,
        period=period,
        **{
            "ladder": None,
            "explanation": f"{period} 无支委会记录" if told else "",
            "evidence_ids": [7, 3] if told else [],
            **overrides,
        },
    )


def record(subject: str, verdict: Verdict = Verdict.passed) -> Finding:
    """A record check: judged on every inspection, without a period."""
    return finding(
        subject,
        verdict,
        rule="major-procurement-decision",
        period="",
        subject_kind=SubjectKind.record,
        unit_code="D01",
        ladder="standard",
    )


def store(
    session: Session,
    found: list[Finding],
    *,
    inspected: str = "2026-03",
    scope: str | None = None,
    now: dt.datetime = NOW,
    inspection_id: int | None = None,
) -> tuple[int, int, int]:
    result = store_verdicts(
        session,
        findings_table(found),
        inspected=inspected,
        scope=scope,
        inspection_id=inspection_id,
        now=now,
    )
    session.flush()
    return result.sets_written, result.sets_unchanged, result.rows


def latest(session: Session, periods: list[str] = Q1) -> list[Finding]:
    table = latest_verdicts(session, periods=periods)
    assert table.schema.equals(FINDINGS_SCHEMA)
    return sorted(findings(table), key=lambda f: (f.rule_id, f.period, f.subject_id))


def sets(session: Session) -> list[VerdictSet]:
    return list(session.scalars(sa.select(VerdictSet).order_by(VerdictSet.id)))


def test_round_trip(session: Session) -> None:
    run = inspections.start(
        session,
        pack="party-conduct",
        pack_version="v1",
        period="2026-Q1",
        scope=None,
        trigger="cli",
        now=NOW,
    )
    found = [
        finding("B01", Verdict.failed, period="2026-02"),
        finding("B02", period="2026-02", unit_code=None, bearer_person=None, bearer_post=None),
        finding("B01", Verdict.no_evidence, period="2026-03"),
        finding("B02", period="2026-03", explanation="2026-03 召开 1 次", evidence_ids=[9]),
        finding("B01", rule="themed-party-day", period="2026-Q1", side=Side.business),
        record("PO-1", Verdict.failed),
        record("PO-2"),
    ]
    assert store(session, found, inspected="2026-Q1", inspection_id=run.id) == (4, 0, 7)
    assert latest(session) == sorted(found, key=lambda f: (f.rule_id, f.period, f.subject_id))

    stored = {(s.rule_id, s.period): s for s in sets(session)}
    february = stored[("branch-committee-monthly", "2026-02")]
    assert (february.subjects, february.passed, february.failed, february.no_evidence) == (
        2,
        1,
        1,
        0,
    )
    assert (february.scope, february.inspected, february.inspection_id) == ("", "2026-Q1", run.id)
    assert february.pack_version == "v1" and len(february.content_hash) == 64
    assert february.recorded_at == NOW
    march = stored[("branch-committee-monthly", "2026-03")]
    assert (march.passed, march.no_evidence) == (1, 1)
    assert stored[("major-procurement-decision", "")].failed == 1


def test_an_unchanged_rerun_writes_nothing(session: Session) -> None:
    found = [finding("B01", Verdict.failed), finding("B02"), record("PO-1")]
    assert store(session, found) == (2, 0, 3)
    assert store(session, found) == (0, 2, 0)
    # Order and dictionaries play no part: the same findings the other way round are the same.
    assert store(session, list(reversed(found)), now=NOW + dt.timedelta(days=1)) == (0, 2, 0)
    assert len(sets(session)) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"pack_version": "v2"},
        {"explanation": "复查仍无记录"},
        {"evidence_ids": [7, 3, 11]},
        {"unit_code": ""},  # "" is not NULL
        {"bearer_post": None},
        {"severity": Severity.high},
        {"verdict": Verdict.no_evidence},
    ],
)
def test_any_change_of_content_is_a_new_set(session: Session, change: dict[str, Any]) -> None:
    found = [finding("B01", Verdict.failed), finding("B02")]
    assert store(session, found)[0] == 1
    changed = [found[0].model_copy(update=change), found[1]]
    assert store(session, changed) == (1, 0, 2)
    assert latest(session)[0] == changed[0]


def test_a_b_a_is_three_sets_and_the_latest_is_a(session: Session) -> None:
    a = [finding("B01", Verdict.failed), finding("B02")]
    b = [finding("B01"), finding("B02")]
    assert [store(session, x)[0] for x in (a, b, a)] == [1, 1, 1]
    assert len(sets(session)) == 3
    assert latest(session) == a


def test_a_scoped_set_newer_than_the_full_one_wins_for_its_subjects_only(
    session: Session,
) -> None:
    store(session, [finding("B01"), finding("B02"), finding("B03"), record("PO-1")])
    # The subtree of M01 (B02 and PO-1) is inspected again: B02 now fails, PO-1 too.
    store(
        session,
        [finding("B02", Verdict.failed), record("PO-1", Verdict.failed)],
        scope="M01",
        now=NOW + dt.timedelta(days=1),
    )
    verdicts = {f.subject_id: f.verdict for f in latest(session)}
    assert verdicts == {
        "B01": Verdict.passed,
        "B02": Verdict.failed,
        "B03": Verdict.passed,
        "PO-1": Verdict.failed,
    }
    # A later full inspection is newer than the scoped set: it wins for B02 again.
    store(
        session,
        [finding("B01"), finding("B02"), finding("B03"), record("PO-1", Verdict.failed)],
        now=NOW + dt.timedelta(days=2),
    )
    assert {f.subject_id: f.verdict for f in latest(session)}["B02"] is Verdict.passed
    # The subtree again, unchanged for its own scope: but the full set is newer and holds B02,
    # so the scoped set is written again to be the latest.
    assert store(session, [finding("B02", Verdict.failed)], scope="M01") == (1, 0, 1)
    assert {f.subject_id: f.verdict for f in latest(session)}["B02"] is Verdict.failed
    assert store(session, [finding("B02", Verdict.failed)], scope="M01") == (0, 1, 0)


def test_unchanged_scopes_of_other_subjects_do_not_write_each_other_again(
    session: Session,
) -> None:
    first = [finding("B01", Verdict.failed), record("PO-1")]
    second = [finding("B02"), record("PO-2")]
    assert store(session, first, scope="M01") == (2, 0, 2)
    assert store(session, second, scope="M02") == (2, 0, 2)
    assert store(session, first, scope="M01") == (0, 2, 0)
    assert store(session, second, scope="M02") == (0, 2, 0)
    assert [(f.subject_id, f.verdict) for f in latest(session)] == [
        ("B01", Verdict.failed),
        ("B02", Verdict.passed),
        ("PO-1", Verdict.passed),
        ("PO-2", Verdict.passed),
    ]


def test_findings_without_a_period_keep_the_period_they_were_first_found_in(
    session: Session,
) -> None:
    store(session, [record("PO-1", Verdict.failed)], inspected="2026-03")
    # June: PO-1 is judged again (now passing) and PO-2 is new.
    store(session, [record("PO-1"), record("PO-2", Verdict.failed)], inspected="2026-06")
    q1 = latest(session, Q1)
    assert [(f.subject_id, f.verdict) for f in q1] == [("PO-1", Verdict.passed)]
    june = latest(session, ["2026-06"])
    assert [(f.subject_id, f.verdict) for f in june] == [("PO-2", Verdict.failed)]
    # A scoped inspection in September carries the first periods over from the full sets.
    store(
        session,
        [record("PO-1", Verdict.failed), record("PO-2"), record("PO-3")],
        inspected="2026-09",
        scope="D01",
    )
    assert [f.subject_id for f in latest(session, Q1)] == ["PO-1"]
    assert [f.subject_id for f in latest(session, ["2026-06"])] == ["PO-2"]
    assert [f.subject_id for f in latest(session, ["2026-09"])] == ["PO-3"]
    assert latest(session, Q1)[0].verdict is Verdict.failed


def test_periods_filter(session: Session) -> None:
    store(
        session,
        [
            finding("B01", period="2026-02"),
            finding("B01", period="2026-04"),
            finding("B01", rule="themed-party-day", period="2026-Q1"),
            finding("B01", rule="themed-party-day", period="2026-Q2"),
            finding("B01", rule="half-review", period="2026-H1"),
        ],
    )
    assert [(f.rule_id, f.period) for f in latest(session)] == [
        ("branch-committee-monthly", "2026-02"),
        ("themed-party-day", "2026-Q1"),
    ]
    assert latest(session, []) == []
    assert len(latest(session, ["2026-02", "2026-04", "2026-Q2", "2026-H1"])) == 4


def test_an_empty_table_writes_nothing(session: Session) -> None:
    result = store_verdicts(
        session,
        FINDINGS_SCHEMA.empty_table(),
        inspected="2026-03",
        scope=None,
        inspection_id=None,
        now=NOW,
    )
    assert (result.sets_written, result.sets_unchanged, result.rows) == (0, 0, 0)
    assert sets(session) == []
    assert latest_verdicts(session, periods=Q1).num_rows == 0


def test_a_corrupted_blob_is_a_run_error_naming_the_set(session: Session) -> None:
    store(session, [finding("B01", Verdict.failed)])
    store(session, [finding("B01")], now=NOW + dt.timedelta(days=1))
    old, new = sets(session)
    # The superseded set is never read: corrupting it changes nothing.
    session.execute(sa.update(VerdictSet).where(VerdictSet.id == old.id).values(data=b"garbage"))
    assert [f.verdict for f in latest(session)] == [Verdict.passed]
    session.execute(
        sa.update(VerdictSet).where(VerdictSet.id == new.id).values(data=new.data[:100])
    )
    with pytest.raises(
        RunError, match=rf"verdict set {new.id} .*branch-committee-monthly.*2026-03"
    ):
        latest_verdicts(session, periods=Q1)


def test_a_blob_of_the_wrong_columns_is_a_run_error(session: Session) -> None:
    store(session, [record("PO-1")])
    [stored] = sets(session)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"subject_id": ["PO-1"]}), sink)
    session.execute(
        sa.update(VerdictSet)
        .where(VerdictSet.id == stored.id)
        .values(data=sink.getvalue().to_pybytes())
    )
    with pytest.raises(RunError, match=rf"判定集 {stored.id} .*first_period"):
        latest_verdicts(session, periods=["2026-03"])
    # The next inspection of the rule reads the same blob for the first periods: same error.
    with pytest.raises(RunError, match=rf"verdict set {stored.id}"):
        store(session, [record("PO-1", Verdict.failed)])


def test_several_rules_and_periods_in_one_batch_are_split(session: Session) -> None:
    found = [
        finding(f"B{i:02d}", Verdict.failed if i % 3 == 0 else Verdict.passed, period=period)
        for i in range(30)
        for period in ("2026-01", "2026-02", "2026-03")
    ] + [record(f"PO-{i}") for i in range(5)]
    table = findings_table(found)
    assert table.to_batches()[0].num_rows == len(found)  # one batch of every part
    assert store(session, found) == (4, 0, 95)
    assert sorted((s.period, s.subjects, s.failed) for s in sets(session)) == [
        ("", 5, 0),
        ("2026-01", 30, 10),
        ("2026-02", 30, 10),
        ("2026-03", 30, 10),
    ]
    assert len(latest(session)) == 95


def test_findings_without_a_period_column_value_are_refused(session: Session) -> None:
    table = findings_table([finding("B01")])
    table = table.set_column(3, "period", pa.array([None], pa.string()))
    with pytest.raises(ValueError, match="use '' for no period"):
        store_verdicts(session, table, inspected="2026-03", scope=None, inspection_id=None, now=NOW)
