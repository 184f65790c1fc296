"""DuckDB's memory on an evaluation connection: a cap, and more room when a query needs it.

Evaluation reads the evidence where it lies (views over the cache's Parquet parts) and caps the
buffers DuckDB may hold, so an inspection of 2M records peaks under 400 MiB instead of holding
everything (docs/evidence.md, "Memory"). Past the cap, joins, aggregates and sorts spill to disk.
Some operators cannot spill: a query joining several lookups must hold all their hash tables at
once, so a cap that suits one company fails another's rule with an out-of-memory error. An
inspection must not fail for memory the machine has, so ``with_room`` doubles the cap and runs the
work again, up to half of the machine's memory, and logs that it did.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from evidence.frames import sql_string

log = logging.getLogger(__name__)
T = TypeVar("T")

_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}
_UNITS |= {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$")


def limit_memory(con: duckdb.DuckDBPyConnection, mib: int, spill: Path) -> None:
    """Cap DuckDB's buffers on ``con`` (one database instance) at ``mib`` MiB, spilling to files in
    ``spill``, which DuckDB creates when it first needs it.

    ``spill`` must be private to this connection: older DuckDB versions name their spill files the
    same in every process, so processes sharing a folder overwrite each other's (duckdb#15173),
    and the default folder is ``.tmp`` in the working directory. It cannot change once used.
    """
    con.execute(f"SET temp_directory = {sql_string(str(spill))}")
    con.execute(f"SET memory_limit = '{int(mib)}MiB'")


def memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    """``con``'s memory cap in bytes, as DuckDB reports it (``'96.0 MiB'``)."""
    text = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    match = _SIZE.match(text)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"unexpected DuckDB memory_limit {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def ceiling() -> int:
    """The most an evaluation may raise its cap to: half of the machine's memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def with_room(con: duckdb.DuckDBPyConnection, what: str, run: Callable[[], T]) -> T:
    """``run()``, which queries ``con``; when DuckDB runs out of memory under its cap, the cap
    doubled (up to ``ceiling()``) and ``run`` called again, so it must be repeatable (``CREATE
    OR REPLACE``, plain queries). ``what`` names the work in the log."""
    while True:
        try:
            return run()
        except duckdb.OutOfMemoryException:
            limit = memory_limit(con)
            if limit >= ceiling():
                raise
            raised = min(limit * 2, ceiling())
            log.warning(
                "%s: DuckDB ran out of memory at %d MiB; running it again with %d MiB "
                "(raise evaluation_memory_mib to avoid the repeat)",
                what,
                limit // 2**20,
                raised // 2**20,
            )
            con.execute(f"SET memory_limit = '{raised}B'")
