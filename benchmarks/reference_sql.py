"""The benchmark pack's 13 rules as hand-written DuckDB SQL: the speed yardstick.

One query per rule, written from what the rule says (pack.yaml) for the inspected year, with no
help from the engine: periods come from the dates (``strftime``, ``quarter``), counts from plain
GROUP BYs, the split-purchase window from a range self-join, bearers from ``org_posts``. Each
query returns every verdict the engine returns, as ``(rule_id, subject_id, period, verdict,
bearer)``, so the two can be compared row for row; what the engine adds on top (explanations,
cited evidence ids, severities) is the price of being an engine, which the 2x target allows.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

YEAR = 2026

# Helpers shared by the queries: the year's months, quarters and halves with their last days,
# each unit's ancestors, and the post holders.
SETUP = f"""
CREATE OR REPLACE TEMP TABLE ref_periods AS
    SELECT 'month' AS kind, printf('{YEAR}-%02d', m) AS label, make_date({YEAR}, m, 1) AS p_start,
           last_day(make_date({YEAR}, m, 1)) AS p_end FROM range(1, 13) t(m)
    UNION ALL SELECT 'quarter', '{YEAR}-Q' || q, make_date({YEAR}, q * 3 - 2, 1),
           last_day(make_date({YEAR}, q * 3, 1)) FROM range(1, 5) t(q)
    UNION ALL SELECT 'half', '{YEAR}-H' || h, make_date({YEAR}, h * 6 - 5, 1),
           last_day(make_date({YEAR}, h * 6, 1)) FROM range(1, 3) t(h)
    UNION ALL SELECT 'year', '{YEAR}', DATE '{YEAR}-01-01', DATE '{YEAR}-12-31';
CREATE OR REPLACE TEMP TABLE ref_up AS
    WITH RECURSIVE up(unit, ancestor, depth) AS (
        SELECT code, code, 0 FROM org_units
        UNION ALL SELECT up.unit, u.parent_code, up.depth + 1
        FROM up JOIN org_units u ON u.code = up.ancestor WHERE u.parent_code IS NOT NULL)
    SELECT * FROM up;
