"""Locks hold across processes and die with their holder, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import Engine

from dualduty.errors import RunError
from workflows import locks

HOLDER = textwrap.dedent(
    """
    import sys
    from models.session import make_engine
    from workflows import locks
    lock = locks.try_acquire(make_engine(sys.argv[1]), sys.argv[2])
    print("held" if lock else "busy", flush=True)
    sys.stdin.read()  # hold until the test closes stdin or kills us
    """
)


def _holder(engine: Engine, name: str) -> subprocess.Popen[str]:
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_lock_held_by_another_process_is_busy_until_that_process_dies(engine: Engine) -> None:
    holder = _holder(engine, "inspect:party-conduct:")
    try:
        assert locks.try_acquire(engine, "inspect:party-conduct:") is None
        other = locks.try_acquire(engine, "inspect:party-conduct:B01")
        assert other is not None and other.alive()
        other.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
    mine = locks.try_acquire(engine, "inspect:party-conduct:")
    assert mine is not None
    assert mine.alive()
    mine.release()
    assert not mine.alive()


def test_held_raises_a_run_error_naming_the_busy_lock(engine: Engine) -> None:
    with (
        locks.held(engine, "leader", busy_message="busy: leader"),
        pytest.raises(RunError, match="busy: leader"),
        locks.held(engine, "leader", busy_message="busy: leader"),
    ):
        pass
    with locks.held(engine, "leader", busy_message="busy"):
        pass
