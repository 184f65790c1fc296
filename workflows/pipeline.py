"""The inspection pipeline as plain library code: sync org → gather → evaluate → reconcile →
escalate hand-off, recorded as an inspection run.

The Prefect flow (``workflows.inspect``) calls these same step functions as tasks; a one-off
CLI run calls ``run_inspection`` directly and never pays Prefect's start-up. Each step takes
ids and small values, opens its own transaction and is idempotent, so a run killed anywhere
and started again ends with the same findings and cases as one clean run:

- sync org upserts units, people and posts (same files → no change);
- gather ingests by natural key and content hash (same records → nothing new);
- evaluate only reads;
- reconcile keeps one case per (rule, subject, period) and commits in one transaction;
- escalation keys every notification by (case, step, channel, recipient).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from dualduty.errors import DualdutyError, RunError
from evidence import frames
from evidence.gather import GatherReport, gather
from evidence.loader import load_frames
from evidence.orgfiles import import_org
from models import inspections
from models.base import utcnow
from models.cases import case_keys
from models.inspections import RunCounts
from models.recording import record_findings
from models.session import get_engine, session_scope
from rules.engine import evaluate_table
from rules.findings import Verdict
from rules.periods import Period
from workflows import locks, summary
from workflows.escalation import EscalationReport, run_escalation
from workflows.packs import load_pack
from workflows.summary import InspectionRequest, InspectionSummary, StepTiming

T = TypeVar("T")
log = logging.getLogger(__name__)


class StepListener(Protocol):
    """Told when each step starts and ends (the CLI's progress display, the flow's logs)."""

    def started(self, step: str) -> None: ...

    def finished(self, step: str, detail: str, seconds: float) -> None: ...


class RunHandle(BaseModel):
    """What the steps need to know about the run: small, so Prefect tasks can pass it."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    pack_path: str
    pack_name: str
    pack_version: str
    period: str
    scope: str | None
    rules: list[str] | None = None


class OrgSync(BaseModel):
    files: int = 0
    units: int = 0
    people: int = 0
    posts: int = 0
    changed: int = 0


class CaseChanges(BaseModel):
    opened: int = 0
    still_open: int = 0
    reopened: int = 0
    resolved: int = 0


@contextmanager
def database_errors() -> Iterator[None]:
    """An unreachable database is a failure to run, said plainly, not a traceback."""
    try:
        yield
    except (OperationalError, ProgrammingError) as error:
        url = get_engine().url.render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise RunError(
            f"数据库不可用 / cannot use the database {url}: {reason} "
            "(检查 DUALDUTY_DATABASE_URL，新库先运行 dualduty db upgrade / check "
            "DUALDUTY_DATABASE_URL; a new database needs `dualduty db upgrade`)"
        ) from error


def lock_name(pack_name: str, scope: str | None) -> str:
    return f"inspect:{pack_name}:{scope or '*'}"


@contextmanager
def run_lock(
    pack_name: str, scope: str | None, *, wait_seconds: float = 0.0
) -> Iterator[locks.HeldLock]:
    """At most one run per pack and scope, across processes and machines sharing the database.

    A person at the command line is told at once; scheduled runs wait their turn (two schedule
    entries of one pack may fire together, and neither run may be lost)."""
    with locks.held(
        get_engine(),
        lock_name(pack_name, scope),
        wait_seconds=wait_seconds,
        busy_message=(
            f"规则包 {pack_name}（范围 {scope or '全部'}）的检查正在运行 / an inspection of "
            f"{pack_name} (scope {scope or 'all'}) is already running; try again when it ends"
        ),
    ) as lock:
        yield lock


def open_run(
    request: InspectionRequest, *, now: dt.datetime, flow_run_id: str | None = None
) -> RunHandle:
    """Record the run (call while holding the run lock: earlier runs still marked running died)."""
    pack = load_pack(request.pack)
    period = Period.parse(request.period)
    for rule_id in request.rules or []:
        pack.compiled.plan(rule_id)  # an unknown rule is a user error, before anything is written
    with session_scope() as session:
        inspections.abandon_stale(session, pack=pack.name, scope=request.scope, now=now)
        run = inspections.start(
            session,
            pack=pack.name,
            pack_version=pack.version,
            period=period.label,
            scope=request.scope,
            trigger=request.trigger,
            now=now,
            flow_run_id=flow_run_id,
        )
        return RunHandle(
            run_id=run.id,
            pack_path=str(pack.path),
            pack_name=pack.name,
            pack_version=pack.version,
            period=period.label,
            scope=request.scope,
            rules=request.rules,
        )


