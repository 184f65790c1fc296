"""Smoke test of the rule engine benchmark at a tiny scale: the generator, the pack, both
references and the store path still work, and the engine agrees with both references.

The full benchmark (2M and 10M records) is ``python -m benchmarks.rule_engine``; see
docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from benchmarks import reference_py, reference_sql, systems
from benchmarks.company import generate
from benchmarks.rule_engine import PACK, PERIOD, main, python_table, verdicts_of
from evidence import frames
from rules.compiler import CompiledPack, load_pack
from rules.engine import evaluate_table
from rules.periods import Period

RECORDS, UNITS, PEOPLE = 2_000, 40, 400


@pytest.fixture(scope="module")
def pack() -> CompiledPack:
    return load_pack(PACK)


@pytest.fixture(scope="module")
def company(pack: CompiledPack) -> Iterator[duckdb.DuckDBPyConnection]:
    con = frames.connect()
    generated = generate(con, pack, records=RECORDS, units=UNITS, people=PEOPLE)
    assert generated.total == RECORDS
    yield con
    con.close()


def verdict_rows(table: pa.Table) -> set[tuple[object, ...]]:
    columns = table.to_pydict()
    names = ["rule_id", "subject_id", "period", "verdict", "bearer"]
    return set(zip(*(columns[name] for name in names), strict=True))


def test_engine_agrees_with_both_references(
    pack: CompiledPack, company: duckdb.DuckDBPyConnection
) -> None:
    engine = verdicts_of(evaluate_table(pack, company, Period.parse(PERIOD)))
    reference_sql.prepare(company)
    expected = verdict_rows(engine)
    assert len(expected) == engine.num_rows  # one verdict per (rule, subject, period)
    assert verdict_rows(reference_sql.evaluate(company)) == expected
    assert verdict_rows(python_table(reference_py.evaluate(company))) == expected
    # every rule is judged; planted violations make most of them fail somewhere even here
    assert {rule for rule, *_ in expected} == {plan.id for plan in pack.plans}
    failing = {rule for rule, _, _, verdict, _ in expected if verdict == "fail"}
    assert len(failing) >= 8


def test_store_rows_are_canonical(pack: CompiledPack, company: duckdb.DuckDBPyConnection) -> None:
    assert systems.check_canonical(company, pack, sample=50) > 0


def test_generation_is_deterministic(pack: CompiledPack) -> None:
    tables = []
    for _ in range(2):
        con = frames.connect()
        generate(con, pack, records=500, units=30, people=200, seed=3)
        tables.append(con.sql("SELECT * FROM ev_procurement ORDER BY _id").to_arrow_table())
        con.close()
    assert tables[0].num_rows > 0 and tables[0].equals(tables[1])


def test_whole_benchmark_on_sqlite(tmp_path: Path) -> None:
    results = main(
        [
            f"--records={RECORDS}",
            f"--units={UNITS}",
            f"--people={PEOPLE}",
            "--scale=0",
            "--repeat=1",
            "--db=sqlite",
            f"--markdown={tmp_path / 'table.md'}",
        ]
    )
    checks = [row for row in results.rows if row.target == "identical"]
    assert len(checks) == 3  # engine vs SQL, engine vs Python, store path vs direct
    assert all(row.ok for row in checks), results.problems
    assert (tmp_path / "table.md").read_text(encoding="utf-8").startswith("| ")
