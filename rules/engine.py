"""The evaluation engine: a compiled pack, the evaluation tables, a period and a scope in;
findings out.

Set-based by construction: each rule is one SQL query over the tables of ``evidence.frames``
(DuckDB, in process), so the cost grows with the data the way a database's does, not with a
Python loop. Python only turns result rows (one per finding) into ``Finding``s.

The connection is used by one evaluation at a time: the engine keeps two temporary tables on it
(``_dd_ancestors``, ``_dd_scope`` and, when only some passes are detailed, ``_dd_detail``).
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Sequence
from functools import cache, partial

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

from dualduty.errors import NotFoundError, RunError
from evidence.frames import ORG_TABLES, create_evidence_table, evidence_table
from evidence.memory import with_room
from rules.compiler import CompiledPack, RulePlan
from rules.findings import Finding, FindingKey, Verdict
from rules.kinds import Check, Duty
from rules.periods import Period
from rules.queries.check import check_sql, lookup_is_single_sql
from rules.queries.common import JudgedPeriod, judged_periods, subject_bears
from rules.queries.duty import duty_sql
from rules.queries.window import window_sql
from rules.wording import explanation_sql


def prepare(con: duckdb.DuckDBPyConnection, pack: CompiledPack, scope: str | None) -> bool:
    """Make sure every table a rule reads exists, and build the unit tree and scope tables.

    Returns whether a scope applies. A missing evidence table is created empty: a type nobody
    loaded yet has no records, which duties report as no-evidence.
    """
    existing = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    missing_org = [table for table in ORG_TABLES if table not in existing]
    if missing_org:
        from evidence.frames import create_org_tables

        create_org_tables(con)
    for name, etype in pack.pack.evidence.items():
        if evidence_table(name) not in existing:
            create_evidence_table(con, name, etype.fields)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _dd_ancestors AS
        WITH RECURSIVE anc(unit, ancestor, depth) AS (
            SELECT code, code, 0 FROM org_units
            UNION ALL
            SELECT a.unit, u.parent_code, a.depth + 1
            FROM anc a JOIN org_units u ON u.code = a.ancestor
            WHERE u.parent_code IS NOT NULL AND a.depth < 64
        )
        SELECT unit, ancestor, min(depth) AS depth FROM anc GROUP BY unit, ancestor
        """
    )
    if scope is None:
        con.execute("CREATE OR REPLACE TEMP TABLE _dd_scope AS SELECT code AS unit FROM org_units")
        return False
    found = con.execute("SELECT count(*) FROM org_units WHERE code = ?", [scope]).fetchall()
    if not found[0][0]:
        raise NotFoundError(
            f"范围单位不存在 / no unit '{scope}' to scope the inspection to",
            hint="scope is a unit code from the organisation",
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dd_scope AS "
        "SELECT unit FROM _dd_ancestors WHERE ancestor = ?",
        [scope],
    )
    return True


def rule_query(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    scoped: bool,
    *,
    all_passes_detailed: bool = True,
) -> str:
    """The rule's whole query: its kind's CTEs, then one row per finding with the columns that
    vary (``VARYING``); ``with_constants`` adds the rest.

    Without ``all_passes_detailed``, a pass gets its explanation and evidence ids only when its
    key is in ``_dd_detail`` (see ``evaluate_table``)."""
    rule = plan.rule
    detailed = all_passes_detailed
    if isinstance(rule, Duty):
        body = duty_sql(plan, periods, scoped, detailed)
    elif isinstance(rule, Check):
        single = all(
            con.execute(lookup_is_single_sql(lookup)).fetchall()[0][0] for lookup in plan.lookups
        )
        empty = bool(empty_lookups(con, plan))
        body = check_sql(plan, periods, scoped, empty, single, detailed)
    else:
        body = window_sql(plan, periods, scoped, detailed)
    # A subject bearing its own rule gets its bearer column from subject_id in with_constants:
    # not sending a copy of a million subject ids through Arrow saves 7% of dues-monthly at 10M.
    bearer = "NULL::VARCHAR" if subject_bears(plan) else "bearer"
    return f"""{body}
SELECT period, subject_id, unit_code, verdict, {bearer} AS bearer_person,
       CASE WHEN told THEN {explanation_sql(pack, plan)} ELSE '' END AS explanation,
       CASE WHEN told THEN ids ELSE []::BIGINT[] END AS evidence_ids
FROM result
"""


VARYING = ("period", "subject_id", "unit_code", "verdict", "bearer_person", "explanation")