def mark_step(handle: RunHandle, step: str, counts: RunCounts) -> None:
    with session_scope() as session:
        inspections.mark_step(session, run_id=handle.run_id, step=step, counts=counts)


def sync_org(handle: RunHandle, org_files: Sequence[str]) -> OrgSync:
    """Upsert the organisation from HR exports; without files the stored organisation stands."""
    if not org_files:
        return OrgSync()
    with session_scope() as session:
        report = import_org(session, paths=[Path(p) for p in org_files])
    return OrgSync(
        files=len(report.files),
        units=report.units.changed,
        people=report.people.changed,
        posts=report.posts.changed,
        changed=report.changed,
    )


def gatherable(handle: RunHandle) -> list[str]:
    """Evidence types with a source to fetch from (manual ones arrive by submission)."""
    pack = load_pack(handle.pack_path)
    return [
        name
        for name, evidence_type in pack.rules.evidence.items()
        if evidence_type.source is not None and evidence_type.source.kind != "manual"
    ]


def gather_types(handle: RunHandle, type_names: Sequence[str]) -> list[GatherReport]:
    """Gather each type in its own transaction: a source that fails leaves nothing half-written,
    and the types gathered before it stay (a re-run finds them unchanged)."""
    pack = load_pack(handle.pack_path)
    reports = []
    for type_name in type_names:
        with session_scope() as session:
            reports.append(
                gather(
                    session,
                    type_name=type_name,
                    evidence_type=pack.rules.evidence[type_name],
                    base_dir=pack.path.parent,
                )
            )
    return reports


def evaluate(handle: RunHandle) -> pa.Table:
    """Load the stored evidence and the organisation into DuckDB and judge the rules.

    Every verdict comes back as one Arrow table; passes are explained (words and cited
    records) only where a case exists, the rest stay bare (``rules.engine.evaluate_table``)."""
    pack = load_pack(handle.pack_path)
    with session_scope() as session:
        detailed = case_keys(session, packs=[pack.compiled.id])
    con = frames.connect()
    try:
        load_frames(get_engine(), types=pack.rules.evidence, con=con, unit_scope=handle.scope)
        return evaluate_table(
            pack.compiled,
            con,
            Period.parse(handle.period),
            scope=handle.scope,
            rules=handle.rules,
            detailed_passes=detailed,
        )
    finally:
        con.close()


def reconcile(handle: RunHandle, findings: pa.Table, *, now: dt.datetime) -> CaseChanges:
    """Record every verdict and turn the acting findings into cases, in one transaction."""
    with session_scope() as session:
        recorded = record_findings(
            session,
            findings,
            inspected=handle.period,
            scope=handle.scope,
            inspection_id=handle.run_id,
            now=now,
        )
    report = recorded.cases
    return CaseChanges(
        opened=len(report.opened),
        still_open=report.still_open,
        reopened=len(report.reopened),
        resolved=len(report.resolved),
    )


def close_run(handle: RunHandle, counts: RunCounts, *, now: dt.datetime) -> None:
    with session_scope() as session:
        inspections.finish(session, run_id=handle.run_id, counts=counts, now=now)


def fail_run(handle: RunHandle, error: BaseException, *, now: dt.datetime) -> None:
    """Record why the run failed, if the database still lets us; the error itself is raised by
    the caller either way (a run left ``running`` is closed by the next one)."""
    try:
        with session_scope() as session:
            inspections.fail(
                session, run_id=handle.run_id, error=str(error) or repr(error), now=now
            )
    except SQLAlchemyError as unrecorded:
        log.warning("could not record the failure of run #%d: %s", handle.run_id, unrecorded)


def count_findings(counts: RunCounts, findings: pa.Table) -> None:
    tally = pc.value_counts(findings["verdict"].cast(pa.string()))
    verdicts = Counter(
        dict(zip(tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True))
    )
    counts.findings = findings.num_rows
    counts.passed = verdicts[Verdict.passed.value]
    counts.failed = verdicts[Verdict.failed.value]
    counts.no_evidence = verdicts[Verdict.no_evidence.value]


