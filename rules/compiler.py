"""From YAML to a CompiledPack: parse safely, validate the schema, resolve every reference and
type-check every expression, reporting all problems of a pack at once.

A CompiledPack is what the engine runs and what findings cite: its ``version`` is the sha256 of
the pack's content (canonical JSON, tests excluded), so reformatting or adding a test does not make
a new version, and changing any rule does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from dualduty.errors import UserError
from dualduty.problems import Problem
from evidence.types import EvidenceType
from evidence.values import FieldType
from rules.diagnostics import did_you_mean, label, validation_problems
from rules.expressions import Compiled, ExpressionError, ExprScope, Relation, T, compile_expression
from rules.findings import SubjectKind
from rules.kinds import Check, Duty, Rule, Window
from rules.ladders import Ladder, default_ladders
from rules.parts import BearerAt, EvidenceLookup, PeriodSpec, PostLookup
from rules.safeyaml import KeyPath, MarkedDoc, load_path, load_text
from rules.schema import PackTests, RulePack

RECORD = "r"
NUMERIC = {FieldType.int, FieldType.decimal, FieldType.float}
TEMPORAL = {FieldType.date, FieldType.datetime}
TEXTUAL = {FieldType.str, FieldType.unit, FieldType.person}

POST_LOOKUP_FIELDS: dict[str, FieldType] = {
    "person": FieldType.person,
    "unit": FieldType.unit,
    "since": FieldType.date,
    "until": FieldType.date,
}


def lookup_alias(name: str) -> str:
    return f"l_{name}"


@dataclass(frozen=True)
class LookupPlan:
    """One lookup, resolved: how to join it to the record."""

    name: str
    alias: str
    evidence: str | None  # evidence type, or None for a post lookup
    fields: Mapping[str, FieldType]
    # (looked-up field, SQL of the value it must equal) for evidence lookups
    match: list[tuple[str, str]] = field(default_factory=list)
    where: Compiled | None = None  # over the looked-up record (alias = self.alias)
    post: str | None = None
    unit_sql: str | None = None
    at_sql: str | None = None


@dataclass(frozen=True)
class RulePlan:
    """A rule with every reference resolved and every expression compiled."""

    rule: Rule
    index: int  # position in the pack (for problem locations)
    subject_kind: SubjectKind
    evidence: str  # the evidence type read (duties: counted; checks/windows: the subject)
    period: PeriodSpec
    date_field: str | None
    bearer_at: BearerAt
    subject_field: str | None = None  # duties
    unit_field: str | None = None  # checks and windows
    where: Compiled | None = None
    when: Compiled | None = None
    require: Compiled | None = None
    lookups: list[LookupPlan] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class CompiledPack:
    pack: RulePack
    version: str  # sha256 hex of the canonical content
    plans: list[RulePlan]
    ladders: Mapping[str, Ladder]
    source: Path | None = None

    @property
    def id(self) -> str:
        return self.pack.pack

    def plan(self, rule_id: str) -> RulePlan:
        for plan in self.plans:
            if plan.id == rule_id:
                return plan
        known = [p.id for p in self.plans]
        raise UserError(
            f"规则不存在 / no rule '{rule_id}' in pack {self.id}",
            hint=did_you_mean(rule_id, known) or f"rules: {', '.join(known)}",
        )

    def evidence_type(self, name: str) -> EvidenceType:
        return self.pack.evidence[name]


def content_version(pack: RulePack) -> str:
    canonical = json.dumps(
        pack.model_dump(mode="json", exclude={"tests"}),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_pack(path: Path) -> CompiledPack:
    """Read, validate and compile a pack file; raises UserError listing every problem."""
    return compile_doc(load_path(path), source=path)


def load_pack_text(text: str, *, file: str = "<input>") -> CompiledPack:
    return compile_doc(load_text(text, file=file))


def compile_doc(doc: MarkedDoc, *, source: Path | None = None) -> CompiledPack:
    problems: list[Problem] = []
    if not isinstance(doc.data, dict):
        raise UserError(
            [
                Problem(
                    message="规则包应为键值映射 / a rule pack is a mapping (pack:, rules: …)",
                    location=doc.location(()),
                )
            ]
        )
    try:
        pack = RulePack.model_validate(doc.data)
    except ValidationError as error:
        problems.extend(validation_problems(error, doc, RulePack))
        # Keep going with what did validate, so expression errors show up in the same run.
        problems.extend(_partial_compile(doc))
        raise UserError(_sorted(_unique(problems))) from None
    compiler = _Compiler(doc, pack.evidence, _known_ladders(pack, doc, problems))
    plans = compiler.compile_rules(enumerate(pack.rules))
    problems.extend(compiler.problems)
    problems.extend(_check_tests(pack.tests, {r.id for r in pack.rules}, set(pack.evidence), doc))
    if problems:
        raise UserError(_sorted(_unique(problems)))
    return CompiledPack(
        pack=pack,
        version=content_version(pack),
        plans=plans,
        ladders=compiler.ladders,
        source=source,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    result = []
    for problem in problems:
        text = str(problem)
        if text not in seen:
            seen.add(text)
            result.append(problem)
    return result


def _sorted(problems: list[Problem]) -> list[Problem]:
    def position(problem: Problem) -> tuple[int, int]:
        location = problem.location
        if location is None:
            return (0, 0)
        return (location.line or 0, location.column or 0)

    return sorted(problems, key=position)


def _known_ladders(
    pack: RulePack | None, doc: MarkedDoc, problems: list[Problem]
) -> dict[str, Ladder]:
    try:
        shipped = default_ladders()
    except UserError as error:
        problems.extend(error.problems)
        shipped = {}
    own = pack.ladders if pack is not None else {}
    return {**shipped, **own}


def _partial_compile(doc: MarkedDoc) -> list[Problem]:
    """Compile the rules that validate on their own, against the evidence types that do."""
    data = doc.data
    evidence_adapter = TypeAdapter(dict[str, EvidenceType])
    try:
        evidence = evidence_adapter.validate_python(data.get("evidence") or {})
    except ValidationError:
        return []
    ladders: dict[str, Ladder] = {}
    with contextlib.suppress(ValidationError):
        ladders = TypeAdapter(dict[str, Ladder]).validate_python(data.get("ladders") or {})
    problems: list[Problem] = []
    compiler = _Compiler(doc, evidence, {**_known_ladders(None, doc, problems), **ladders})
    rule_adapter: TypeAdapter[Rule] = TypeAdapter(Rule)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        return problems
    rules: list[tuple[int, Rule]] = []
    for index, raw in enumerate(raw_rules):
        try:
            rules.append((index, rule_adapter.validate_python(raw)))
        except ValidationError as error:
            # A misspelt key should not hide the rule's other problems: drop unknown keys and
            # try once more (their own problem is already reported).
            unknown = {
                e["loc"][1]
                for e in error.errors()
                if e["type"] == "extra_forbidden" and len(e["loc"]) == 2
            }
            if not unknown or not isinstance(raw, dict):
                continue
            trimmed = {k: v for k, v in raw.items() if k not in unknown}
            with contextlib.suppress(ValidationError):
                rules.append((index, rule_adapter.validate_python(trimmed)))
    compiler.compile_rules(rules)
    problems.extend(compiler.problems)
    with contextlib.suppress(ValidationError):
        tests = TypeAdapter(PackTests | None).validate_python(data.get("tests"))
        ids = {r.get("id") for r in raw_rules if isinstance(r, dict)}
        problems.extend(_check_tests(tests, ids, set(evidence), doc))
    return problems


class _Compiler:
    def __init__(
        self, doc: MarkedDoc, evidence: Mapping[str, EvidenceType], ladders: dict[str, Ladder]
    ) -> None:
        self.doc = doc
        self.evidence = evidence
        self.ladders = ladders
        self.problems: list[Problem] = []

    # -- reporting -------------------------------------------------------------------------

    def problem(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        self.problems.append(
            Problem(message=message, location=self.doc.location(path), field=label(path), hint=hint)
        )

    def expression(
        self, path: KeyPath, text: str | None, scope: ExprScope, expect: T | None = T.bool
    ) -> Compiled | None:
        if text is None:
            return None
        try:
            return compile_expression(text, scope, expect=expect)
        except ExpressionError as error:
            for item in error.problems:
                excerpt = text[item.start : item.end + 1].strip()
                self.problems.append(
                    Problem(
                        message=f"{item.message} — `{excerpt}`" if excerpt else item.message,
                        location=self.doc.offset_location(path, item.start),
                        field=label(path),
                        hint=item.hint,
                    )
                )
            return None

    # -- rules -----------------------------------------------------------------------------

    def compile_rules(self, rules: Iterable[tuple[int, Rule]]) -> list[RulePlan]:
        plans: list[RulePlan] = []
        seen: dict[str, int] = {}
        for index, rule in rules:
            if rule.id in seen:
                self.problem(
                    ("rules", index, "id"),
                    f"规则编号重复 / duplicate rule id '{rule.id}'",
                    hint=f"first used by rules[{seen[rule.id]}]; ids must be unique in a pack",
                )
            seen.setdefault(rule.id, index)
            plan = self.compile_rule(rule, index)
            if plan is not None:
                plans.append(plan)
        return plans

    def compile_rule(self, rule: Rule, index: int) -> RulePlan | None:
        before = len(self.problems)
        base: KeyPath = ("rules", index)
        if rule.ladder is not None and rule.ladder not in self.ladders:
            self.problem(
                (*base, "ladder"),
                f"未知的问责阶梯 / unknown ladder '{rule.ladder}'",
                hint=did_you_mean(rule.ladder, self.ladders)
                or f"ladders: {', '.join(sorted(self.ladders)) or '—'} (declare it under ladders:)",
            )
        if isinstance(rule, Duty):
            plan = self.duty(rule, index, base)
        elif isinstance(rule, Check):
            plan = self.check(rule, index, base)
        else:
            plan = self.window(rule, index, base)
        return plan if len(self.problems) == before else None

    def evidence_of(self, path: KeyPath, name: str) -> EvidenceType | None:
        etype = self.evidence.get(name)
        if etype is None:
            self.problem(
                path,
                f"未声明的证据类型 / undeclared evidence type '{name}'",
                hint=did_you_mean(name, self.evidence)
                or f"declare it under evidence: (known: {', '.join(self.evidence) or '—'})",
            )
        return etype

    def field_of(
        self,
        path: KeyPath,
        etype: EvidenceType,
        type_name: str,
        name: str | None,
        allowed: set[FieldType],
        purpose: tuple[str, str],
    ) -> str | None:
        """Resolve a field: the named one (checked), or the only field of an allowed type.

        ``purpose`` names the role in Chinese and English: ("日期字段", "date field").
        """
        zh, en = purpose
        wanted = "/".join(sorted(allowed))
        if name is not None:
            declared = etype.fields.get(name)
            if declared is None:
                self.problem(
                    path,
                    f"证据类型 {type_name} 没有字段 / {type_name} has no field '{name}'",
                    hint=did_you_mean(name, etype.fields) or f"fields: {', '.join(etype.fields)}",
                )
                return None
            if declared not in allowed:
                self.problem(
                    path,
                    f"{zh}类型不符 / the {en} '{name}' is {declared}, needs {wanted}",
                )
                return None
            return name
        candidates = [n for n, t in etype.fields.items() if t in allowed]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.problem(
                path,
                f"{type_name} 没有可作{zh}的 {wanted} 字段 / {type_name} has no {wanted} field "
                f"to be the {en}",
                hint=f"declare one in evidence.{type_name}.fields",
            )
        else:
            self.problem(
                path,
                f"{zh}不唯一 / several {wanted} fields could be the {en}: {', '.join(candidates)}",
                hint=f"name it: {path[-1]}: {candidates[0]}",
            )
        return None

    def record_scope(self, type_name: str, etype: EvidenceType) -> ExprScope:
        return ExprScope(record=Relation(RECORD, _with_id(etype.fields)))

    def bearer_at(self, rule: Rule, base: KeyPath, default: BearerAt) -> BearerAt:
        if rule.bearer is None or rule.bearer.at is None:
            return default
        if rule.bearer.at is BearerAt.record_date and isinstance(rule, Duty):
            self.problem(
                (*base, "bearer", "at"),
                "义务规则没有单条记录日期 / a duty has no record date to look the bearer up at",
                hint="use period_start, period_end or due",
            )
        return rule.bearer.at

    def duty(self, rule: Duty, index: int, base: KeyPath) -> RulePlan | None:
        if rule.subject.kind is SubjectKind.record:
            self.problem(
                (*base, "subject"),
                "义务规则的主体应为单位或人员 / a duty's subject is units or people",
                hint="to judge records one by one use kind: check",
            )
        etype = self.evidence_of((*base, "evidence"), rule.evidence)
        spec = PeriodSpec.parse(rule.period)
        if rule.grace_days and rule.period_field is None and spec.deadline is None:
            self.problem(
                (*base, "grace_days"),
                "宽限期需要 period_field 或固定截止日 / grace_days needs period_field or a "
                "MM-DD deadline",
                hint="without them a record belongs to the period its date falls in; set "
                "period_field to the field naming the period a record is for",
            )
        if spec.kind is None and (rule.grace_days or rule.period_field):
            self.problem((*base, "period"), "period: none 不能有宽限期 / no grace without a period")
        if rule.at_least is not None and rule.at_most is not None and rule.at_least > rule.at_most:
            self.problem((*base, "at_most"), "at_most 小于 at_least / at_most is below at_least")
        if etype is None:
            return None
        subject_types = (
            {FieldType.unit} if rule.subject.kind is SubjectKind.unit else {FieldType.person}
        )
        subject_field = self.field_of(
            (*base, "subject_field"),
            etype,
            rule.evidence,
            rule.subject_field,
            subject_types | ({FieldType.str} if rule.subject_field else set()),
            ("主体字段", "subject field"),
        )
        date_field = None
        if spec.kind is not None:
            date_field = self.field_of(
                (*base, "date_field"),
                etype,
                rule.evidence,
                rule.date_field,
                TEMPORAL,
                ("日期字段", "date field"),
            )
        if rule.period_field is not None:
            self.field_of(
                (*base, "period_field"),
                etype,
                rule.evidence,
                rule.period_field,
                {FieldType.str},
                ("期间字段", "period field"),
            )
        if rule.sum is not None:
            self.field_of(
                (*base, "sum"), etype, rule.evidence, rule.sum, NUMERIC, ("求和字段", "sum field")
            )
        if rule.distinct is not None:
            self.field_of(
                (*base, "distinct"),
                etype,
                rule.evidence,
                rule.distinct,
                set(FieldType) - {FieldType.list},
                ("去重字段", "distinct field"),
            )
        for threshold in ("at_least", "at_most"):
            value = getattr(rule, threshold)
            if rule.sum is None and value is not None and value != value.to_integral_value():
                self.problem((*base, threshold), f"计数阈值应为整数 / a count is whole: {value}")
        where = self.expression(
            (*base, "where"), rule.where, self.record_scope(rule.evidence, etype)
        )
        return RulePlan(
            rule=rule,
            index=index,
            subject_kind=rule.subject.kind,
            evidence=rule.evidence,
            period=spec,
            date_field=date_field,
            bearer_at=self.bearer_at(rule, base, BearerAt.period_end),
            subject_field=subject_field,
            where=where,
        )

    def record_rule_base(
        self, rule: Check | Window, base: KeyPath
    ) -> tuple[str, EvidenceType, PeriodSpec, str | None, str | None] | None:
        if rule.subject.record is None:
            self.problem(
                (*base, "subject"),
                f"{rule.kind} 规则的主体应为记录 / a {rule.kind}'s subject is {{record: <type>}}",
                hint="to count records per unit or person use kind: duty",
            )
            return None
        type_name = rule.subject.record
        etype = self.evidence_of((*base, "subject", "record"), type_name)
        if etype is None:
            return None
        spec = PeriodSpec.parse(rule.period)
        unit_field = self.field_of(
            (*base, "unit_field"),
            etype,
            type_name,
            rule.unit_field,
            {FieldType.unit} | ({FieldType.str} if rule.unit_field else set()),
            ("单位字段", "unit field"),
        )
        date_field = None
        if spec.kind is not None or isinstance(rule, Window) or rule.date_field:
            date_field = self.field_of(
                (*base, "date_field"),
                etype,
                type_name,
                rule.date_field,
                TEMPORAL,
                ("日期字段", "date field"),
            )
        return type_name, etype, spec, unit_field, date_field

    def check(self, rule: Check, index: int, base: KeyPath) -> RulePlan | None:
        resolved = self.record_rule_base(rule, base)
        if resolved is None:
            return None
        type_name, etype, spec, unit_field, date_field = resolved
        record = Relation(RECORD, _with_id(etype.fields))
        lookups: list[LookupPlan] = []
        visible: dict[str, Relation] = {}
        failed = False
        for name, lookup in rule.lookups.items():
            path = (*base, "lookups", name)
            scope = ExprScope(record=record, lookups=dict(visible))
            plan = self.lookup(path, name, lookup, scope)
            if plan is None:
                failed = True
                continue
            lookups.append(plan)
            visible[name] = Relation(plan.alias, plan.fields, hit_column="_hit")
        if failed:
            return None  # expressions reading a broken lookup would only repeat its problems
        scope = ExprScope(record=record, lookups=visible)
        when = self.expression((*base, "when"), rule.when, scope)
        require = self.expression((*base, "require"), rule.require, scope)
        return RulePlan(
            rule=rule,
            index=index,
            subject_kind=SubjectKind.record,
            evidence=type_name,
            period=spec,
            date_field=date_field,
            bearer_at=self.bearer_at(rule, base, BearerAt.record_date),
            unit_field=unit_field,
            when=when,
            require=require,
            lookups=lookups,
        )

    def lookup(
        self, path: KeyPath, name: str, lookup: EvidenceLookup | PostLookup, scope: ExprScope
    ) -> LookupPlan | None:
        alias = lookup_alias(name)
        if isinstance(lookup, PostLookup):
            unit = self.expression((*path, "unit"), lookup.unit, scope, expect=None)
            at = self.expression((*path, "at"), lookup.at, scope, expect=None)
            if unit is not None and unit.type is not T.text:
                self.problem(
                    (*path, "unit"),
                    f"单位应为文本字段 / unit must be a unit field, got {unit.type}",
                )
            if at is not None and at.type not in {T.date, T.datetime}:
                self.problem((*path, "at"), f"at 应为日期字段 / at must be a date, got {at.type}")
            if unit is None or at is None:
                return None
            return LookupPlan(
                name=name,
                alias=alias,
                evidence=None,
                fields=POST_LOOKUP_FIELDS,
                post=lookup.post,
                unit_sql=unit.sql,
                at_sql=at.sql,
            )
        etype = self.evidence_of((*path, "evidence"), lookup.evidence)
        if etype is None:
            return None
        fields = _with_id(etype.fields)
        match: list[tuple[str, str]] = []
        ok = True
        for target, reference in lookup.match.items():
            target_type = fields.get(target)
            if target_type is None:
                self.problem(
                    (*path, "match"),
                    f"{lookup.evidence} 没有字段 / {lookup.evidence} has no field '{target}'",
                    hint=did_you_mean(target, fields) or f"fields: {', '.join(etype.fields)}",
                )
                ok = False
                continue
            value = self.expression((*path, "match", target), reference, scope, expect=None)
            if value is None:
                ok = False
                continue
            if _family(target_type) != _family_t(value.type):
                self.problem(
                    (*path, "match", target),
                    f"类型不匹配 / type mismatch: {lookup.evidence}.{target} is {target_type}, "
                    f"{reference} is {value.type}",
                )
                ok = False
                continue
            match.append((target, value.sql))
        where = self.expression(
            (*path, "where"), lookup.where, ExprScope(record=Relation(alias, fields))
        )
        if not ok or (lookup.where is not None and where is None):
            return None
        return LookupPlan(
            name=name,
            alias=alias,
            evidence=lookup.evidence,
            fields=fields,
            match=match,
            where=where,
        )

    def window(self, rule: Window, index: int, base: KeyPath) -> RulePlan | None:
        resolved = self.record_rule_base(rule, base)
        if resolved is None:
            return None
        type_name, etype, spec, unit_field, date_field = resolved
        for position, name in enumerate(rule.group_by):
            self.field_of(
                (*base, "group_by", position),
                etype,
                type_name,
                name,
                set(FieldType) - {FieldType.list},
                ("分组字段", "group field"),
            )
        self.field_of(
            (*base, "sum"), etype, type_name, rule.sum, NUMERIC, ("求和字段", "sum field")
        )
        if rule.at_least <= Decimal(0):
            self.problem((*base, "at_least"), "阈值应为正数 / at_least must be positive")
        where = self.expression((*base, "where"), rule.where, self.record_scope(type_name, etype))
        return RulePlan(
            rule=rule,
            index=index,
            subject_kind=SubjectKind.record,
            evidence=type_name,
            period=spec,
            date_field=date_field,
            bearer_at=self.bearer_at(rule, base, BearerAt.record_date),
            unit_field=unit_field,
            where=where,
        )


def _with_id(fields: Mapping[str, FieldType]) -> dict[str, FieldType]:
    """Fields an expression may read: the declared ones (``_id`` and ``_key`` stay internal)."""
    return dict(fields)


def _family(field_type: FieldType) -> str:
    if field_type in TEXTUAL:
        return "text"
    if field_type in NUMERIC:
        return "number"
    if field_type in TEMPORAL:
        return "time"
    return str(field_type)


def _family_t(kind: T) -> str:
    return {
        T.text: "text",
        T.int: "number",
        T.decimal: "number",
        T.float: "number",
        T.date: "time",
        T.datetime: "time",
    }.get(kind, str(kind))


def _check_tests(
    tests: PackTests | None, rule_ids: set[Any], evidence: set[str], doc: MarkedDoc
) -> list[Problem]:
    """Tests may only name rules and evidence types the pack declares."""
    if tests is None:
        return []
    problems: list[Problem] = []
    for name in tests.evidence:
        if name not in evidence:
            path: KeyPath = ("tests", "evidence", name)
            problems.append(_undeclared(doc, path, name, evidence))
    for index, case in enumerate(tests.cases):
        for name in case.evidence:
            if name not in evidence:
                path = ("tests", "cases", index, "evidence", name)
                problems.append(_undeclared(doc, path, name, evidence))
        for position, expected in enumerate(case.expect):
            if expected.rule not in rule_ids:
                path = ("tests", "cases", index, "expect", position, "rule")
                problems.append(
                    Problem(
                        message=f"测试引用了不存在的规则 / no rule '{expected.rule}' in this pack",
                        location=doc.location(path),
                        field=label(path),
                        hint=did_you_mean(expected.rule, {str(r) for r in rule_ids}),
                    )
                )
    return problems


def _undeclared(doc: MarkedDoc, path: KeyPath, name: str, known: Iterable[str]) -> Problem:
    return Problem(
        message=f"未声明的证据类型 / undeclared evidence type '{name}'",
        location=doc.location(path, key=True),
        field=label(path),
        hint=did_you_mean(name, known),
    )


def describe(value: Any) -> str:
    """Short display of a threshold value (1 rather than 1.00)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)
