"""DuckDB's memory cap on evaluation connections: a query that needs more than the cap gets it
(doubling, logged) instead of failing the inspection; past half of the machine it fails."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest

from benchmarks.company import generate
from evidence import frames, memory
from rules.compiler import load_pack
from rules.engine import evaluate_table
from rules.periods import Period

GROUPED = "SELECT i % 1000 AS g, list(i) AS l FROM range(300000) t(i) GROUP BY ALL ORDER BY g"
PACK = Path(__file__).parents[2] / "benchmarks" / "pack.yaml"


def test_memory_limit_reads_duckdbs_words() -> None:
    con = duckdb.connect()
    try:
        for setting, expected in (("96MiB", 96 * 2**20), ("2GiB", 2 * 2**30), ("512KiB", 2**19)):
            con.execute(f"SET memory_limit = '{setting}'")
            assert memory.memory_limit(con) == expected
    finally:
        con.close()


def test_a_query_over_the_cap_runs_again_with_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    con = duckdb.connect()
    try:
        expected = con.sql(GROUPED).to_arrow_table()
        memory.limit_memory(con, 1, tmp_path / "spill")
        with pytest.raises(duckdb.OutOfMemoryException):
            con.sql(GROUPED).to_arrow_table()  # what DuckDB does by itself
        with caplog.at_level(logging.WARNING, logger="evidence.memory"):
            assert (
                memory.with_room(con, "grouped", lambda: con.sql(GROUPED).to_arrow_table())
                == expected
            )
        raised = memory.memory_limit(con)
        assert 2 * 2**20 <= raised <= memory.ceiling()
        assert "grouped: DuckDB ran out of memory at 1 MiB" in caplog.text
        assert "evaluation_memory_mib" in caplog.text
    finally:
        con.close()


def test_past_the_ceiling_the_error_stands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ceiling is half of this machine's memory; shrink it so the test needs no real shortage.
    monkeypatch.setattr(memory, "ceiling", lambda: 2 * 2**20)
    con = duckdb.connect()
    try:
        memory.limit_memory(con, 1, tmp_path / "spill")
        with pytest.raises(duckdb.OutOfMemoryException):
            memory.with_room(con, "grouped", lambda: con.sql(GROUPED).to_arrow_table())
        assert memory.memory_limit(con) == 2 * 2**20
    finally:
        con.close()


def test_rules_under_a_tiny_cap_judge_as_without_one(tmp_path: Path) -> None:
    pack = load_pack(PACK)
    con = frames.connect()
    try:
        generate(con, pack, records=20_000, units=100, people=2_000, seed=5)
        year = Period.parse("2026")
        free = evaluate_table(pack, con, year).to_pylist()
        memory.limit_memory(con, 1, tmp_path / "spill")
        capped = evaluate_table(pack, con, year).to_pylist()
        raised = memory.memory_limit(con)
    finally:
        con.close()
    assert raised > 2**20  # some rule did need more than the cap
    key = lambda r: (r["rule_id"], r["subject_id"], r["period"])  # noqa: E731
    assert len(free) > 0
    assert sorted(capped, key=key) == sorted(free, key=key)
