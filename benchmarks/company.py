"""A synthetic group company and a year of its evidence, generated inside DuckDB.

Everything is computed from row numbers and a seed by integer hashing in SQL (``rnd(i, salt)``),
so the same arguments give the same company on any machine, 2M records take about two seconds,
and no Python loop runs per record. The tables have exactly the shapes of ``evidence.frames`` (the
engine's contract): ``org_units``, ``org_people``, ``org_posts`` and ``ev_<type>`` per evidence
type of ``benchmarks/pack.yaml``, with ``_id`` (the id the record gets in the store) and ``_key``
(its natural key, as ``evidence.store.natural_key`` would write it).

The company: one company > mines > departments > party branches > party groups (one unit in 200 is
a mine, one in 20 a department, one in 4 a branch, the rest are groups). A 党支部书记 per branch
(1% vacant), a 部门负责人 per department, a 矿长 per mine; 8% of branch secretaries and
department heads hand over in the middle of the year. Cadres carry the tag 领导干部.

Planted violations, besides those chance produces: skipped branch, assembly and group meetings;
late and zero dues; late pledges (and successors who sign at their takeover); department heads who
hold few integrity talks; cadres' large entertainment claims; unapproved and self-approved claims;
major purchases with no decision or a decision after the contract; large purchases not tendered;
purchases split into three within 20 days; vendors whose legal representative is a relative of the
department head (passing again after the head hands over).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from evidence.frames import create_evidence_table, create_org_tables, evidence_table
from rules.compiler import CompiledPack

YEAR = 2026
START = f"DATE '{YEAR}-01-01'"
HANDOVER_SHARE = 0.08

# Share of the records per evidence type; ``claim`` takes whatever the others leave, so the total
# is exact. Dues cannot exceed one per party member and month.
SHARES = {
    "meeting": 0.05,
    "talk": 0.10,
    "training": 0.20,
    "dues": 0.20,
    "procurement": 0.15,
    "decision": 0.0285,
    "vendor": 0.01,
    "relative": 0.01,
}
VENDOR_POOL = 60  # vendors a department buys from

MACROS = [
    # Integer hashing (a multiply-xorshift mix) in UBIGINT: no overflow, same result everywhere.
    "CREATE OR REPLACE MACRO _h0(i, s) AS "
    "(i::UBIGINT * 2654435761::UBIGINT + s::UBIGINT * 40503::UBIGINT + 1::UBIGINT) "
    "% 4294967296::UBIGINT",
    "CREATE OR REPLACE MACRO _h1(h) AS "
    "(xor(h, h >> 16) * 2246822507::UBIGINT) % 4294967296::UBIGINT",
    "CREATE OR REPLACE MACRO _h2(h) AS "
    "(xor(h, h >> 13) * 3266489909::UBIGINT) % 4294967296::UBIGINT",
    "CREATE OR REPLACE MACRO _h3(h) AS xor(h, h >> 16)",
    # rnd(i, salt): uniform in [0, 1); pick(i, salt, n): uniform in 0 .. n-1
    "CREATE OR REPLACE MACRO rnd(i, s) AS (_h3(_h2(_h1(_h0(i, s)))) / 4294967296.0)",
    "CREATE OR REPLACE MACRO pick(i, s, n) AS least(floor(rnd(i, s) * n)::BIGINT, n - 1)",
    f"CREATE OR REPLACE MACRO day_of(i, s) AS ({START} + pick(i, s, 365)::INTEGER)",
    "CREATE OR REPLACE MACRO code(prefix, i, width) AS "
    "prefix || lpad(CAST(i AS VARCHAR), width, '0')",
]


@dataclass(frozen=True)
class Shape:
    """Sizes of the company's parts, derived from the number of units and people."""

    units: int
    people: int
    mines: int
    departments: int
    branches: int
    groups: int

    @classmethod
    def of(cls, units: int, people: int) -> Shape:
        mines = max(1, units // 200)
        departments = max(1, units // 20)
        branches = max(1, units // 4)
        groups = units - 1 - mines - departments - branches
        if groups < 1:
            raise ValueError(f"{units} units are too few for the five levels (at least 30)")
        shape = cls(units, people, mines, departments, branches, groups)
        if people < shape.cadres + shape.branches + shape.departments + 10:
            raise ValueError(f"{people} people are too few for {units} units' posts")
        return shape

    # People by index: [0, B) branch secretaries, [B, B+D) department heads, [B+D, B+D+M)
    # mine directors, then successors of branches, then successors of departments, then staff.
    @property
    def secretaries(self) -> int:
        return 0

    @property
    def heads(self) -> int:
        return self.branches

    @property
    def directors(self) -> int:
        return self.branches + self.departments

    @property
    def branch_successors(self) -> int:
        return self.directors + self.mines

    @property
    def department_successors(self) -> int:
        return self.branch_successors + self.branches

    @property
    def cadres(self) -> int:
        """People holding (or taking over) a post: they come first."""
        return self.department_successors + self.departments


@dataclass(frozen=True)
class Generated:
    shape: Shape
    records: dict[str, int]  # evidence type -> rows

    @property
    def total(self) -> int:
        return sum(self.records.values())


def generate(
    con: duckdb.DuckDBPyConnection,
    pack: CompiledPack,
    *,
    records: int,
    units: int,
    people: int,
    seed: int = 1,
) -> Generated:
    """Create and fill the org_* and ev_<type> tables on ``con``."""
    shape = Shape.of(units, people)
    for macro in MACROS:
        con.execute(macro)
    create_org_tables(con)
    for name, etype in pack.pack.evidence.items():
        create_evidence_table(con, name, etype.fields)
    salt = seed * 1000
    _org(con, shape, salt)
    budget = {name: int(records * share) for name, share in SHARES.items()}
    members = con.execute("SELECT count(*) FROM _members").fetchall()[0][0]
    budget["dues"] = min(budget["dues"], members * 12)
    counts: dict[str, int] = {}
    next_id = 1

    def fill(type_name: str, select: str) -> None:
        nonlocal next_id
        fields = ", ".join(f'"{n}"' for n in pack.evidence_type(type_name).fields)
        con.execute(
            f"INSERT INTO {evidence_table(type_name)} (_id, _key, {fields}) "
            f"SELECT {next_id} + row_number() OVER (ORDER BY _n) - 1, _key, {fields} "
            f"FROM ({select})"
        )
        counts[type_name] = con.execute(
            f"SELECT count(*) FROM {evidence_table(type_name)}"
        ).fetchall()[0][0]
        next_id += counts[type_name]

    n_vendors = max(budget["vendor"], VENDOR_POOL)
    fill("vendor", _vendors(n_vendors, salt))
    fill("meeting", _meetings(shape, budget["meeting"], salt))
    fill("talk", _talks(shape, budget["talk"], salt))
    fill("training", _trainings(shape, budget["training"], members, salt))
    fill("dues", _dues(budget["dues"], members, salt))
    fill("pledge", _pledges(shape, salt))
    fill("procurement", _procurements(shape, budget["procurement"], n_vendors, salt))
    fill("decision", _decisions(shape, budget["decision"], salt))
    fill("relative", _relatives(shape, budget["relative"], n_vendors, salt))
    remaining = records - sum(counts.values())
    if remaining < 1:
        raise ValueError(f"{records} records are too few for this company")
    fill("claim", _claims(shape, remaining, salt))
    con.execute("DROP TABLE _members")
    con.execute("DROP TABLE _cadres")
    return Generated(shape=shape, records=counts)


def _org(con: duckdb.DuckDBPyConnection, s: Shape, salt: int) -> None:
    m, d, b, g = s.mines, s.departments, s.branches, s.groups
    con.execute(
        f"""INSERT INTO org_units
        SELECT 'C0', '集团公司', 'company', NULL
        UNION ALL SELECT code('K', i, 3), '第' || (i + 1) || '矿', 'mine', 'C0' FROM range({m}) t(i)
        UNION ALL SELECT code('D', i, 4), '部门' || (i + 1), 'department', code('K', i % {m}, 3)
            FROM range({d}) t(i)
        UNION ALL SELECT code('B', i, 5), '第' || (i + 1) || '党支部', 'branch', code('D', i % {d}, 4)
            FROM range({b}) t(i)
        UNION ALL SELECT code('G', i, 5), '党小组' || (i + 1), 'group', code('B', i % {b}, 5)
            FROM range({g}) t(i)"""
    )
    # Units held by the first people (see Shape); everyone else sits in a party group.
    con.execute(
        f"""INSERT INTO org_people
        SELECT code('P', i, 7), '员工' || i,
               CASE WHEN i < {s.heads} THEN code('B', i, 5)
                    WHEN i < {s.directors} THEN code('D', i - {s.heads}, 4)
                    WHEN i < {s.branch_successors} THEN code('K', i - {s.directors}, 3)
                    WHEN i < {s.department_successors} THEN code('B', i - {s.branch_successors}, 5)
                    WHEN i < {s.cadres} THEN code('D', i - {s.department_successors}, 4)
                    ELSE code('G', i % {g}, 5) END,
               i < {s.cadres} OR rnd(i, {salt + 1}) < 0.33,
               CASE WHEN i < {s.cadres} THEN ['领导干部'] ELSE []::VARCHAR[] END
        FROM range({s.people}) t(i)"""
    )
    handover = f"rnd(i, {{salt}}) < {HANDOVER_SHARE}"
    takeover = f"(DATE '{YEAR}-02-01' + pick(i, {{salt}}, 300)::INTEGER)"
    for post, prefix, width, count, holder, successor, post_salt in (
        ("党支部书记", "B", 5, b, s.secretaries, s.branch_successors, salt + 10),
        ("部门负责人", "D", 4, d, s.heads, s.department_successors, salt + 20),
    ):
        changed = handover.format(salt=post_salt)
        on = takeover.format(salt=post_salt + 1)
        vacant = f"rnd(i, {post_salt + 2}) < 0.01" if post == "党支部书记" else "FALSE"
        con.execute(
            f"""INSERT INTO org_posts
            SELECT code('P', {holder} + i, 7), '{post}', code('{prefix}', i, {width}),
                   DATE '2020-01-01', CASE WHEN {changed} THEN {on} - 1 END
            FROM range({count}) t(i) WHERE NOT ({vacant})
            UNION ALL
            SELECT code('P', {successor} + i, 7), '{post}', code('{prefix}', i, {width}), {on}, NULL
            FROM range({count}) t(i) WHERE {changed} AND NOT ({vacant})"""
        )
    con.execute(
        f"""INSERT INTO org_posts SELECT code('P', {s.directors} + i, 7), '矿长', code('K', i, 3),
        DATE '2020-01-01', NULL FROM range({m}) t(i)"""
    )
    con.execute(
        "CREATE TEMP TABLE _members AS SELECT row_number() OVER (ORDER BY code) - 1 AS idx, code "
        "FROM org_people WHERE party_member"
    )
    con.execute(
        f"CREATE TEMP TABLE _cadres AS SELECT i AS idx, code('P', i, 7) AS code "
        f"FROM range({s.cadres}) t(i)"
    )


def _vendors(n: int, salt: int) -> str:
    return f"""SELECT i AS _n, code('V', i, 6) AS _key, code('V', i, 6) AS code,
        '供应商' || i || '有限公司' AS name, '法人' || i AS legal_rep,
        DATE '2010-01-01' + pick(i, {salt + 30}, 5800)::INTEGER AS registered_on
        FROM range({n}) t(i)"""


def _meetings(s: Shape, n: int, salt: int) -> str:
    """One 支委会 per branch and month, one 党员大会 per branch and quarter, one 党小组会 per
    group and month (3% skipped: held as a 党课 instead), then other meetings at random."""
    committee, assembly, group = s.branches * 12, s.branches * 4, s.groups * 12
    return f"""SELECT i AS _n, code('MT', i, 9) AS _key, code('MT', i, 9) AS no, unit,
        CASE WHEN i < {committee + assembly + group} AND rnd(i, {salt + 40}) < 0.03 THEN '党课'
             ELSE kind END AS kind,
        held_on, (5 + pick(i, {salt + 41}, 40))::BIGINT AS attendance
    FROM (
        SELECT i,
            CASE WHEN i < {committee} THEN code('B', i // 12, 5)
                 WHEN i < {committee + assembly} THEN code('B', (i - {committee}) // 4, 5)
                 WHEN i < {committee + assembly + group}
                     THEN code('G', (i - {committee + assembly}) // 12, 5)
                 WHEN rnd(i, {salt + 42}) < 0.5 THEN code('B', pick(i, {salt + 43}, {s.branches}), 5)
                 ELSE code('G', pick(i, {salt + 43}, {s.groups}), 5) END AS unit,
            CASE WHEN i < {committee} THEN '支委会'
                 WHEN i < {committee + assembly} THEN '党员大会'
                 WHEN i < {committee + assembly + group} THEN '党小组会'
                 ELSE ['党课', '主题党日', '支委会', '党小组会'][1 + pick(i, {salt + 44}, 4)] END
                 AS kind,
            CASE WHEN i < {committee}
                     THEN make_date({YEAR}, (i % 12 + 1)::BIGINT, 1 + pick(i, {salt + 45}, 28))
                 WHEN i < {committee + assembly}
                     THEN make_date({YEAR}, ((i - {committee}) % 4 * 3 + 1 + pick(i, {salt + 46}, 3))::BIGINT,
                                    1 + pick(i, {salt + 45}, 28))
                 WHEN i < {committee + assembly + group}
                     THEN make_date({YEAR}, ((i - {committee + assembly}) % 12 + 1)::BIGINT,
                                    1 + pick(i, {salt + 45}, 28))
                 ELSE day_of(i, {salt + 47}) END AS held_on
        FROM range({n}) t(i)
    )"""


def _talks(s: Shape, n: int, salt: int) -> str:
    """Talks held by secretaries and heads; one head in ten holds almost no integrity talks."""
    hosts = s.cadres - s.mines  # every cadre but the mine directors
    return f"""SELECT i AS _n, code('TK', i, 9) AS _key, code('TK', i, 9) AS no, p.unit_code AS unit,
        p.code AS host, code('P', pick(i, {salt + 51}, {s.people}), 7) AS talked_to,
        CASE WHEN rnd(h, {salt + 52}) < 0.1 AND rnd(i, {salt + 53}) > 0.01 THEN '谈心谈话'
             WHEN rnd(i, {salt + 54}) < 0.4 THEN '廉政谈话' ELSE '谈心谈话' END AS kind,
        day_of(i, {salt + 55}) AS held_on
    FROM (SELECT i, CASE WHEN x >= {s.directors} THEN x + {s.mines} ELSE x END AS h
          FROM (SELECT i, pick(i, {salt + 50}, {hosts}) AS x FROM range({n}) t(i)))
    JOIN org_people p ON p.code = code('P', h, 7)"""


def _trainings(s: Shape, n: int, members: int, salt: int) -> str:
    return f"""SELECT i AS _n, code('TR', i, 9) AS _key, code('TR', i, 9) AS no,
        CASE WHEN rnd(i, {salt + 60}) < 0.1 THEN code('P', pick(i, {salt + 61}, {s.people}), 7)
             ELSE m.code END AS member,
        ['党章', '党史', '廉洁教育', '安全生产', '业务培训'][1 + pick(i, {salt + 62}, 5)] AS course,
        (2 + pick(i, {salt + 63}, 4))::DECIMAL(18, 2) AS hours,
        day_of(i, {salt + 64}) AS held_on
    FROM range({n}) t(i) JOIN _members m ON m.idx = pick(i, {salt + 65}, {members})"""


def _dues(n: int, members: int, salt: int) -> str:
    """Distinct (member, month) cells: cell = i * p mod cells, p a prime not dividing cells."""
    cells = members * 12
    prime = 2147483647 if cells % 2147483647 else 1000000007
    return f"""SELECT c AS _n, m.code || '/' || label AS _key, m.code AS member, label AS month,
        CASE WHEN rnd(c, {salt + 70}) < 0.005 THEN 0 ELSE 20 + pick(c, {salt + 71}, 480) END
            ::DECIMAL(18, 2) AS amount,
        CASE WHEN r < 0.03 THEN make_date({YEAR}, mo, 1) + INTERVAL 1 MONTH + INTERVAL 15 DAY
                 + INTERVAL (pick(c, {salt + 72}, 13)) DAY
             WHEN r < 0.08 THEN make_date({YEAR}, mo, 1) + INTERVAL 1 MONTH
                 + INTERVAL (pick(c, {salt + 72}, 15)) DAY
             ELSE make_date({YEAR}, mo, 1) + INTERVAL (pick(c, {salt + 72}, 28)) DAY END::DATE
            AS paid_on
    FROM (SELECT c, c % {members} AS idx, (c // {members} + 1)::BIGINT AS mo,
                 printf('{YEAR}-%02d', c // {members} + 1) AS label, rnd(c, {salt + 73}) AS r
          FROM (SELECT (i * {prime}) % {cells} AS c FROM range({n}) t(i)))
    JOIN _members m USING (idx)"""


def _pledges(s: Shape, salt: int) -> str:
    """Each department's head signs in the first quarter (6% in April or May); a successor
    signs on taking over."""
    return f"""SELECT i AS _n, code('PL', i, 6) AS _key, code('PL', i, 6) AS no, person_code AS signer,
        CASE WHEN since > DATE '{YEAR}-01-01' THEN since
             WHEN rnd(i, {salt + 80}) < 0.06 THEN DATE '{YEAR}-04-01' + pick(i, {salt + 81}, 60)::INTEGER
             ELSE DATE '{YEAR}-01-05' + pick(i, {salt + 81}, 80)::INTEGER END AS signed_on
    FROM (SELECT row_number() OVER (ORDER BY unit_code, since) - 1 AS i, person_code, since
          FROM org_posts WHERE post_name = '部门负责人')"""


def _procurements(s: Shape, n: int, n_vendors: int, salt: int) -> str:
    """Mostly small purchases from the department's pool of vendors; 0.3% of the triples
    (3k, 3k+1, 3k+2) are one purchase split in three within 20 days."""
    split = f"rnd(i // 3, {salt + 90}) < 0.003"
    return f"""SELECT i AS _n, code('HT', i, 9) AS _key, code('HT', i, 9) AS no,
        code('D', dept, 4) AS unit, code('V', (dept * 37 + slot) % {n_vendors}, 6) AS vendor,
        amount::DECIMAL(18, 2) AS amount,
        CASE WHEN amount >= 2000000 AND rnd(i, {salt + 91}) >= 0.03 THEN '公开招标'
             WHEN amount >= 2000000 THEN '竞争性谈判'
             ELSE ['询比价', '竞争性谈判', '单一来源', '公开招标'][1 + pick(i, {salt + 92}, 4)] END
            AS method,
        contract_date,
        CASE WHEN amount >= 1000000 THEN code('JC', i, 9) END AS decision_id
    FROM (
        SELECT i,
            CASE WHEN {split} THEN pick(i // 3, {salt + 93}, {s.departments})
                 ELSE pick(i, {salt + 93}, {s.departments}) END AS dept,
            CASE WHEN {split} THEN pick(i // 3, {salt + 94}, {VENDOR_POOL})
                 ELSE pick(i, {salt + 94}, {VENDOR_POOL}) END AS slot,
            CASE WHEN {split} THEN 700000 + pick(i, {salt + 95}, 290000)
                 ELSE 1000 + floor(pow(rnd(i, {salt + 96}), 16) * 5000000)::BIGINT END AS amount,
            CASE WHEN {split} THEN day_of(i // 3, {salt + 97}) + pick(i, {salt + 98}, 20)::INTEGER
                 ELSE day_of(i, {salt + 97}) END AS contract_date
        FROM range({n}) t(i)
    )"""


def _decisions(s: Shape, n: int, salt: int) -> str:
    """A decision before each major purchase (3% missing, 3% dated after the contract), then
    other decisions up to ``n``."""
    return f"""SELECT * FROM (
        SELECT _id AS _n, decision_id AS _key, decision_id AS decision_no, unit, '采购 ' || no AS topic,
            CASE WHEN rnd(_id, {salt + 100}) < 0.03
                     THEN contract_date + (1 + pick(_id, {salt + 101}, 20))::INTEGER
                 ELSE contract_date - pick(_id, {salt + 101}, 30)::INTEGER END AS decided_on
        FROM ev_procurement WHERE decision_id IS NOT NULL AND rnd(_id, {salt + 102}) >= 0.03
        UNION ALL
        SELECT 1000000000 + i, code('JX', i, 9), code('JX', i, 9),
            code('D', pick(i, {salt + 103}, {s.departments}), 4),
            ['人事任免', '年度预算', '投资项目', '资产处置'][1 + pick(i, {salt + 104}, 4)],
            day_of(i, {salt + 105})
        FROM range(greatest({n} - (SELECT count(*) FROM ev_procurement
                                   WHERE decision_id IS NOT NULL AND rnd(_id, {salt + 102}) >= 0.03),
                            0)) t(i)
    )"""


def _relatives(s: Shape, n: int, n_vendors: int, salt: int) -> str:
    """Relatives declared by cadres. One department head (and successor) in ten is related to
    the legal representative of a vendor in their department's pool."""
    heads, successors = s.heads, s.department_successors
    d = s.departments
    planted = f"""
        SELECT k AS _n, code('P', {heads} + k, 7) AS cadre,
               '法人' || ((k * 37 + 5) % {n_vendors}) AS name, '配偶' AS relation
        FROM range({d}) t(k) WHERE rnd(k, {salt + 110}) < 0.1
        UNION ALL
        SELECT {d} + k, code('P', {successors} + k, 7), '法人' || ((k * 37 + 7) % {n_vendors}), '兄弟'
        FROM range({d}) t(k) WHERE rnd(k, {salt + 111}) < 0.1"""
    return f"""SELECT _n, cadre || '/' || name AS _key, cadre, name, relation FROM (
        {planted}
        UNION ALL
        SELECT {2 * d} + i, c.code, '亲属' || i,
               ['配偶', '子女', '父母', '兄弟姐妹', '配偶的父母'][1 + pick(i, {salt + 112}, 5)]
        FROM range({n} - 2 * {d} + 0) t(i)
        JOIN _cadres c ON c.idx = pick(i, {salt + 113}, {s.cadres})
    )
    QUALIFY row_number() OVER (ORDER BY _n) <= {n}"""


def _claims(s: Shape, n: int, salt: int) -> str:
    """Claims, 30% by cadres; 1% unapproved, 1% self-approved; a few cadres' entertainment
    claims above the monthly cap."""
    return f"""SELECT i AS _n, code('BX', i, 9) AS _key, code('BX', i, 9) AS no, p.code AS person,
        p.unit_code AS unit, category, amount::DECIMAL(18, 2) AS amount,
        code('INV', i, 10) AS invoice_no, day_of(i, {salt + 120}) AS claimed_on,
        CASE WHEN rnd(i, {salt + 121}) < 0.01 THEN NULL
             WHEN rnd(i, {salt + 122}) < 0.01 THEN p.code
             ELSE code('P', {s.heads} + pick(i, {salt + 123}, {s.departments}), 7) END AS approved_by
    FROM (
        SELECT i, cadre,
            CASE WHEN cadre THEN pick(i, {salt + 124}, {s.cadres})
                 ELSE pick(i, {salt + 124}, {s.people}) END AS who,
            CASE WHEN cadre AND rnd(i, {salt + 125}) < 0.3 THEN '业务招待'
                 ELSE ['差旅', '办公', '会议', '培训', '业务招待'][1 + pick(i, {salt + 126}, 5)] END
                AS category,
            CASE WHEN cadre AND rnd(i, {salt + 127}) < 0.003 THEN 15000 + pick(i, {salt + 128}, 15000)
                 ELSE 50 + floor(pow(rnd(i, {salt + 129}), 10) * 30000)::BIGINT END AS amount
        FROM (SELECT i, rnd(i, {salt + 130}) < 0.3 AS cadre FROM range({n}) t(i))
    ) c JOIN org_people p ON p.code = code('P', c.who, 7)"""