def with_constants(pack: CompiledPack, plan: RulePlan, varying: pa.Table) -> pa.Table:
    """The finding table of one rule: the query's columns plus those that are the same on every
    row, as dictionary arrays (one value, an index per row), so a million findings do not carry a
    million copies of the pack's hash."""
    rule = plan.rule
    rows = varying.num_rows
    zeros = pa.repeat(pa.scalar(0, pa.int32()), rows)

    def constant(value: str | None) -> pa.Array:
        if value is None:
            return pa.nulls(rows, DICT)
        # safe=False: the indices are zeros by construction; checking them costs a pass each.
        return pa.DictionaryArray.from_arrays(zeros, pa.array([value]), safe=False)

    bearer = varying["subject_id" if subject_bears(plan) else "bearer_person"]
    post = rule.bearer.post if rule.bearer is not None else None
    bearer_post = (
        pa.DictionaryArray.from_arrays(
            pc.if_else(pc.is_null(bearer.combine_chunks()), pa.scalar(None, pa.int32()), zeros),
            pa.array([post]),
            safe=False,
        )
        if post is not None
        else pa.nulls(rows, DICT)
    )
    columns = {
        "pack": constant(pack.id),
        "pack_version": constant(pack.version),
        "rule_id": constant(rule.id),
        "period": varying["period"],
        "subject_kind": constant(plan.subject_kind.value),
        "subject_id": varying["subject_id"],
        "unit_code": varying["unit_code"],
        "verdict": varying["verdict"],
        "side": constant(rule.side.value),
        "severity": constant(rule.severity.value),
        "ladder": constant(rule.ladder),
        "bearer_person": bearer,
        "bearer_post": bearer_post,
        "explanation": varying["explanation"],
        "evidence_ids": varying["evidence_ids"],
    }
    return pa.table(columns).cast(FINDINGS_SCHEMA)


def empty_lookups(con: duckdb.DuckDBPyConnection, plan: RulePlan) -> list[str]:
    """Evidence types looked up by ``require`` that hold no record at all.

    A check that needs a decision record cannot tell "no decision was taken" from "decisions were
    never loaded"; with none loaded at all, it says so (no-evidence) instead of failing every
    record.
    """
    used = plan.require.lookups if plan.require else frozenset()
    missing = []
    for lookup in plan.lookups:
        if lookup.evidence is None or lookup.name not in used:
            continue
        count = con.execute(f"SELECT count(*) FROM {evidence_table(lookup.evidence)}").fetchall()
        if not count[0][0]:
            missing.append(lookup.evidence)
    return missing


DICT = pa.dictionary(pa.int32(), pa.string())
FINDINGS_SCHEMA = pa.schema(
    [
        pa.field("pack", DICT),
        pa.field("pack_version", DICT),
        pa.field("rule_id", DICT),
        pa.field("period", pa.string()),
        pa.field("subject_kind", DICT),
        pa.field("subject_id", pa.string()),
        pa.field("unit_code", pa.string()),
        pa.field("verdict", pa.string()),
        pa.field("side", DICT),
        pa.field("severity", DICT),
        pa.field("ladder", DICT),
        pa.field("bearer_person", pa.string()),
        pa.field("bearer_post", DICT),
        pa.field("explanation", pa.string()),
        pa.field("evidence_ids", pa.list_(pa.int64())),
    ]
)


def evaluate_table(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: str | None = None,
    rules: Sequence[str] | None = None,
    detailed_passes: Iterable[FindingKey] | None = None,
) -> pa.Table:
    """Every finding (pass, fail, no-evidence) as one Arrow table, columns named as ``Finding``'s
    fields.

    This is the bulk interface: an inspection of a large company yields hundreds of thousands of
    findings (most of them passes), which stay columnar here; turning each into a Python object
    costs far more than judging it. ``findings()`` converts the rows you need.

    ``detailed_passes``: the keys ``(rule_id, subject_id, period)`` of the passes whose
    explanation and evidence ids are wanted (an inspection wants them where a case exists, for the
    case to show why it was resolved); the other passes come without them, which halves the
    evaluation's cost at scale. ``None`` (the default) details every pass. Failures and
    no-evidence findings are always detailed.
    """
    scoped = with_room(con, "preparing the unit tree", lambda: prepare(con, pack, scope))
    all_passes_detailed = detailed_passes is None
    if detailed_passes is not None:
        keys = list(detailed_passes)
        con.register(
            "_dd_detail_keys",
            pa.table(
                {
                    "rule_id": pa.array([k[0] for k in keys], pa.string()),
                    "subject_id": pa.array([k[1] for k in keys], pa.string()),
                    "period": pa.array([k[2] for k in keys], pa.string()),
                }
            ),
        )
        with_room(
            con,
            "listing the passes to detail",
            lambda: con.execute(
                "CREATE OR REPLACE TEMP TABLE _dd_detail AS SELECT * FROM _dd_detail_keys"
            ),
        )
        con.unregister("_dd_detail_keys")
    plans = [pack.plan(rule_id) for rule_id in rules] if rules is not None else pack.plans
    tables = []
    for plan in plans:
        periods = judged_periods(plan, period)
        if not periods:
            continue
        try:
            judge = partial(_judge, pack, con, plan, periods, scoped, all_passes_detailed)
            found = with_room(con, f"rule {plan.id}", judge)
            tables.append(with_constants(pack, plan, found))
        except duckdb.Error as error:
            # The pack validated, so this is the data's shape (a table built for another version
            # of the evidence type) or the database: say which rule, keep DuckDB's words.
            raise RunError(
                f"规则 {plan.id} 无法运行 / rule {plan.id} could not run: {error}"
            ) from error
    if not tables:
        return FINDINGS_SCHEMA.empty_table()
    return pa.concat_tables(tables)