CREATE OR REPLACE MACRO ref_month(d) AS strftime(d, '%Y-%m');
CREATE OR REPLACE MACRO ref_quarter(d) AS year(d) || '-Q' || quarter(d);
CREATE OR REPLACE MACRO ref_half(d) AS year(d) || '-H' || (1 + (month(d) - 1) // 6);
"""


def holder(post: str, unit: str, day: str) -> str:
    """The holder of ``post`` at exactly ``unit`` on ``day`` (lowest code if several)."""
    return (
        f"(SELECT min(o.person_code) FROM org_posts o WHERE o.post_name = '{post}' "
        f"AND o.unit_code = {unit} AND o.since <= {day} AND (o.until IS NULL OR o.until >= {day}))"
    )


def holder_up(post: str, unit: str, day: str) -> str:
    """The holder at the nearest of ``unit`` and its ancestors that has one on ``day``."""
    return (
        f"(SELECT o.person_code FROM ref_up a JOIN org_posts o ON o.unit_code = a.ancestor "
        f"WHERE a.unit = {unit} AND o.post_name = '{post}' AND o.since <= {day} "
        f"AND (o.until IS NULL OR o.until >= {day}) ORDER BY a.depth, o.person_code LIMIT 1)"
    )


def unit_monthly_meeting(rule: str, kinds: str, kind: str, label: str, bearer: str) -> str:
    """A unit of ``kinds`` holds a meeting of ``kind`` at least once per period."""
    return f"""
    WITH held AS (
        SELECT unit, {label}(held_on) AS label, count(*) AS n FROM ev_meeting
        WHERE kind = '{kind}' AND year(held_on) = {YEAR} GROUP BY ALL),
    present AS (SELECT DISTINCT {label}(held_on) AS label FROM ev_meeting
                WHERE year(held_on) = {YEAR})
    SELECT '{rule}' AS rule_id, u.code AS subject_id, p.label AS period,
        CASE WHEN pr.label IS NULL THEN 'no-evidence'
             WHEN coalesce(h.n, 0) >= 1 THEN 'pass' ELSE 'fail' END AS verdict,
        {bearer} AS bearer
    FROM org_units u
    JOIN ref_periods p ON p.kind = '{"month" if label == "ref_month" else "quarter"}'
    LEFT JOIN held h ON h.unit = u.code AND h.label = p.label
    LEFT JOIN present pr ON pr.label = p.label
    WHERE u.kind = '{kinds}'"""


QUERIES: dict[str, str] = {
    "branch-committee-monthly": unit_monthly_meeting(
        "branch-committee-monthly",
        "branch",
        "支委会",
        "ref_month",
        holder("党支部书记", "u.code", "p.p_end"),
    ),
    "members-assembly-quarterly": unit_monthly_meeting(
        "members-assembly-quarterly",
        "branch",
        "党员大会",
        "ref_quarter",
        holder("党支部书记", "u.code", "p.p_end"),
    ),
    "group-meeting-monthly": unit_monthly_meeting(
        "group-meeting-monthly",
        "group",
        "党小组会",
        "ref_month",
        holder_up("党支部书记", "u.code", "p.p_end"),
    ),
    "member-training-hours": f"""
    WITH hours AS (SELECT member, sum(hours) AS total FROM ev_training
                   WHERE year(held_on) = {YEAR} GROUP BY member)
    SELECT 'member-training-hours', pe.code, '{YEAR}',
        CASE WHEN NOT EXISTS (SELECT 1 FROM ev_training WHERE year(held_on) = {YEAR})
                 THEN 'no-evidence'
             WHEN coalesce(h.total, 0) >= 32 THEN 'pass' ELSE 'fail' END,
        pe.code
    FROM org_people pe LEFT JOIN hours h ON h.member = pe.code WHERE pe.party_member""",
    # paid by the 15th of the next month, counted for the month it names
    "dues-monthly": """
    WITH paid AS (
        SELECT member, month, count(*) AS n FROM ev_dues
        WHERE amount > 0
          AND paid_on <= last_day(strptime(month || '-01', '%Y-%m-%d')::DATE) + 15
        GROUP BY ALL),
    present AS (SELECT DISTINCT month FROM ev_dues)
    SELECT 'dues-monthly', pe.code, p.label,
        CASE WHEN pr.month IS NULL THEN 'no-evidence'
             WHEN coalesce(d.n, 0) >= 1 THEN 'pass' ELSE 'fail' END,
        pe.code
    FROM org_people pe CROSS JOIN ref_periods p
    LEFT JOIN paid d ON d.member = pe.code AND d.month = p.label
    LEFT JOIN present pr ON pr.month = p.label
    WHERE pe.party_member AND p.kind = 'month'""",
    # heads in post at the year's end; a pledge counts when signed by 31 March
    "pledge-by-march": f"""
    WITH heads AS (
        SELECT person_code AS code, min(unit_code) AS unit FROM org_posts
        WHERE post_name = '部门负责人' AND since <= DATE '{YEAR}-12-31'
          AND (until IS NULL OR until >= DATE '{YEAR}-12-31') GROUP BY person_code),
    signed AS (SELECT signer, count(*) AS n FROM ev_pledge
               WHERE year(signed_on) = {YEAR} AND signed_on <= DATE '{YEAR}-03-31' GROUP BY signer)
    SELECT 'pledge-by-march', h.code, '{YEAR}',
        CASE WHEN NOT EXISTS (SELECT 1 FROM ev_pledge WHERE year(signed_on) = {YEAR})
                 THEN 'no-evidence'
             WHEN coalesce(s.n, 0) >= 1 THEN 'pass' ELSE 'fail' END,
        h.code
    FROM heads h LEFT JOIN signed s ON s.signer = h.code""",
    "head-integrity-talks": f"""
    WITH heads AS (
        SELECT p.label, o.person_code AS code FROM ref_periods p JOIN org_posts o
          ON o.post_name = '部门负责人' AND o.since <= p.p_end
         AND (o.until IS NULL OR o.until >= p.p_end)
        WHERE p.kind = 'half' GROUP BY ALL),
    talks AS (SELECT host, ref_half(held_on) AS label, count(DISTINCT talked_to) AS n
              FROM ev_talk WHERE kind = '廉政谈话' AND year(held_on) = {YEAR} GROUP BY ALL),
    present AS (SELECT DISTINCT ref_half(held_on) AS label FROM ev_talk
                WHERE year(held_on) = {YEAR})
    SELECT 'head-integrity-talks', h.code, h.label,
        CASE WHEN pr.label IS NULL THEN 'no-evidence'
             WHEN coalesce(t.n, 0) >= 3 THEN 'pass' ELSE 'fail' END,
        h.code
    FROM heads h LEFT JOIN talks t ON t.host = h.code AND t.label = h.label
    LEFT JOIN present pr ON pr.label = h.label""",
    "entertainment-cap": f"""
    WITH spent AS (SELECT person, ref_month(claimed_on) AS label, sum(amount) AS total
                   FROM ev_claim WHERE category = '业务招待' AND year(claimed_on) = {YEAR}
                   GROUP BY ALL),
    present AS (SELECT DISTINCT ref_month(claimed_on) AS label FROM ev_claim
                WHERE year(claimed_on) = {YEAR})
    SELECT 'entertainment-cap', pe.code, p.label,
        CASE WHEN pr.label IS NULL THEN 'no-evidence'
             WHEN coalesce(s.total, 0) <= 20000 THEN 'pass' ELSE 'fail' END,
        pe.code
    FROM org_people pe CROSS JOIN ref_periods p
    LEFT JOIN spent s ON s.person = pe.code AND s.label = p.label
    LEFT JOIN present pr ON pr.label = p.label
    WHERE list_contains(pe.tags, '领导干部') AND p.kind = 'month'""",
    "large-claim-approval": f"""
    SELECT 'large-claim-approval', _key, ref_month(claimed_on),
        CASE WHEN approved_by IS NOT NULL AND approved_by <> person THEN 'pass' ELSE 'fail' END,
        NULL
    FROM ev_claim WHERE amount >= 5000 AND year(claimed_on) = {YEAR}""",
    "tender-method": f"""
    SELECT 'tender-method', _key, ref_quarter(contract_date),
        CASE WHEN method = '公开招标' THEN 'pass' ELSE 'fail' END, NULL
    FROM ev_procurement WHERE amount >= 2000000 AND year(contract_date) = {YEAR}""",
    "major-procurement-decision": f"""
    WITH timely AS (
        SELECT DISTINCT p._id FROM ev_procurement p JOIN ev_decision d ON d.decision_no = p.decision_id
        WHERE p.amount >= 1000000 AND d.decided_on <= p.contract_date)
    SELECT 'major-procurement-decision', p._key, ref_month(p.contract_date),
        CASE WHEN NOT EXISTS (SELECT 1 FROM ev_decision) THEN 'no-evidence'
             WHEN t._id IS NOT NULL THEN 'pass' ELSE 'fail' END,
        {holder_up("部门负责人", "p.unit", "p.contract_date")}
    FROM ev_procurement p LEFT JOIN timely t ON t._id = p._id
    WHERE p.amount >= 1000000 AND year(p.contract_date) = {YEAR}""",
    # each purchase below 2M with the purchases of the same unit and vendor in the 30 days up to
    # it (a range self-join); a quarter's group fails if one such run reaches 2M
    "split-purchase": f"""
    WITH base AS (
        SELECT _id, unit, vendor, contract_date AS d, amount FROM ev_procurement
        WHERE amount < 2000000
          AND contract_date BETWEEN DATE '{YEAR}-01-01' - 30 AND DATE '{YEAR}-12-31'),
    runs AS (
        SELECT e._id, e.unit, e.vendor, e.d, count(*) AS n, sum(b.amount) AS total
        FROM base e JOIN base b
          ON b.unit = e.unit AND b.vendor = e.vendor AND b.d BETWEEN e.d - 30 AND e.d
        WHERE year(e.d) = {YEAR} GROUP BY e._id, e.unit, e.vendor, e.d),
    groups AS (
        SELECT unit, vendor, ref_quarter(d) AS label, max(d) AS last_day,
               bool_or(n >= 2 AND total >= 2000000) AS crossed
        FROM runs GROUP BY ALL)
    SELECT 'split-purchase', concat_ws('/', coalesce(unit, ''), coalesce(vendor, '')), label,
        CASE WHEN crossed THEN 'fail' ELSE 'pass' END,
        {holder("部门负责人", "unit", "last_day")}
    FROM groups""",
    # the head on the contract date, the vendor's representative, and the head's relatives
    "vendor-related-to-head": f"""
    WITH pairs AS (
        SELECT p._id, p._key, p.contract_date, o.person_code AS head, v.legal_rep
        FROM ev_procurement p
        LEFT JOIN org_posts o ON o.post_name = '部门负责人' AND o.unit_code = p.unit
             AND o.since <= p.contract_date AND (o.until IS NULL OR o.until >= p.contract_date)
        LEFT JOIN ev_vendor v ON v.code = p.vendor
        WHERE year(p.contract_date) = {YEAR}),
    kin AS (SELECT DISTINCT pr._id, pr.head, pr.legal_rep FROM pairs pr
            JOIN ev_relative r ON r.cadre = pr.head AND r.name = pr.legal_rep)
    SELECT 'vendor-related-to-head', pr._key, ref_month(pr.contract_date),
        CASE WHEN bool_or(k._id IS NULL) THEN 'pass' ELSE 'fail' END, NULL
    FROM pairs pr LEFT JOIN kin k
      ON k._id = pr._id AND k.head = pr.head AND k.legal_rep = pr.legal_rep
    GROUP BY pr._id, pr._key, pr.contract_date""",
}

SCHEMA = pa.schema(
    [
        pa.field("rule_id", pa.string()),
        pa.field("subject_id", pa.string()),
        pa.field("period", pa.string()),
        pa.field("verdict", pa.string()),
        pa.field("bearer", pa.string()),
    ]
)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SETUP)


def evaluate(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every verdict of every rule for the year, as one Arrow table (``SCHEMA``)."""
    tables = []
    for sql in QUERIES.values():
        table = con.sql(sql).to_arrow_table()
        tables.append(table.rename_columns(SCHEMA.names).cast(SCHEMA))
    return pa.concat_tables(tables)
