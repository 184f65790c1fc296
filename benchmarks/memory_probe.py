"""The memory an inspection process needs to evaluate: run in a fresh interpreter, so nothing the
benchmark did before (generating, earlier runs, freed but not returned memory) counts.

    python -m benchmarks.memory_probe DIR     # DIR as written by ``export``

``export`` writes the org tables as ``org_<table>.parquet`` and the evidence as the evidence
cache holds it (``DIR/cache``: a manifest and one Parquet part per type, ``evidence.cache``).
The probe then loads them the way ``load_frames`` does with a warm cache (the org tables, which
``load_frames`` copies from the store, come from Parquet here) and evaluates the benchmark pack
once as an inspection does (``detailed_passes=[]``: no case exists yet). It prints one JSON line:
RSS after the imports, after loading, the peak (VmHWM) over the whole process, the load's and
the evaluation's wall time, and DuckDB's own count of the memory it held at the end.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import duckdb

from evidence import frames
from evidence.cache import CACHE_FORMAT, Manifest, locked
from evidence.loader import prepare, read_cached
from evidence.store import fields_hash, unit_field
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
    """Write the org tables of ``con`` and its ev_<type> tables, as cache parts, to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in frames.ORG_TABLES:
        con.execute(f"COPY {table} TO '{folder / table}.parquet' (FORMAT parquet)")
    root = folder / "cache"
    for type_name, evidence_type in load_pack(PACK).pack.evidence.items():
        table = frames.evidence_table(type_name)
        rows, last_id = con.execute(f"SELECT count(*), max(_id) FROM {table}").fetchall()[0]
        manifest = Manifest(
            type_name=type_name, fields_hash=fields_hash(evidence_type), format=CACHE_FORMAT
        )
        if rows:
            # The columns of evidence.cache._write_part: nothing is superseded here.
            unit = unit_field(evidence_type)
            names = ", ".join(f'"{name}"' for name in evidence_type.fields)
            part = f"{1:012d}-{last_id:012d}.parquet"
            (root / type_name).mkdir(parents=True, exist_ok=True)
            con.execute(
                f"""COPY (
                    SELECT _id, _key, NULL::BIGINT AS _supersedes,
                           {f'"{unit}"' if unit else "NULL::VARCHAR"} AS _unit, {names}
                    FROM {table}
                ) TO '{root / type_name / part}' (FORMAT parquet)"""
            )
            manifest.parts, manifest.rows, manifest.last_id = [part], rows, last_id
        (root / f"{type_name}.json").write_text(manifest.model_dump_json(), encoding="utf-8")


def load(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """What ``load_frames`` does with a warm cache, minus reading the store: the connection's
    memory cap and hold, the org tables, one ev_<type> per cached type (``read_cached``)."""
    root = folder / "cache"
    held = prepare(con, root)
    frames.create_org_tables(con)
    for table in frames.ORG_TABLES:
        con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet('{folder / table}.parquet')")
    for type_name, evidence_type in load_pack(PACK).pack.evidence.items():
        manifest = Manifest.model_validate_json(
            (root / f"{type_name}.json").read_text(encoding="utf-8")
        )
        with locked(root, type_name):
            read_cached(con, held, root, manifest, evidence_type)


def main() -> None:
    folder = Path(sys.argv[1])
    pack = load_pack(PACK)
    imported = status("VmRSS")
    con = frames.connect()
    started = time.perf_counter()
    load(con, folder)
    load_seconds = time.perf_counter() - started
    loaded = status("VmRSS")
    started = time.perf_counter()
    findings = evaluate_table(pack, con, Period.parse(PERIOD), detailed_passes=[])
    seconds = time.perf_counter() - started
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
    print(
        json.dumps(
            {
                "imported": imported,
                "loaded": loaded,
                "peak": status("VmHWM"),
                "seconds": seconds,
                "load_seconds": load_seconds,
                "findings": findings.num_rows,
                "result_bytes": findings.nbytes,
                "duckdb_bytes": int(held or 0),
            }
        )
    )


if __name__ == "__main__":
    main()
