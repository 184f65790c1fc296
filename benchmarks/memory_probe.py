"""The memory an inspection process needs to evaluate: run in a fresh interpreter, so nothing the
benchmark did before (generating, earlier runs, freed but not returned memory) counts.

    python -m benchmarks.memory_probe DIR     # DIR holds <table>.parquet for every table

Loads the evaluation tables from Parquet (as ``load_frames`` does from its cache), evaluates the
benchmark pack once, and prints one JSON line: RSS after the imports, after loading, the peak
(VmHWM) over the whole process, and the evaluation's wall time.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import duckdb

from evidence import frames
from rules.compiler import load_pack
from rules.engine import evaluate_table
from rules.periods import Period

PACK = Path(__file__).with_name("pack.yaml")
PERIOD = "2026"


def status(name: str) -> int:
    """A VmXXX figure of this process, in bytes."""
    with open("/proc/self/status", encoding="ascii") as text:
        found = re.search(rf"^{name}:\s+(\d+) kB", text.read(), re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def export(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Write every evaluation table of ``con`` to ``folder`` for the probe."""
    folder.mkdir(parents=True, exist_ok=True)
    for (table,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "AND (table_name LIKE 'ev\\_%' ESCAPE '\\' OR table_name LIKE 'org\\_%' ESCAPE '\\')"
    ).fetchall():
        con.execute(f"COPY {table} TO '{folder / table}.parquet' (FORMAT parquet)")


def main() -> None:
    folder = Path(sys.argv[1])
    pack = load_pack(PACK)
    imported = status("VmRSS")
    con = frames.connect()
    for path in sorted(folder.glob("*.parquet")):
        con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_parquet('{path}')")
    loaded = status("VmRSS")
    started = time.perf_counter()
    findings = evaluate_table(pack, con, Period.parse(PERIOD))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "imported": imported,
                "loaded": loaded,
                "peak": status("VmHWM"),
                "seconds": seconds,
                "findings": findings.num_rows,
            }
        )
    )


if __name__ == "__main__":
    main()
