"""Named cross-process locks in the application's database: the scheduler's leader lock and the
one-run-at-a-time lock per pack and scope.

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection (no pool), so
a process that dies loses its lock with its connection. SQLite: an exclusive ``fcntl.flock`` on
a lock file beside the database file, which the kernel releases when the process dies. Neither
leaves anything behind to clean up after a crash, which a lock *row* would.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from dualduty.errors import RunError
from dualduty.settings import get_settings


class HeldLock:
    """A lock this process holds until ``release()`` (or until it dies)."""

    def __init__(self, name: str, *, connection: Connection | None, file: IO[str] | None) -> None:
        self.name = name
        self._connection = connection
        self._file = file

    def alive(self) -> bool:
        """Whether the lock is still ours. A PostgreSQL restart drops the connection and with it
        the lock; a leader that did not notice would keep running beside the new one."""
        if self._file is not None:
            return not self._file.closed
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            engine = self._connection.engine
            # Closing a NullPool connection ends the server session, which releases the lock.
            self._connection.close()
            engine.dispose()
            self._connection = None


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_file(engine: Engine, name: str) -> Path:
    """``<database file>.<name>.lock.flock``; in-memory databases use the data folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    database = engine.url.database
    if database and database != ":memory:":
        base = Path(database).resolve()
    else:
        data_dir = get_settings().data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        base = data_dir.resolve() / "memory"
    return base.with_name(f"{base.name}.{slug}-{digest}.lock.flock")


def try_acquire(engine: Engine, name: str) -> HeldLock | None:
    """Take the lock ``name`` if nobody holds it; ``None`` if another process (or connection)
    does. Never waits."""
    if engine.dialect.name == "postgresql":
        lock_engine = create_engine(engine.url, poolclass=NullPool)
        connection = lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}
        ).scalar_one()
        if not got:
            connection.close()
            lock_engine.dispose()
            return None
        return HeldLock(name, connection=connection, file=None)
    if engine.dialect.name == "sqlite":
        path = lock_file(engine, name)
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        # Who holds it, for the message another process prints; informative only.
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        return HeldLock(name, connection=None, file=handle)
    raise RunError(f"不支持的数据库 / no lock implementation for {engine.dialect.name}")


def acquire(
    engine: Engine, name: str, *, wait_seconds: float, poll: float = 1.0
) -> HeldLock | None:
    """Take the lock, waiting up to ``wait_seconds`` for its holder to let go."""
    deadline = time.monotonic() + wait_seconds
    while True:
        lock = try_acquire(engine, name)
        if lock is not None or time.monotonic() >= deadline:
            return lock
        time.sleep(min(poll, max(deadline - time.monotonic(), 0.0)))


@contextmanager
def held(
    engine: Engine, name: str, *, busy_message: str, wait_seconds: float = 0.0
) -> Iterator[HeldLock]:
    """Hold ``name`` for the block; raise RunError(busy_message) if someone else still holds it
    after ``wait_seconds``."""
    lock = acquire(engine, name, wait_seconds=wait_seconds)
    if lock is None:
        raise RunError(busy_message)
    try:
        yield lock
    finally:
        lock.release()