def _judge(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    scoped: bool,
    all_passes_detailed: bool,
) -> pa.Table:
    sql = rule_query(pack, con, plan, periods, scoped, all_passes_detailed=all_passes_detailed)
    if not _optimizer_known():
        return con.sql(sql).to_arrow_table()
    con.execute(f"SET disabled_optimizers = '{_AS_WRITTEN}'")
    try:
        return con.sql(sql).to_arrow_table()
    finally:
        con.execute("RESET disabled_optimizers")


@cache
def _optimizer_known() -> bool:
    """Whether this DuckDB has the optimizer ``_AS_WRITTEN`` names: an older or newer one without
    it would refuse the setting, and the queries are right either way, only slower."""
    probe = duckdb.connect()
    try:
        names = {row[0] for row in probe.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    finally:
        probe.close()
    return _AS_WRITTEN in names


_AS_WRITTEN = "build_side_probe_side"
"""The rule queries are written with the side to build on the right of every join: the periods,
the looked-up records, the grouped counts, the findings to cite. DuckDB's build-side optimizer
swaps the sides when it estimates the left one smaller, and the join of the records with the
list of periods (an expression against a VALUES list) makes it estimate them tiny: at 10M
records, vendor-related-to-head then built its hash tables on 1.5M procurements instead of 100k
vendors and relatives (0.56 s; 0.24 s as written, the whole pack 3.5 s -> 3.1 s)."""


_FINDINGS = TypeAdapter(list[Finding])
_PLAIN = pa.schema(
    [
        pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
        for f in FINDINGS_SCHEMA
    ]
)


def findings(table: pa.Table) -> list[Finding]:
    """Findings from (a filtered part of) ``evaluate_table``'s result.

    Validated in one pydantic-core call, with the collector paused: building many small objects
    otherwise triggers a collection every few thousand and doubles the time.
    """
    rows = table.cast(_PLAIN).to_pylist()
    paused = gc.isenabled()
    gc.disable()
    try:
        return _FINDINGS.validate_python(rows)
    finally:
        if paused:
            gc.enable()


def findings_table(found: Sequence[Finding]) -> pa.Table:
    """The inverse of ``findings()``: ``Finding``s as a table of ``FINDINGS_SCHEMA`` (tests and
    callers holding a few findings feed the bulk interfaces with it)."""
    rows = [f.model_dump(mode="json") for f in found]
    return pa.Table.from_pylist(rows, schema=_PLAIN).cast(FINDINGS_SCHEMA)


def evaluate(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: str | None = None,
    rules: Sequence[str] | None = None,
    verdicts: Collection[Verdict] | None = None,
) -> list[Finding]:
    """Judge every rule (or the ``rules`` named) for the periods falling due in ``period``.

    ``scope`` (a unit code) limits the subjects to that unit's subtree; ``verdicts`` keeps only
    findings with those verdicts (``{Verdict.failed, Verdict.no_evidence}`` for what needs action).
    """
    table = evaluate_table(pack, con, period, scope=scope, rules=rules)
    if verdicts is not None:
        wanted = pa.array([v.value for v in verdicts], pa.string())
        table = table.filter(pc.is_in(table["verdict"], value_set=wanted))
    order = {plan.id: index for index, plan in enumerate(pack.plans)}
    return sorted(findings(table), key=lambda f: (order[f.rule_id], f.period, f.subject_id))
