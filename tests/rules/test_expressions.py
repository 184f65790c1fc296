"""Expressions: what compiles (and what DuckDB makes of it), and what is refused, where."""

from __future__ import annotations

import duckdb
import pytest

from evidence.values import FieldType as F
from rules.expressions import ExpressionError, ExprScope, Relation, T, compile_expression

RECORD = Relation(
    "r",
    {
        "amount": F.decimal,
        "kind": F.str,
        "unit": F.unit,
        "contract_date": F.date,
        "signed_at": F.datetime,
        "decision_id": F.str,
        "tags": F.list,
        "count": F.int,
        "ratio": F.float,
        "approved": F.bool,
    },
)
SCOPE = ExprScope(
    RECORD, {"decision": Relation("l_decision", {"id": F.str, "decided_on": F.date}, "_hit")}
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE r AS SELECT * FROM (VALUES
          (1500000.00::DECIMAL(18,2), '支委会', 'B01', DATE '2026-03-10',
           TIMESTAMP '2026-03-10 09:00', 'DEC-1', ['x', 'y'], 3::BIGINT, 0.5::DOUBLE, TRUE),
          (800000.00::DECIMAL(18,2), '党员大会', 'B02', DATE '2026-01-05',
           NULL, NULL, []::VARCHAR[], 1::BIGINT, 1.5::DOUBLE, FALSE)
        ) t(amount, kind, unit, contract_date, signed_at, decision_id, tags, count, ratio, approved)
        """
    )
    con.execute(
        "CREATE TABLE d AS SELECT 'DEC-1' AS id, DATE '2026-03-01' AS decided_on, TRUE AS _hit"
    )
    return con


def run(con: duckdb.DuckDBPyConnection, text: str) -> list[object]:
    compiled = compile_expression(text, SCOPE, expect=None)
    rows = con.execute(
        f"SELECT {compiled.sql} FROM r LEFT JOIN d AS l_decision "
        "ON l_decision.id = r.decision_id ORDER BY r.amount DESC"
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount >= 1000000 AND kind IN ('支委会', '党员大会')", [True, False]),
        ("kind == '支委会'", [True, False]),
        ("has(decision) AND decision.decided_on <= contract_date", [True, False]),
        ("NOT has(decision)", [False, True]),
        ("contract_date >= '2026-03-01'", [True, False]),
        ("contract_date BETWEEN DATE '2026-01-01' AND DATE '2026-01-31'", [False, True]),
        ("contract_date - decision.decided_on", [9, None]),
        ("contract_date + count > DATE '2026-03-12'", [True, False]),
        ("year(contract_date) * 100 + month(contract_date)", [202603, 202601]),
        ("contains(tags, 'x') AND length(tags) = 2", [True, False]),
        ("lower(unit) LIKE 'b0%'", [True, True]),
        ("coalesce(decision_id, 'none')", ["DEC-1", "none"]),
        ("decision_id IS NULL", [False, True]),
        ("round(amount / 3, 0) > 400000 OR approved", [True, False]),
        ("abs(-ratio) < 1 AND count % 2 = 1", [True, False]),
        ("signed_at >= '2026-03-10'", [True, None]),
        ("kind <> '支委会' -- comment", [False, True]),
    ],
)
def test_compiles_and_runs(
    con: duckdb.DuckDBPyConnection, text: str, expected: list[object]
) -> None:
    assert run(con, text) == expected


def test_types_and_reads() -> None:
    compiled = compile_expression(
        "has(decision) AND decision.decided_on <= contract_date AND amount > 1", SCOPE
    )
    assert compiled.type is T.bool
    assert compiled.fields == {"contract_date", "amount"}
    assert compiled.lookups == {"decision"}
    assert '"r"."amount"' in compiled.sql
    assert compile_expression("amount * 2", SCOPE, expect=None).type is T.decimal
    assert compile_expression("contract_date - contract_date", SCOPE, expect=None).type is T.int


def failures(text: str) -> list[tuple[str, str, str | None]]:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, SCOPE)
    return [(p.message, text[p.start : p.end + 1], p.hint) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "message", "span", "hint"),
    [
        (
            "amount >= '100万'",
            "类型不匹配 / type mismatch: amount is decimal, '100万' is text",
            "amount >= '100万'",
            "numbers are written without quotes: amount >= 1000000 (数字不加引号)",
        ),
        (
            "amout > 1",
            "记录 / the record 没有字段 / has no field 'amout'",
            "amout",
            "did you mean 'amount'? / 是否应为 'amount'？",
        ),
        (
            "decison.decided_on < contract_date",
            "未知的关联 / unknown lookup 'decison'",
            "decison.decided_on",
            "did you mean 'decision'?",
        ),
        (
            'kind = "支委会"',
            '双引号表示字段名，不是文本 / "支委会" in double quotes names a field',
            '"支委会"',
            "write text in single quotes: '支委会'",
        ),
        (
            "contract_date > '2026-13-01'",
            "不是日期 / not a date: '2026-13-01'",
            "'2026-13-01'",
            "write dates as '2026-03-31'",
        ),
        (
            "amount",
            "表达式应为 bool 类型，实际为 decimal / expected a bool expression, got decimal",
            "amount",
            "a condition compares values, e.g. amount >= 1000000",
        ),
        (
            "kind = NULL",
            "与 NULL 比较永远不成立 / comparing with NULL is never true",
            "kind",
            "write IS NULL or IS NOT NULL",
        ),
        (
            "approved > TRUE",
            "是/否值不能比大小 / yes/no values have no order",
            "approved",
            None,
        ),
        (
            "tags = 'x'",
            "列表不能直接比较 / lists cannot be compared",
            "tags = 'x'",
            "use contains(list, 'text')",
        ),
        (
            "lower(amount) = 'x'",
            "lower() 的参数应为 text / lower() takes text, amount is decimal",
            "amount",
            None,
        ),
        ("now() > contract_date", "未知函数 / unknown function now()", "now", None),
        (
            "hass(decision)",
            "未知函数 / unknown function hass()",
            "hass(decision)",
            "did you mean has()?",
        ),
        (
            "has(vendor)",
            "未知的关联 / unknown lookup 'vendor'",
            "has(vendor)",
            "declare it under lookups: (known: decision)",
        ),
        ("NOT kind", "NOT 的操作数应为条件 / NOT needs conditions, kind is text", "kind", None),
    ],
)
def test_refusals_name_the_types_and_the_span(
    text: str, message: str, span: str, hint: str | None
) -> None:
    (found,) = [f for f in failures(text) if f[0] == message] or [None]
    assert found is not None, failures(text)
    assert found[1] == span
    if hint is not None:
        assert found[2] == hint


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("amount > 1; DROP TABLE r", "exactly one expression"),
        ("kind = 'A' kind", "ALIAS"),
        ("amount IN (SELECT 1)", "IN takes a list of values"),
        ("amount > 1 || kind = 'x'", "DPIPE"),
        ("approved && approved", "ARRAYOVERLAPS"),
        ("CASE WHEN approved THEN 1 ELSE 0 END = 1", "CASE"),
        ("CAST(amount AS VARCHAR) = '1'", "casts are not supported"),
        ("(SELECT 1) = 1", "SUBQUERY"),
        ("a.b.c = 1", "too many dots"),
        ("amount >", "syntax error"),
        ("kind = 'unterminated", "cannot read the expression"),
        ("date_diff('day', contract_date, contract_date) > 1", "function not allowed"),
        ("current_date > contract_date", "function not allowed"),
        ("'x' + 1 = 2", "cannot compute"),
    ],
)
def test_unsafe_or_unsupported_syntax_is_refused(text: str, fragment: str) -> None:
    messages = [message for message, _, _ in failures(text)]
    assert any(fragment in message for message in messages), messages


def test_every_problem_is_reported() -> None:
    found = failures("amout > 1 AND kind = 5 AND decison.x = 1")
    assert len(found) == 3