def count_gathered(counts: RunCounts, reports: list[GatherReport]) -> None:
    counts.evidence_fetched = sum(r.fetched for r in reports)
    counts.evidence_new = sum(r.new for r in reports)
    counts.evidence_changed = sum(r.changed for r in reports)


def count_cases(counts: RunCounts, changes: CaseChanges) -> None:
    counts.cases_opened = changes.opened
    counts.cases_still_open = changes.still_open
    counts.cases_reopened = changes.reopened
    counts.cases_resolved = changes.resolved


def build_summary(
    handle: RunHandle, counts: RunCounts, findings: pa.Table, steps: list[StepTiming]
) -> InspectionSummary:
    return InspectionSummary(
        run_id=handle.run_id,
        pack=handle.pack_name,
        pack_version=handle.pack_version,
        period=handle.period,
        scope=handle.scope,
        counts=counts,
        by_rule=summary.by_rule(findings),
        by_unit=summary.by_unit(findings),
        failing=summary.failing(findings),
        steps=steps,
    )


class _Silent:
    def started(self, step: str) -> None:
        pass

    def finished(self, step: str, detail: str, seconds: float) -> None:
        pass


def run_inspection(
    request: InspectionRequest,
    *,
    org_files: Sequence[str] = (),
    gather: bool = True,
    escalate: bool = True,
    listener: StepListener | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    wait_seconds: float = 0.0,
) -> InspectionSummary:
    """Inspect without Prefect. Raises UserError for bad input, RunError when it cannot run;
    failing findings are results, not errors. ``gather=False`` judges the evidence already
    stored (a re-check after a rule fix, the next period of a file just gathered)."""
    listener = listener or _Silent()
    pack = load_pack(request.pack)
    with database_errors(), run_lock(pack.name, request.scope, wait_seconds=wait_seconds):
        handle = open_run(request, now=clock())
        counts = RunCounts()
        steps: list[StepTiming] = []

        def step(name: str, work: Callable[[], T], detail: Callable[[T], str]) -> T:
            listener.started(name)
            mark_step(handle, name, counts)
            began = time.perf_counter()
            result = work()
            seconds = time.perf_counter() - began
            steps.append(StepTiming(step=name, seconds=round(seconds, 3)))
            listener.finished(name, detail(result), seconds)
            return result

        try:
            org = step("sync_org", lambda: sync_org(handle, org_files), _org_detail)
            counts.units, counts.people = org.units, org.people
            sources = gatherable(handle) if gather else []
            reports = step("gather", lambda: gather_types(handle, sources), _gather_detail)
            count_gathered(counts, reports)
            findings = step("evaluate", lambda: evaluate(handle), _findings_detail)
            count_findings(counts, findings)
            changes = step(
                "reconcile", lambda: reconcile(handle, findings, now=clock()), _cases_detail
            )
            count_cases(counts, changes)
            if escalate:
                escalation = step(
                    "escalate",
                    lambda: run_escalation(packs=[handle.pack_path], now=clock()),
                    _esc_detail,
                )
                counts.notifications = escalation.queued
            close_run(handle, counts, now=clock())
        except BaseException as error:
            fail_run(handle, error, now=clock())
            if isinstance(error, DualdutyError) or not isinstance(error, Exception):
                raise
            raise RunError(f"检查失败 / inspection failed: {error}") from error
        return build_summary(handle, counts, findings, steps)


def _org_detail(org: OrgSync) -> str:
    return f"{org.files} files, {org.changed} changed" if org.files else "使用已存组织 / stored org"


def _gather_detail(reports: list[GatherReport]) -> str:
    return (
        f"{len(reports)} sources, {sum(r.fetched for r in reports)} fetched, "
        f"{sum(r.new for r in reports)} new"
    )


def _findings_detail(findings: pa.Table) -> str:
    failed = pc.sum(pc.equal(findings["verdict"], Verdict.failed.value)).as_py() or 0
    return f"{findings.num_rows} findings, {failed} fail"


def _cases_detail(changes: CaseChanges) -> str:
    return f"{changes.opened} new, {changes.still_open} open, {changes.resolved} resolved"


def _esc_detail(report: EscalationReport) -> str:
    return f"{report.fired} steps, {report.queued} queued, {report.delivered} delivered"
