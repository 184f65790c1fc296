"""A scheduled assessment without Prefect: the ``assess`` flow's body and the embedded
scheduler's job both come here.

One assessment of a scheme at a time, across processes sharing the database: the quarterly and
the yearly entries fire on the same January morning in many schemes, and a scheduler and a
Prefect worker may both be configured. The later run waits its turn rather than being lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assessments.loading import load_scheme
from assessments.runner import AssessmentRun, assess_period
from assessments.snapshots import get_published
from dualduty.settings import get_settings
from models.session import get_engine, session_scope
from rules.periods import Period
from workflows import locks
from workflows.pipeline import database_errors


def lock_name(scheme_name: str) -> str:
    return f"assess:{scheme_name}"


@contextmanager
def assessment_lock(scheme_name: str, *, wait_seconds: float = 0.0) -> Iterator[locks.HeldLock]:
    with locks.held(
        get_engine(),
        lock_name(scheme_name),
        wait_seconds=wait_seconds,
        busy_message=(
            f"考核方案 {scheme_name} 的考核正在运行 / an assessment of {scheme_name} is already "
            "running; try again when it ends"
        ),
    ) as lock:
        yield lock


def reports_dir(out_dir: str | None) -> Path:
    """The folder given, else the settings' (``DUALDUTY_REPORTS_DIR``, default
    ``<data_dir>/reports``): on a worker, the worker's own settings decide."""
    return Path(out_dir) if out_dir else get_settings().assessment_reports_dir


def assess(
    *,
    period: str,
    scheme: str | None,
    packs: Sequence[str],
    out_dir: str | None,
    publish: bool,
    actor: str,
    lock_wait_seconds: float = 0.0,
) -> AssessmentRun:
    """Assess ``period`` with the scheme file (default: the sample scheme) while holding the
    scheme's run lock, and write the reports.

    ``publish`` publishes the period unless a version of it is published already: that one
    stands (the run reports it, and whether today's data score differently), since re-issuing
    is a person's decision, never a scheduled run's.
    """
    scheme_path = Path(scheme) if scheme else None
    name = load_scheme(scheme_path).scheme.scheme
    with database_errors(), assessment_lock(name, wait_seconds=lock_wait_seconds):
        if publish:
            with session_scope(get_engine()) as session:
                label = Period.parse(period).label
                publish = get_published(session, scheme_name=name, period=label) is None
        return assess_period(
            period=period,
            out_dir=reports_dir(out_dir),
            scheme_path=scheme_path,
            pack_paths=[Path(p) for p in packs],
            publish=publish,
            actor=actor,
        )
