"""Expressions: SQL expression syntax, parsed by sqlglot, allowlisted, type-checked, and
compiled to DuckDB SQL.

Why SQL and not CEL: evaluation is columnar (DuckDB), so an expression must become part of a
query, and sqlglot gives us the syntax tree with source offsets to check it before it runs.
sqlglot is lenient (it parses statements, subqueries, aliases and unknown functions), so the tree
is walked against an allowlist of node classes and functions, and every value is typed bottom-up
against the declared field types. Nothing is ever evaluated by Python.

Names: ``amount`` is a field of the record; ``decision.decided_on`` a field of the lookup
``decision``; ``has(decision)`` asks whether the lookup found a record. Text is in single quotes.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from evidence.values import FieldType


class T(StrEnum):
    """Expression types: the declared field types folded into what SQL can compare."""

    text = "text"
    int = "int"
    decimal = "decimal"
    float = "float"
    bool = "bool"
    date = "date"
    datetime = "datetime"
    list = "list"
    null = "null"


_FROM_FIELD: dict[FieldType, T] = {
    FieldType.str: T.text,
    FieldType.unit: T.text,
    FieldType.person: T.text,
    FieldType.int: T.int,
    FieldType.decimal: T.decimal,
    FieldType.float: T.float,
    FieldType.bool: T.bool,
    FieldType.date: T.date,
    FieldType.datetime: T.datetime,
    FieldType.list: T.list,
}
_NUMERIC = {T.int, T.decimal, T.float}
_TEMPORAL = {T.date, T.datetime}
_FAMILY = {T.int: "number", T.decimal: "number", T.float: "number", T.date: "time"}
_FAMILY |= {T.datetime: "time", T.text: "text", T.bool: "bool", T.list: "list"}

ALLOWED_SYNTAX = (
    "AND OR NOT; = <> < <= > >=; IN (…); BETWEEN; LIKE; IS [NOT] NULL; + - * / %; "
    "has(lookup), coalesce, lower, upper, length, abs, round, year, month, day, "
    "contains(list, text), DATE 'YYYY-MM-DD'"
)


@dataclass(frozen=True)
class ExprProblem:
    """A problem inside an expression, at character offsets [start, end] of its text."""

    message: str
    start: int
    end: int
    hint: str | None = None


class ExpressionError(Exception):
    def __init__(self, problems: list[ExprProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass(frozen=True)
class Relation:
    """A name an expression may read fields from: the record itself or a lookup."""

    alias: str  # SQL alias in the compiled query
    fields: Mapping[str, FieldType]
    hit_column: str | None = None  # lookups: column that is TRUE when a record was found


@dataclass(frozen=True)
class ExprScope:
    """What an expression can see. ``record`` answers unqualified names."""

    record: Relation
    lookups: Mapping[str, Relation] = field(default_factory=dict)


@dataclass(frozen=True)
class Compiled:
    source: str
    sql: str  # DuckDB SQL
    type: T
    fields: frozenset[str]  # unqualified record fields read
    lookups: frozenset[str]  # lookups read (fields or has())


def compile_expression(text: str, scope: ExprScope, *, expect: T | None = T.bool) -> Compiled:
    """Parse, check and compile one expression; raises ExpressionError with every problem."""
    tree = _parse(text)
    checker = _Checker(text, scope)
    result = checker.type_of(tree)
    if not checker.problems and expect is not None and result not in {expect, T.null}:
        start, end = _span(tree, text)
        checker.problems.append(
            ExprProblem(
                f"表达式应为 {expect} 类型，实际为 {result} / expected a {expect} expression, "
                f"got {result}",
                start,
                end,
                hint="a condition compares values, e.g. amount >= 1000000",
            )
        )
    if checker.problems:
        raise ExpressionError(checker.problems)
    compiled = checker.rewrite(tree)
    return Compiled(
        source=text,
        sql=compiled.sql(dialect="duckdb"),
        type=result,
        fields=frozenset(checker.fields),
        lookups=frozenset(checker.lookups),
    )


def _parse(text: str) -> exp.Expr:
    try:
        statements = sqlglot.parse(text, dialect="duckdb")
    except TokenError as error:
        raise ExpressionError(
            [
                ExprProblem(
                    f"无法识别的符号 / cannot read the expression: {error}",
                    0,
                    max(len(text) - 1, 0),
                    hint="is a quote missing? text goes in single quotes: '支委会'",
                )
            ]
        ) from None
    except ParseError as error:
        problems = []
        for item in error.errors:
            offset = _offset(text, item.get("line"), item.get("col"), item.get("highlight") or "")
            problems.append(
                ExprProblem(
                    f"语法错误 / syntax error: {item.get('description')}",
                    offset,
                    offset + max(len(item.get("highlight") or "") - 1, 0),
                    hint=f"allowed: {ALLOWED_SYNTAX}",
                )
            )
        raise ExpressionError(problems) from None
    present = [s for s in statements if s is not None]
    if len(present) != 1:
        raise ExpressionError(
            [
                ExprProblem(
                    "只能写一个表达式 / exactly one expression, no ';'",
                    0,
                    max(len(text) - 1, 0),
                    hint="join conditions with AND / OR",
                )
            ]
        )
    return present[0]


def _offset(text: str, line: int | None, col: int | None, highlight: str) -> int:
    """sqlglot reports the 1-based line and the *end* column of the offending token."""
    if line is None or col is None:
        return 0
    lines = text.split("\n")
    before = sum(len(part) + 1 for part in lines[: line - 1])
    return max(0, min(len(text) - 1, before + col - len(highlight)))


def _span(node: exp.Expr, text: str) -> tuple[int, int]:
    """Character span of a node, from the offsets sqlglot keeps on identifiers and literals
    (a call or parenthesis also takes its closing bracket)."""
    starts: list[int] = []
    ends: list[int] = []
    for item in node.walk():
        meta = item._meta
        if meta and "start" in meta:
            starts.append(meta["start"])
            ends.append(meta["end"])
    if not starts:
        return 0, max(len(text) - 1, 0)
    end = max(ends)
    if isinstance(node, exp.Func | exp.Paren):
        rest = text[end + 1 :]
        if rest.lstrip().startswith(")"):
            end += len(rest) - len(rest.lstrip()) + 1
    return min(starts), end


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_MISLEADING: dict[type[exp.Expr], str] = {
    exp.DPipe: "'||' is text concatenation in SQL; write OR",
    exp.ArrayOverlaps: "'&&' is not AND in SQL; write AND",
    exp.Alias: "two values side by side: is an operator or AND missing?",
    exp.Subquery: "subqueries are not allowed; use a lookup",
    exp.Select: "queries are not allowed; use a lookup",
    exp.Case: "CASE is not supported; combine conditions with AND / OR",
    exp.Cast: "casts are not supported except DATE 'YYYY-MM-DD'",
}
_NAMED_FUNCTIONS = {"has"}


class _Checker:
    def __init__(self, text: str, scope: ExprScope) -> None:
        self.text = text
        self.scope = scope
        self.problems: list[ExprProblem] = []
        self.fields: set[str] = set()
        self.lookups: set[str] = set()
        self.date_literals: set[int] = set()  # ids of text literals compared with dates
        self.day_counts: set[int] = set()  # ids of numbers added to dates

    # -- reporting -------------------------------------------------------------------------

    def problem(self, node: exp.Expr, message: str, hint: str | None = None) -> T:
        start, end = _span(node, self.text)
        self.problems.append(ExprProblem(message, start, end, hint))
        return T.null

    def show(self, node: exp.Expr) -> str:
        start, end = _span(node, self.text)
        return self.text[start : end + 1] if self.text else node.sql()

    # -- typing ----------------------------------------------------------------------------

    def type_of(self, node: exp.Expr) -> T:
        misleading = _MISLEADING.get(type(node))
        if misleading is not None and not isinstance(node, exp.Cast):
            return self.problem(
                node,
                f"不允许的写法 / not allowed in rule expressions: {node.key.upper()}",
                misleading,
            )
        if isinstance(node, exp.Paren):
            return self.type_of(node.this)
        if isinstance(node, exp.Column):
            return self.column(node)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return T.text
            return T.int if _is_integer(node.this) else T.decimal
        if isinstance(node, exp.Boolean):
            return T.bool
        if isinstance(node, exp.Null):
            return T.null
        if isinstance(node, exp.And | exp.Or):
            for side in (node.left, node.right):
                self.expect_bool(side, "AND" if isinstance(node, exp.And) else "OR")
            return T.bool
        if isinstance(node, exp.Not):
            self.expect_bool(node.this, "NOT")
            return T.bool
        if isinstance(node, _COMPARISONS):
            self.comparable(node, node.left, node.right)
            return T.bool
        if isinstance(node, exp.Is):
            self.type_of(node.this)
            if not isinstance(node.expression, exp.Null | exp.Boolean):
                return self.problem(node, "IS 后只能跟 NULL / IS takes NULL, TRUE or FALSE")
            return T.bool
        if isinstance(node, exp.In):
            return self.in_list(node)
        if isinstance(node, exp.Between):
            self.comparable(node, node.this, node.args["low"])
            self.comparable(node, node.this, node.args["high"])
            return T.bool
        if isinstance(node, exp.Like | exp.ILike):
            for side in (node.this, node.expression):
                kind = self.type_of(side)
                if kind not in {T.text, T.null}:
                    self.problem(
                        side,
                        f"LIKE 只用于文本 / LIKE needs text, {self.show(side)} is {kind}",
                    )
            if node.args.get("escape") is not None:
                self.problem(node, "LIKE … ESCAPE is not supported")
            return T.bool
        if isinstance(node, exp.Neg):
            kind = self.type_of(node.this)
            if kind not in _NUMERIC | {T.null}:
                return self.problem(node, f"负号只用于数字 / '-' needs a number, got {kind}")
            return kind
        if isinstance(node, _ARITHMETIC):
            return self.arithmetic(node)
        if isinstance(node, exp.Cast):
            return self.date_literal(node)
        if isinstance(node, exp.Func):
            return self.function(node)
        hint = _MISLEADING.get(type(node), f"allowed: {ALLOWED_SYNTAX}")
        return self.problem(
            node, f"不允许的写法 / not allowed in rule expressions: {node.key.upper()}", hint
        )

    def expect_bool(self, node: exp.Expr, operator: str) -> None:
        kind = self.type_of(node)
        if kind not in {T.bool, T.null}:
            self.problem(
                node,
                f"{operator} 的操作数应为条件 / {operator} needs conditions, "
                f"{self.show(node)} is {kind}",
                hint="compare it with something, e.g. amount > 0",
            )

    def column(self, node: exp.Column) -> T:
        parts = [part.name for part in node.parts]
        if any(isinstance(part, exp.Identifier) and part.quoted for part in node.parts):
            return self.problem(
                node,
                f'双引号表示字段名，不是文本 / "{parts[-1]}" in double quotes names a field',
                hint=f"write text in single quotes: '{parts[-1]}'",
            )
        if len(parts) == 1:
            relation, name = self.scope.record, parts[0]
            where = "记录 / the record"
        elif len(parts) == 2:
            lookup = parts[0]
            if lookup not in self.scope.lookups:
                close = difflib.get_close_matches(lookup, list(self.scope.lookups), n=1)
                return self.problem(
                    node,
                    f"未知的关联 / unknown lookup '{lookup}'",
                    hint=f"did you mean '{close[0]}'?"
                    if close
                    else f"declare it under lookups: (known: {', '.join(self.scope.lookups) or '—'})",
                )
            relation, name = self.scope.lookups[lookup], parts[1]
            where = f"关联 / lookup '{lookup}'"
        else:
            return self.problem(node, f"名称层级过多 / too many dots in '{'.'.join(parts)}'")
        declared = relation.fields.get(name)
        if declared is None:
            close = difflib.get_close_matches(name, list(relation.fields), n=1)
            known = ", ".join(sorted(relation.fields))
            hint = f"did you mean '{close[0]}'? / 是否应为 '{close[0]}'？" if close else None
            return self.problem(
                node,
                f"{where} 没有字段 / has no field '{name}'",
                hint=hint or f"fields: {known}",
            )
        if len(parts) == 1:
            self.fields.add(name)
        else:
            self.lookups.add(parts[0])
        return _FROM_FIELD[declared]

    def comparable(self, node: exp.Expr, left: exp.Expr, right: exp.Expr) -> None:
        lt, rt = self.type_of(left), self.type_of(right)
        if T.null in {lt, rt}:
            if (isinstance(node, exp.EQ | exp.NEQ) and isinstance(left.unnest(), exp.Null)) or (
                isinstance(right.unnest(), exp.Null) and isinstance(node, exp.EQ | exp.NEQ)
            ):
                self.problem(
                    node,
                    "与 NULL 比较永远不成立 / comparing with NULL is never true",
                    hint="write IS NULL or IS NOT NULL",
                )
            return
        if T.list in {lt, rt}:
            self.problem(
                node,
                "列表不能直接比较 / lists cannot be compared",
                hint="use contains(list, 'text')",
            )
            return
        if self.compatible(lt, left, rt, right):
            if isinstance(node, exp.GT | exp.GTE | exp.LT | exp.LTE) and T.bool in {lt, rt}:
                self.problem(node, "是/否值不能比大小 / yes/no values have no order")
            return
        self.problem(
            node,
            f"类型不匹配 / type mismatch: {self.show(left)} is {lt}, {self.show(right)} is {rt}",
            hint=_mismatch_hint(lt, self.show(left), rt, self.show(right)),
        )

    def compatible(self, lt: T, left: exp.Expr, rt: T, right: exp.Expr) -> bool:
        if _FAMILY[lt] == _FAMILY[rt]:
            return True
        # A text literal compared with a date must be a date ('2026-01-01').
        for kind, other, other_node in ((lt, rt, right), (rt, lt, left)):
            literal = other_node.unnest()
            if (
                kind in _TEMPORAL
                and other is T.text
                and isinstance(literal, exp.Literal)
                and literal.is_string
            ):
                if _is_iso_date(literal.this):
                    self.date_literals.add(id(literal))
                    return True
                self.problem(
                    literal,
                    f"不是日期 / not a date: '{literal.this}'",
                    hint="write dates as '2026-03-31'",
                )
                return True
        return False

    def in_list(self, node: exp.In) -> T:
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            return self.problem(node, "IN 只接受值列表 / IN takes a list of values", "use a lookup")
        if node.args.get("field") is not None:
            return self.problem(node, "IN 只接受值列表 / IN takes a list of values")
        for item in node.expressions:
            self.comparable(node, node.this, item)
        return T.bool

    def arithmetic(self, node: exp.Expr) -> T:
        left, right = node.args["this"], node.args["expression"]
        lt, rt = self.type_of(left), self.type_of(right)
        if T.null in {lt, rt}:
            return T.null
        if lt in _NUMERIC and rt in _NUMERIC:
            if isinstance(node, exp.Div) or T.float in {lt, rt}:
                return T.float if T.decimal not in {lt, rt} else T.decimal
            return T.decimal if T.decimal in {lt, rt} else T.int
        # A date plus or minus a number of days. DuckDB adds INTEGER, not BIGINT (int fields),
        # to a date, so the number is cast when compiled.
        if isinstance(node, exp.Add | exp.Sub) and lt is T.date and rt is T.int:
            self.day_counts.add(id(right))
            return T.date
        if isinstance(node, exp.Add) and lt is T.int and rt is T.date:
            self.day_counts.add(id(left))
            return T.date
        if isinstance(node, exp.Sub) and lt is T.date and rt is T.date:
            return T.int  # days between two dates
        return self.problem(
            node,
            f"无法计算 / cannot compute {self.show(node)}: {lt} and {rt}",
            hint="numbers with + - * / %; date ± days; date - date gives days",
        )

    def date_literal(self, node: exp.Cast) -> T:
        target = node.to.this
        literal = node.this
        if (
            target in {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP}
            and isinstance(literal, exp.Literal)
            and literal.is_string
        ):
            if not _is_iso_date(literal.this[:10]):
                return self.problem(literal, f"不是日期 / not a date: '{literal.this}'")
            return T.date if target is exp.DataType.Type.DATE else T.datetime
        return self.problem(node, "不支持类型转换 / casts are not supported", _MISLEADING[exp.Cast])

    def function(self, node: exp.Func) -> T:
        if isinstance(node, exp.Anonymous):
            called = str(node.this).lower()
            if called == "has":
                return self.has(node)
            close = difflib.get_close_matches(called, [*_FUNCTIONS, "has"], n=1)
            return self.problem(
                node,
                f"未知函数 / unknown function {called}()",
                hint=f"did you mean {close[0]}()?" if close else f"allowed: {ALLOWED_SYNTAX}",
            )
        name = _CLASS_NAMES.get(type(node))
        if name is None:
            return self.problem(
                node,
                f"不允许的函数 / function not allowed: {node.sql(dialect='duckdb')}",
                hint=f"allowed: {ALLOWED_SYNTAX}",
            )
        args = [a for a in node.args.values() if isinstance(a, exp.Expr)]
        args += [e for e in node.expressions if e not in args]
        kinds = [self.type_of(a) for a in args]
        if name == "coalesce":
            for arg in args[1:]:
                self.comparable(node, args[0], arg)
            known = [k for k in kinds if k is not T.null]
            return known[0] if known else T.null
        if name in {"lower", "upper"}:
            self.require(node, name, args, kinds, [T.text])
            return T.text
        if name == "length":
            self.require(node, name, args, kinds, [T.text, T.list], any_of=True)
            return T.int
        if name in {"abs", "round"}:
            self.require(node, name, args[:1], kinds[:1], list(_NUMERIC), any_of=True)
            if name == "round" and len(args) > 1:
                self.require(node, name, args[1:], kinds[1:], [T.int])
            return kinds[0] if kinds and kinds[0] in _NUMERIC else T.decimal
        if name in {"year", "month", "day"}:
            self.require(node, name, args, kinds, list(_TEMPORAL), any_of=True)
            return T.int
        if name == "contains":
            if len(args) != 2 or kinds[0] not in {T.list, T.null}:
                return self.problem(
                    node,
                    "contains(列表, 文本) / contains(list, text) needs a list field first",
                    hint="for text use LIKE '%…%'",
                )
            self.require(node, name, args[1:], kinds[1:], [T.text])
            return T.bool
        return self.problem(node, f"function not allowed: {name}")  # pragma: no cover

    def require(
        self,
        node: exp.Expr,
        name: str,
        args: list[exp.Expr],
        kinds: list[T],
        allowed: list[T],
        *,
        any_of: bool = False,
    ) -> None:
        if not args:
            self.problem(node, f"{name}() 缺少参数 / {name}() needs an argument")
            return
        for arg, kind in zip(args, kinds, strict=True):
            if kind not in [*allowed, T.null]:
                wanted = " or ".join(allowed)
                self.problem(
                    arg,
                    f"{name}() 的参数应为 {wanted} / {name}() takes {wanted}, "
                    f"{self.show(arg)} is {kind}",
                )

    def has(self, node: exp.Anonymous) -> T:
        args = node.expressions
        column = args[0] if len(args) == 1 else None
        if not isinstance(column, exp.Column) or column.table:
            return self.problem(node, "has() 需要一个关联名 / has() takes one lookup name")
        name = column.name
        if name not in self.scope.lookups:
            close = difflib.get_close_matches(name, list(self.scope.lookups), n=1)
            return self.problem(
                node,
                f"未知的关联 / unknown lookup '{name}'",
                hint=f"did you mean '{close[0]}'?"
                if close
                else f"declare it under lookups: (known: {', '.join(self.scope.lookups) or '—'})",
            )
        self.lookups.add(name)
        return T.bool

    # -- compiling -------------------------------------------------------------------------

    def rewrite(self, tree: exp.Expr) -> exp.Expr:
        scope = self.scope
        date_literals = self.date_literals
        day_counts = self.day_counts

        def transform(node: exp.Expr) -> exp.Expr:
            result = qualify(node)
            if id(node) in day_counts:
                return exp.cast(result, exp.DataType.Type.INT)
            return result

        def qualify(node: exp.Expr) -> exp.Expr:
            node.comments = None
            if isinstance(node, exp.Anonymous) and str(node.this).lower() == "has":
                relation = scope.lookups[node.expressions[0].name]
                return exp.func(
                    "coalesce",
                    exp.column(relation.hit_column or "_hit", table=relation.alias, quoted=True),
                    exp.false(),
                )
            if isinstance(node, exp.Column):
                parts = [part.name for part in node.parts]
                if len(parts) == 1:
                    return exp.column(parts[0], table=scope.record.alias, quoted=True)
                return exp.column(parts[1], table=scope.lookups[parts[0]].alias, quoted=True)
            if isinstance(node, exp.Contains):
                return exp.func("list_contains", node.this, node.expression)
            if isinstance(node, exp.Literal) and id(node) in date_literals:
                return exp.cast(exp.Literal.string(node.this), exp.DataType.Type.DATE)
            return node

        # Children first, so a replaced call keeps its rewritten arguments; in place, because
        # date literals are remembered by id() and the tree is ours alone.
        root = tree
        for node in reversed(list(tree.walk())):
            new = transform(node)
            if new is not node:
                if node is root:
                    root = new
                else:
                    node.replace(new)
        return root


_FUNCTIONS = ["coalesce", "lower", "upper", "length", "abs", "round", "year", "month", "day"]
_FUNCTIONS += ["contains"]
_CLASS_NAMES: dict[type[exp.Expr], str] = {
    exp.Coalesce: "coalesce",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Year: "year",
    exp.Month: "month",
    exp.Day: "day",
    exp.Contains: "contains",
    exp.ArrayContains: "contains",
}


def _mismatch_hint(lt: T, left: str, rt: T, right: str) -> str:
    kinds = {lt, rt}
    name = left if lt is not T.text else right
    if T.text in kinds and kinds & _NUMERIC:
        return f"numbers are written without quotes: {name} >= 1000000 (数字不加引号)"
    if T.text in kinds and kinds & _TEMPORAL:
        return "dates are written '2026-03-31'"
    return f"compare {lt} with {lt}, e.g. {left} with another {lt} field or value"


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
