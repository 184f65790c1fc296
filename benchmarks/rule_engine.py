"""Benchmark: the rule engine at 2M and 10M evidence records, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.rule_engine [--records 2000000] [--db both|sqlite|postgres|none]
                                               [--scale 10000000] [--repeat 3]

1. Generates a synthetic company (100,000 people, 5,000 units, posts with mid-year handovers)
   and a year of evidence (meetings, talks, trainings, dues, pledges, claims, procurements,
   decisions, vendors, relatives) with planted violations, inside DuckDB (benchmarks/company.py).
2. Evaluates benchmarks/pack.yaml (13 rules, every kind of the language) for the year 2026.
3. Checks the engine's verdicts (and bearers) against two independent restatements of the rules:
   plain Python loops (reference_py.py) and hand-written DuckDB SQL (reference_sql.py).
4. Measures (a) evaluation only on loaded tables, engine vs the SQL reference in the same run;
   (b) store -> load_frames -> evaluate -> stored findings, per database, with a cold and a warm
   evidence cache; (c) evaluation only at ``--scale`` records (company scaled alike). Wall times
   are medians of ``--repeat`` runs, with the process's CPU time beside them. Memory: a fresh
   process loads the tables from Parquet and evaluates once (benchmarks/memory_probe.py), so
   nothing done earlier counts; other rows show this process's peak RSS (VmHWM, reset through
   /proc/self/clear_refs before each step) and its rise over the step's starting RSS.

PostgreSQL: a throwaway database on DUALDUTY_BENCH_PG_URL (default the local server), dropped at
the end. The machine's load average is printed with the results: other processes skew timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from benchmarks import memory_probe, reference_py, reference_sql, systems
from benchmarks.company import Generated, generate
from evidence import frames
from evidence.loader import load_frames
from models import findings as stored_findings
from models.cases import case_keys
from models.findings import StoredFinding
from models.recording import actionable
from models.verdicts import VerdictSet, store_verdicts
from rules.compiler import CompiledPack, load_pack
from rules.engine import evaluate_table, findings
from rules.findings import FindingKey
from rules.periods import Period

PACK = Path(__file__).with_name("pack.yaml")
PERIOD = "2026"
PG_ADMIN = os.environ.get(
    "DUALDUTY_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
MIB = 1024 * 1024
COMPARED = ["rule_id", "subject_id", "period", "verdict", "bearer"]

# Wide enough for the results table when the output is a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 160)
T = TypeVar("T")


# -- memory ----------------------------------------------------------------------------------


def _status(name: str) -> int:
    """A VmXXX figure of this process, in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        found = re.search(rf"^{name}:\s+(\d+) kB", status.read(), re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


@dataclass
class Memory:
    peak: int = 0  # VmHWM during the step: the whole process (interpreter, libraries, data)
    rise: int = 0  # peak minus the RSS the step started from: what the step itself needed


@contextmanager
def peak_memory() -> Iterator[Memory]:
    """Peak RSS of the process during the block. Linux resets the high-water mark when "5" is
    written to clear_refs; elsewhere the figure is the process's lifetime peak."""
    memory = Memory()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass
    start = _status("VmRSS")
    try:
        yield memory
    finally:
        memory.peak = _status("VmHWM")
        memory.rise = max(0, memory.peak - start)


# -- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    measure: str
    system: str
    records: int | None
    seconds: float | None
    memory: Memory | None = None
    target: str = ""
    ok: bool | None = None
    value: str = ""  # shown in the wall-time column instead of seconds (a ratio)
    cpu: float | None = None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def table(self, title: str) -> Table:
        table = Table(title=title)
        for name in COLUMNS:
            table.add_column(name, justify="left" if name in TEXT_COLUMNS else "right")
        for row in self.rows:
            table.add_row(*self.cells(row, rich=True))
        return table

    def cells(self, row: Row, *, rich: bool) -> list[str]:
        verdict = {True: "PASS", False: "MISS", None: ""}[row.ok]
        if rich and row.ok is not None:
            verdict = f"[{'green' if row.ok else 'red'}]{verdict}[/]"
        wall = row.value or (f"{row.seconds:.2f}" if row.seconds is not None else "")
        per_second = f"{row.records / row.seconds:,.0f}" if row.records and row.seconds else ""
        return [
            row.section,
            row.measure,
            row.system,
            f"{row.records:,}" if row.records else "",
            wall,
            f"{row.cpu:.2f}" if row.cpu is not None else "",
            per_second,
            f"{row.memory.peak / MIB:,.0f}" if row.memory else "",
            f"{row.memory.rise / MIB:,.0f}" if row.memory else "",
            row.target,
            verdict,
        ]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in self.rows:
            cells = [cell.replace("|", "\\|") for cell in self.cells(row, rich=False)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


COLUMNS = (
    "",
    "measure",
    "system",
    "records",
    "wall s",
    "CPU s",
    "records/s",
    "peak RSS MiB",
    "RSS rise MiB",
    "target",
    "result",
)
TEXT_COLUMNS = {"", "measure", "system", "target", "result"}


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # this process's CPU time, every thread: less sensitive to other processes


def timed(function: Callable[[], T]) -> tuple[T, Timing]:
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, Timing(time.perf_counter() - started, time.process_time() - cpu)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


# -- comparing verdicts ----------------------------------------------------------------------


def verdicts_of(table: pa.Table) -> pa.Table:
    """The engine's findings reduced to what the references compute."""
    return pa.table(
        {
            "rule_id": table["rule_id"].cast(pa.string()),
            "subject_id": table["subject_id"],
            "period": table["period"],
            "verdict": table["verdict"],
            "bearer": table["bearer_person"],
        }
    )


def differences(
    con: duckdb.DuckDBPyConnection, left: pa.Table, right: pa.Table, names: tuple[str, str]
) -> list[tuple[object, ...]]:
    """Verdict rows found on one side only, labelled with that side's name; at most 20."""
    con.register("_left", left.select(COMPARED))
    con.register("_right", right.select(COMPARED))
    try:
        columns = ", ".join(COMPARED)
        return con.execute(
            f"""(SELECT ? AS side, {columns} FROM
                   (SELECT {columns} FROM _left EXCEPT ALL SELECT {columns} FROM _right))
                UNION ALL
                (SELECT ?, {columns} FROM
                   (SELECT {columns} FROM _right EXCEPT ALL SELECT {columns} FROM _left))
                ORDER BY 2, 3, 4, 1 LIMIT 20""",
            [f"{names[0]} only", f"{names[1]} only"],
        ).fetchall()
    finally:
        con.unregister("_left")
        con.unregister("_right")


def python_table(verdicts: reference_py.Verdicts) -> pa.Table:
    keys = list(verdicts)
    return pa.table(
        {
            "rule_id": [k[0] for k in keys],
            "subject_id": [k[1] for k in keys],
            "period": [k[2] for k in keys],
            "verdict": [verdicts[k][0] for k in keys],
            "bearer": [verdicts[k][1] for k in keys],
        }
    )


def check_same(
    results: Results,
    con: duckdb.DuckDBPyConnection,
    section: str,
    names: tuple[str, str],
    left: pa.Table,
    right: pa.Table,
) -> bool:
    """Both sides give the same verdict and bearer for the same (rule, subject, period)s."""
    found = differences(con, left, right, names)
    failing = sum(1 for verdict in left["verdict"].to_pylist() if verdict == "fail")
    if found:
        results.problems.append(
            f"{section} {names[0]} vs {names[1]}: verdicts differ, first rows:\n"
            + "\n".join(f"  {row}" for row in found)
        )
    results.add(
        Row(
            section,
            f"{names[0]} == {names[1]} ({left.num_rows:,} verdicts, {failing:,} fail)",
            "",
            None,
            None,
            target="identical",
            ok=not found,
            value="same" if not found else "DIFFER",
        )
    )
    return not found


# -- (a) and (c): evaluation only ------------------------------------------------------------


@dataclass
class Evaluation:
    engine: pa.Table
    engine_seconds: float
    engine_cpu: float
    engine_memory: Memory
    reference: pa.Table
    reference_seconds: float
    reference_cpu: float
    reference_memory: Memory
    all_detailed_seconds: float  # every pass explained and cited too (rules test, backtest)


def evaluate_both(con: duckdb.DuckDBPyConnection, pack: CompiledPack, repeat: int) -> Evaluation:
    """Engine and hand-written reference, alternately, ``repeat`` times each: medians, and the
    highest peak seen."""
    period = Period.parse(PERIOD)
    reference_sql.prepare(con)
    engine_times: list[Timing] = []
    reference_times: list[Timing] = []
    engine_memory = Memory()
    reference_memory = Memory()
    engine_table = reference_table = pa.table({})
    for _ in range(repeat):
        # the previous run's results are dropped first, so they do not count in this peak
        engine_table = reference_table = pa.table({})
        with peak_memory() as memory:
            engine_table, timing = timed(
                lambda: evaluate_table(pack, con, period, detailed_passes=())
            )
        engine_times.append(timing)
        engine_memory = max(engine_memory, memory, key=lambda m: m.peak)
        engine_table, kept = pa.table({}), engine_table
        with peak_memory() as memory:
            reference_table, timing = timed(lambda: reference_sql.evaluate(con))
        reference_times.append(timing)
        reference_memory = max(reference_memory, memory, key=lambda m: m.peak)
        engine_table = kept
    detailed = [timed(lambda: evaluate_table(pack, con, period))[1].wall for _ in range(repeat)]
    return Evaluation(
        engine=engine_table,
        engine_seconds=statistics.median(t.wall for t in engine_times),
        engine_cpu=statistics.median(t.cpu for t in engine_times),
        engine_memory=engine_memory,
        reference=reference_table,
        reference_seconds=statistics.median(t.wall for t in reference_times),
        reference_cpu=statistics.median(t.cpu for t in reference_times),
        reference_memory=reference_memory,
        all_detailed_seconds=statistics.median(detailed),
    )


def report_evaluation(
    results: Results, section: str, records: int, run: Evaluation, *, target: float | None
) -> None:
    results.add(
        Row(
            section,
            "engine: evaluate_table as an inspection (passes detailed where a case exists)",
            "DuckDB",
            records,
            run.engine_seconds,
            run.engine_memory,
            f"≤ {target:g} s" if target else "",
            run.engine_seconds <= target if target else None,
            cpu=run.engine_cpu,
        )
    )
    results.add(
        Row(
            section,
            "hand-written DuckDB reference",
            "DuckDB",
            records,
            run.reference_seconds,
            run.reference_memory,
            cpu=run.reference_cpu,
        )
    )
    results.add(
        Row(
            section,
            "engine, every pass explained and cited (for comparison)",
            "DuckDB",
            records,
            run.all_detailed_seconds,
        )
    )
    ratio = run.engine_seconds / run.reference_seconds
    results.add(
        Row(
            section,
            "engine ÷ reference",
            "DuckDB",
            None,
            None,
            target="≤ 2x",
            ok=ratio <= 2,
            value=f"{ratio:.2f}x",
            cpu=None,
        )
    )
    results.add(
        Row(
            section,
            "engine ÷ reference, CPU time (for comparison)",
            "DuckDB",
            None,
            None,
            value=f"{run.engine_cpu / run.reference_cpu:.2f}x",
        )
    )


def report_probe(results: Results, section: str, records: int, probe: Probe) -> None:
    """Memory of a fresh process that loads the tables and evaluates once."""
    tables = (probe.loaded - probe.imported) / MIB
    results.add(
        Row(
            section,
            f"fresh process: interpreter {probe.imported / MIB:.0f} + tables {tables:.0f} MiB, "
            "then evaluate_table",
            "DuckDB",
            records,
            probe.seconds,
            Memory(probe.peak, probe.peak - probe.loaded),
            "≤ 400 MiB peak",
            probe.peak <= 400 * MIB,
        )
    )
    results.add(
        Row(
            section,
            "fresh process: evaluation alone (peak − RSS after loading)",
            "DuckDB",
            None,
            None,
            Memory(probe.peak, probe.peak - probe.loaded),
            "≤ 400 MiB rise",
            probe.peak - probe.loaded <= 400 * MIB,
        )
    )


@dataclass(frozen=True)
class Probe:
    imported: int
    loaded: int
    peak: int
    seconds: float


def probe_memory(con: duckdb.DuckDBPyConnection) -> Probe:
    """Export the tables to Parquet and evaluate them in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="dualduty-probe-") as tmp:
        memory_probe.export(con, Path(tmp))
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory_probe", tmp],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Probe(data["imported"], data["loaded"], data["peak"], data["seconds"])


def fails_by_rule(table: pa.Table) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {}
    for rule, verdict in zip(
        table["rule_id"].to_pylist(), table["verdict"].to_pylist(), strict=True
    ):
        entry = counts.setdefault(rule, [0, 0])
        entry[0] += 1
        entry[1] += verdict == "fail"
    return {rule: (total, failed) for rule, (total, failed) in counts.items()}


# -- (b): from the system of record to stored findings ---------------------------------------


@dataclass
class Pipeline:
    load: Timing
    evaluate: Timing
    store: Timing | None
    memory: Memory
    verdicts: pa.Table

    @property
    def steps(self) -> list[Timing]:
        return [self.load, self.evaluate] + ([self.store] if self.store else [])

    @property
    def total(self) -> Timing:
        return Timing(sum(t.wall for t in self.steps), sum(t.cpu for t in self.steps))


def inspect_once(engine: sa.Engine, pack: CompiledPack, cache: Path, store: bool) -> Pipeline:
    """What an inspection does, into empty findings and verdict-set tables: load_frames,
    evaluate (passes detailed where a case exists: none yet), then store every verdict as verdict
    sets and the failures as findings rows (``models.recording`` without opening cases)."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Empty as on a first inspection: DELETE would leave the previous run's dead rows in
            # the indexes for this run's inserts to step over.
            # CASCADE: cases refer to findings (none exist in this throwaway database).
            session.execute(sa.text("TRUNCATE findings, verdict_sets CASCADE"))
        else:
            session.execute(sa.delete(StoredFinding))
            session.execute(sa.delete(VerdictSet))
        session.commit()
    con = frames.connect()
    stored: Timing | None = None
    try:
        with peak_memory() as memory:
            _, load = timed(
                lambda: load_frames(engine, types=pack.pack.evidence, con=con, cache_dir=cache)
            )
            with Session(engine) as session:
                keys = case_keys(session, packs=[pack.id])
            found, judged = timed(
                lambda: evaluate_table(pack, con, Period.parse(PERIOD), detailed_passes=keys)
            )
            if store:
                with Session(engine) as session:
                    _, stored = timed(lambda: _store(session, found, keys))
    finally:
        con.close()
    return Pipeline(load, judged, stored, memory, verdicts_of(found))


def _store(session: Session, found: pa.Table, keys: set[FindingKey]) -> None:
    now = systems.now()
    store_verdicts(session, found, inspected=PERIOD, scope=None, inspection_id=None, now=now)
    acting = findings(actionable(found, keys))
    stored_findings.store(session, findings=acting, inspection_id=None, now=now)
    session.commit()


def measure_store(
    results: Results,
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    system: str,
    engine: sa.Engine,
    cache: Path,
    direct: pa.Table,
    records: int,
    store: bool,
) -> None:
    for label in ("cold cache", "warm cache"):
        run = inspect_once(engine, pack, cache, store)
        steps = [("load_frames", run.load), ("evaluate_table", run.evaluate)]
        if run.store is not None:
            steps.append(("store verdict sets + failing findings, commit", run.store))
        for step, timing in steps:
            results.add(Row("(b)", f"{label}: {step}", system, None, timing.wall, cpu=timing.cpu))
        total = run.total
        results.add(
            Row(
                "(b)",
                f"{label}: total" + ("" if store else " (findings not stored)"),
                system,
                records,
                total.wall,
                run.memory,
                "≤ 5 s",
                total.wall <= 5 if store else None,
                cpu=total.cpu,
            )
        )
        if label == "cold cache":
            check_same(
                results, con, "(b)", (f"via {system}", "direct engine"), run.verdicts, direct
            )


# -- main ------------------------------------------------------------------------------------


def scaled(records: int, base: int, per_2m: int) -> int:
    return max(per_2m * records // 2_000_000, base)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rule_engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument(
        "--scale",
        type=int,
        default=10_000_000,
        help="records for (c), with people and units scaled alike; 0 skips (c)",
    )
    parser.add_argument("--db", choices=["both", "sqlite", "postgres", "none"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timed evaluation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--skip-store", action="store_true", help="(b) without storing the findings (quick runs)"
    )
    parser.add_argument("--no-python", action="store_true", help="skip the plain-Python check")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Results:
    args = parse(argv)
    pack = load_pack(PACK)
    results = Results()
    console.print(
        f"[bold]dualduty rule engine benchmark[/]: {os.cpu_count()} cores, "
        f"{_memory_total()} GiB, Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"load average {load_average()}"
    )
    con = frames.connect()
    try:
        company = setup(results, con, pack, args.records, args.people, args.units, args.seed)
        direct = evaluation_only(results, "(a)", con, pack, company, args, target=None)
        if not args.no_python:
            python, timing = timed(lambda: reference_py.evaluate(con))
            results.add(
                Row(
                    "(a)",
                    "plain Python loops (check only)",
                    "Python",
                    company.total,
                    timing.wall,
                    cpu=timing.cpu,
                )
            )
            check_same(
                results, con, "(a)", ("engine", "Python loops"), direct, python_table(python)
            )
        if args.db != "none":
            systems_of_record(results, con, pack, company, direct, args)
    finally:
        con.close()
    if args.scale:
        people = max(args.people * args.scale // args.records, args.people)
        units = max(args.units * args.scale // args.records, args.units)
        con = frames.connect()
        try:
            big = setup(results, con, pack, args.scale, people, units, args.seed)
            evaluation_only(results, "(c)", con, pack, big, args, target=3)
        finally:
            con.close()
    title = (
        f"rule engine: {args.records:,} records (c: {args.scale:,}), {os.cpu_count()} cores, "
        f"load average {load_average()}"
    )
    console.print(results.table(title))
    for problem in results.problems:
        console.print(f"[red]{problem}[/]")
    if args.markdown:
        args.markdown.write_text(results.markdown() + "\n", encoding="utf-8")
    return results


def setup(
    results: Results,
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    records: int,
    people: int,
    units: int,
    seed: int,
) -> Generated:
    company, timing = timed(
        lambda: generate(con, pack, records=records, units=units, people=people, seed=seed)
    )
    parts = ", ".join(f"{name} {count:,}" for name, count in company.records.items())
    console.print(
        f"generated {company.total:,} records in {timing.wall:.1f} s for {people:,} people and "
        f"{units:,} units: {parts}"
    )
    results.add(
        Row(
            "setup",
            f"generate ({people:,} people, {units:,} units)",
            "DuckDB",
            company.total,
            timing.wall,
            cpu=timing.cpu,
        )
    )
    return company


def evaluation_only(
    results: Results,
    section: str,
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    company: Generated,
    args: argparse.Namespace,
    *,
    target: float | None,
) -> pa.Table:
    """Time engine and reference, check they agree; returns the engine's verdicts."""
    run = evaluate_both(con, pack, args.repeat)
    report_evaluation(results, section, company.total, run, target=target)
    report_probe(results, section, company.total, probe_memory(con))
    verdicts = verdicts_of(run.engine)
    check_same(results, con, section, ("engine", "hand-written SQL"), verdicts, run.reference)
    print_rules(section, run.engine)
    return verdicts


def systems_of_record(
    results: Results,
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    company: Generated,
    direct: pa.Table,
    args: argparse.Namespace,
) -> None:
    compared = systems.check_canonical(con, pack)
    console.print(
        f"store rows built as evidence.store writes them ({compared} sampled rows checked)"
    )
    with tempfile.TemporaryDirectory(prefix="dualduty-bench-") as tmp:
        folder = Path(tmp)
        for system, how, wanted in (
            ("SQLite", "executemany", args.db in ("both", "sqlite")),
            ("PostgreSQL", "COPY", args.db in ("both", "postgres")),
        ):
            if not wanted:
                continue
            with store_of(system, folder) as engine:
                _, timing = timed(lambda: systems.fill(engine, con, pack, folder))
                results.add(
                    Row(
                        "setup",
                        f"fill the store ({how}; indexes built after)",
                        system,
                        company.total,
                        timing.wall,
                        cpu=timing.cpu,
                    )
                )
                measure_store(
                    results,
                    con,
                    pack,
                    system,
                    engine,
                    folder / f"cache-{system}",
                    direct,
                    company.total,
                    not args.skip_store,
                )


@contextmanager
def store_of(system: str, folder: Path) -> Iterator[sa.Engine]:
    """An empty store: a SQLite file in ``folder``, or a throwaway PostgreSQL database."""
    with ExitStack() as stack:
        if system == "SQLite":
            url = f"sqlite:///{folder / 'store.db'}"
        else:
            url = stack.enter_context(systems.postgres_database(PG_ADMIN))
        engine = systems.open_store(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _memory_total() -> str:
    return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f}"


def print_rules(section: str, findings: pa.Table) -> None:
    table = Table(title=f"{section} verdicts per rule, year {PERIOD}")
    for name in ("rule", "verdicts", "fail"):
        table.add_column(name, justify="left" if name == "rule" else "right")
    for rule, (total, failed) in fails_by_rule(findings).items():
        table.add_row(rule, f"{total:,}", f"{failed:,}")
    console.print(table)


if __name__ == "__main__":
    started = dt.datetime.now()
    main()
    console.print(f"finished in {(dt.datetime.now() - started).total_seconds():.0f} s")
