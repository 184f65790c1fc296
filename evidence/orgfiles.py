"""Importing the organisation from HR exports: units, people and post assignments.

HR systems export CSV or Excel with Chinese headers (单位编码, 工号, 职务, 任职日期 …) in GBK or
UTF-8 with a BOM; each file holds units, people, posts, or people and posts together. A column
mapping (``evidence.orgmapping``) says which header feeds which field.

Everything is validated before anything is written: the files against themselves and against
the database (a parent that exists only in the database is fine; a post overlapping one already
stored is not). All problems are reported at once with file and line. With ``skip_bad_rows``
the good rows are imported and the bad ones, and the rows that depend on them, are listed.
The caller owns the transaction, so a failed import leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from evidence.orgmapping import KIND_LABELS, Kind, OrgMapping, suggest
from evidence.tabular import Row, Table, iter_files, read_table
from evidence.values import BadValue, FieldType, coerce
from models.org import (
    DEFAULT_POST_TYPES,
    UNIT_KIND_LABELS,
    ChangeCounts,
    Person,
    PostAssignment,
    PostType,
    PostTypeSpec,
    Unit,
    UnitKind,
    seed_post_types,
    upsert_assignment,
    upsert_person,
    upsert_post_type,
    upsert_unit,
)

# ---------------------------------------------------------------------------------------------
# Parsed rows and the report
# ---------------------------------------------------------------------------------------------


class UnitRow(BaseModel):
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    location: Location


class PersonRow(BaseModel):
    code: str
    name: str
    unit_code: str
    party_member: bool | None
    contacts: dict[str, str]
    tags: list[str] | None
    location: Location


class PostRow(BaseModel):
    person_code: str
    person_name: str | None
    post_name: str
    unit_code: str
    since: dt.date
    until: dt.date | None
    location: Location

    @property
    def key(self) -> tuple[str, str, str, dt.date]:
        return (self.person_code, self.post_name, self.unit_code, self.since)


class FileSummary(BaseModel):
    path: str
    kinds: list[Kind]
    rows: int
    encoding: str | None


class ImportReport(BaseModel):
    """What an import did (or, on a dry run, would do)."""

    files: list[FileSummary] = Field(default_factory=list)
    post_types: ChangeCounts = Field(default_factory=ChangeCounts)
    units: ChangeCounts = Field(default_factory=ChangeCounts)
    people: ChangeCounts = Field(default_factory=ChangeCounts)
    posts: ChangeCounts = Field(default_factory=ChangeCounts)
    warnings: list[Problem] = Field(default_factory=list)
    skipped: list[Problem] = Field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(c.changed for c in (self.post_types, self.units, self.people, self.posts))


# ---------------------------------------------------------------------------------------------
# Reading and parsing files
# ---------------------------------------------------------------------------------------------

PARTY_YES = {"中共党员", "中共预备党员", "中国共产党党员", "中国共产党预备党员", "党员", "预备党员"}
NON_PARTY = {"群众", "共青团员", "团员", "无党派", "无党派人士", "无党派民主人士", "民主人士"}
# Members of the eight democratic parties are not CPC members even though "党员" is in the text.
DEMOCRATIC_PARTIES = ("民革", "民盟", "民建", "民进", "农工", "致公", "九三", "台盟")


def parse_party_member(raw: Any) -> bool | None:
    """是否党员 (是/否) or 政治面貌 (中共党员, 群众 …) as a yes/no."""
    try:
        value = coerce(raw, FieldType.bool)
    except BadValue:
        text = str(raw).strip()
        if text in PARTY_YES:
            return True
        if text in NON_PARTY or text.startswith(DEMOCRATIC_PARTIES):
            return False
        raise BadValue(
            f"无法识别的政治面貌 / unknown political status {text!r} "
            "(中共党员, 中共预备党员, 共青团员, 群众, 是/否)"
        ) from None
    return value if isinstance(value, bool) else None


@dataclass
class _File:
    table: Table
    kinds: list[Kind]
    headers: dict[Kind, dict[str, str]]


@dataclass
class _Parsed:
    """Everything the files say, before checking it against itself and the database."""

    units: list[UnitRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    posts: list[PostRow] = field(default_factory=list)
    # One flag per row that has a problem, keyed by its location: a row is skipped as a whole.
    bad: set[Location] = field(default_factory=set)
    # Codes of unit and person rows too broken to parse, so that rows referring to them are
    # told why rather than that the unit or person does not exist.
    unparsed: dict[Kind, dict[str, Location]] = field(
        default_factory=lambda: {Kind.units: {}, Kind.people: {}}
    )


def _intended(kind: Kind, present: dict[Kind, dict[str, str]]) -> bool:
    """Whether a file means to describe ``kind``, judged by the columns it carries.

    A posts file often repeats 姓名 beside 工号; it is a people file too only when it also says
    where the person belongs (所在单位), as a combined HR export does.
    """
    match kind:
        case Kind.units:
            return "kind" in present[Kind.units] or (
                {"code", "name"} <= present[Kind.units].keys()
                and "code" not in present[Kind.people]
            )
        case Kind.posts:
            return "post_name" in present[Kind.posts]
        case Kind.people:
            return "name" in present[Kind.people] and (
                "post_name" not in present[Kind.posts] or "unit_code" in present[Kind.people]
            )


def _classify(
    table: Table, mapping: OrgMapping
) -> tuple[_File | None, list[Problem], list[Problem]]:
    """Which kinds a file holds and which header feeds each field; problems and warnings."""
    location = Location(file=str(table.path))
    present = {kind: mapping.columns(kind).resolve(table.columns) for kind in Kind}
    kinds = [kind for kind in Kind if _intended(kind, present)]
    found = "已有列 / columns found: " + (", ".join(table.columns) or "(none)")
    if not kinds:
        needs = "; ".join(
            f"{KIND_LABELS[kind]}/{kind}: "
            + ", ".join(
                getattr(mapping.columns(kind), f)[0] for f in mapping.columns(kind).REQUIRED
            )
            for kind in Kind
        )
        return (
            None,
            [
                Problem(
                    message="无法判断文件内容（单位、人员还是任职）/ cannot tell whether the file "
                    f"holds units, people or posts; 需要列 / needs {needs}",
                    location=location,
                    hint=found + "; 列名不同时用 --mapping / use --mapping for other headers",
                )
            ],
            [],
        )
    problems: list[Problem] = []
    for kind in kinds:
        columns = mapping.columns(kind)
        missing = [f for f in columns.REQUIRED if f not in present[kind]]
        if missing:
            names = ", ".join(" 或 ".join(getattr(columns, f)[:2]) for f in missing)
            problems.append(
                Problem(
                    message=f"缺少必需的列 / missing required columns ({KIND_LABELS[kind]}/{kind}): {names}",
                    location=location,
                    hint=found,
                )
            )
    if not table.rows:
        problems.append(Problem(message="文件没有数据行 / no data rows", location=location))
    used = {header for kind in kinds for header in present[kind].values()}
    extra = [c for c in table.columns if c and c not in used and c not in mapping.ignore]
    warnings: list[Problem] = []
    if extra:
        warnings.append(
            Problem(
                message="多余的列已忽略 / extra columns ignored: " + ", ".join(extra),
                location=location,
                severity="warning",
                hint="列入映射的 ignore 可不再提示 / list them under `ignore` in a mapping to silence this",
            )
        )
    overflow = [row for row in table.rows if row.extra]
    if overflow:
        warnings.append(
            Problem(
                message=f"{len(overflow)} 行的单元格多于表头，多余部分已忽略 / rows with more cells "
                "than headers; the extra cells are ignored",
                location=overflow[0].location,
                severity="warning",
            )
        )
    if problems:
        return None, problems, warnings
    return _File(table=table, kinds=kinds, headers={k: present[k] for k in kinds}), [], warnings


class _RowReader:
    """Reads typed values out of one row, collecting a problem per bad cell."""

    def __init__(self, row: Row, headers: dict[str, str], problems: list[Problem]) -> None:
        self.row = row
        self.headers = headers
        self.problems = problems
        self.ok = True

    def fail(self, name: str, message: str, hint: str | None = None) -> None:
        self.ok = False
        self.problems.append(
            Problem(
                message=message,
                location=self.row.location,
                field=f"列 {self.headers.get(name, name)}",
                hint=hint,
            )
        )

    def get(self, name: str, field_type: FieldType, *, required: bool = False) -> Any:
        return self.convert(name, lambda raw: coerce(raw, field_type), required=required)

    def convert(self, name: str, parse: Callable[[Any], Any], *, required: bool = False) -> Any:
        header = self.headers.get(name)
        raw = self.row.values.get(header) if header else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.fail(name, "必填项为空 / required value is empty")
            return None
        try:
            return parse(raw)
        except BadValue as error:
            self.fail(name, str(error))
            return None


def _parse_unit(reader: _RowReader, mapping: OrgMapping) -> UnitRow | None:
    code = reader.get("code", FieldType.str, required=True)
    name = reader.get("name", FieldType.str, required=True)
    kind_text = reader.get("kind", FieldType.str, required=True)
    parent = reader.get("parent_code", FieldType.str)
    kind = None
    if kind_text is not None:
        kind = mapping.unit_kinds.get(kind_text) or mapping.unit_kinds.get(kind_text.lower())
        if kind is None:
            reader.fail(
                "kind",
                f"未知的单位类型 / unknown unit kind {kind_text!r}",
                hint="; ".join(
                    part
                    for part in (
                        suggest(kind_text, mapping.unit_kinds),
                        "可用 / known: "
                        + ", ".join(f"{label} ({k})" for k, label in UNIT_KIND_LABELS.items()),
                        "其他叫法在映射的 unit_kinds 中声明 / declare other names under unit_kinds",
                    )
                    if part
                ),
            )
    if not reader.ok or code is None or name is None or kind is None:
        return None
    return UnitRow(
        code=code, name=name, kind=kind, parent_code=parent, location=reader.row.location
    )


def _parse_person(reader: _RowReader) -> PersonRow | None:
    code = reader.get("code", FieldType.str, required=True)
    name = reader.get("name", FieldType.str, required=True)
    unit_code = reader.get("unit_code", FieldType.str, required=True)
    party = reader.convert("party_member", parse_party_member)
    contacts = {
        channel: value
        for channel in ("mobile", "email")
        if (value := reader.get(channel, FieldType.str)) is not None
    }
    tags = reader.get("tags", FieldType.list) if "tags" in reader.headers else None
    if not reader.ok or code is None or name is None or unit_code is None:
        return None
    return PersonRow(
        code=code,
        name=name,
        unit_code=unit_code,
        party_member=party,
        contacts=contacts,
        tags=tags,
        location=reader.row.location,
    )


def _parse_post(
    reader: _RowReader, mapping: OrgMapping, known_posts: set[str], *, combined: bool
) -> PostRow | None:
    post_text = reader.get("post_name", FieldType.str, required=not combined)
    if post_text is None and reader.ok:
        # A combined people-and-posts export lists people without a post too: not a post row.
        return None
    person_code = reader.get("person_code", FieldType.str, required=True)
    person_name = reader.get("person_name", FieldType.str)
    unit_code = reader.get("unit_code", FieldType.str, required=True)
    since = reader.get("since", FieldType.date, required=True)
    until = reader.get("until", FieldType.date)
    post_name = None
    if post_text is not None:
        post_name = mapping.post_aliases.get(post_text, post_text)
        if post_name not in known_posts:
            reader.fail(
                "post_name",
                f"未知的职务 / unknown post type {post_text!r}",
                hint=suggest(post_text, sorted(known_posts | set(mapping.post_aliases)))
                or "在映射的 post_types 中声明 / declare it under post_types in a mapping",
            )
    if since is not None and until is not None and until < since:
        reader.fail("until", f"免职日期早于任职日期 / until {until} is before since {since}")
    if (
        not reader.ok
        or post_name is None
        or person_code is None
        or unit_code is None
        or since is None
    ):
        return None
    return PostRow(
        person_code=person_code,
        person_name=person_name,
        post_name=post_name,
        unit_code=unit_code,
        since=since,
        until=until,
        location=reader.row.location,
    )


# ---------------------------------------------------------------------------------------------
# Checking the files against themselves and the database
# ---------------------------------------------------------------------------------------------


def _where(location: Location) -> str:
    return str(location)


class _Checker:
    """Cross-row checks. Every problem marks its row bad; in skip mode bad rows are then left
    out and the rows that depend on them fail in turn, so what is written is consistent."""

    def __init__(self, session: Session, parsed: _Parsed, *, skip: bool) -> None:
        self.session = session
        self.parsed = parsed
        self.skip = skip
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.db_units = {u.code: u for u in session.scalars(select(Unit))}
        self.db_people = {p.code: p for p in session.scalars(select(Person))}

    def fail(self, location: Location, field: str, message: str, hint: str | None = None) -> None:
        self.parsed.bad.add(location)
        self.problems.append(Problem(message=message, location=location, field=field, hint=hint))

    def good(self, rows: Sequence[Any]) -> list[Any]:
        return [r for r in rows if r.location not in self.parsed.bad]

    def usable(self, rows: Sequence[Any]) -> list[Any]:
        """Rows other rows may depend on. Without skipping nothing is written anyway, so a row
        with its own problem still counts: only root causes are reported, not their echoes."""
        return self.good(rows) if self.skip else list(rows)

    # -- units --

    def duplicates(self, rows: Sequence[Any], key: Callable[[Any], Any], what: str) -> None:
        first: dict[Any, Any] = {}
        for row in rows:
            k = key(row)
            if k in first:
                self.fail(
                    row.location,
                    what,
                    f"重复 / duplicate {k if isinstance(k, str) else ' / '.join(map(str, k))}",
                    hint=f"首次出现于 / first at {_where(first[k].location)}",
                )
            else:
                first[k] = row

    def unit_resolver(self) -> Callable[[str], str | None]:
        """Code of a unit named by code, or by its exact name when that is unambiguous (HR
        exports often write the department's name where its code belongs)."""
        by_code = {u.code: u.name for u in self.db_units.values()}
        by_code.update({r.code: r.name for r in self.usable(self.parsed.units)})
        by_name: dict[str, set[str]] = defaultdict(set)
        for code, name in by_code.items():
            by_name[name].add(code)
        broken = set() if self.skip else set(self.parsed.unparsed[Kind.units])

        def resolve(ref: str) -> str | None:
            if ref in by_code or ref in broken:
                return ref
            codes = by_name.get(ref, set())
            return next(iter(codes)) if len(codes) == 1 else None

        return resolve

    def unit_missing(self, ref: str, location: Location, field: str, what: str) -> None:
        unit_names = {u.code: u.name for u in self.db_units.values()}
        unit_names.update({r.code: r.name for r in self.parsed.units})
        by_name = [code for code, name in unit_names.items() if name == ref]
        hint: str | None
        if len(by_name) > 1:
            hint = (
                "同名单位有多个，请填单位编码 / several units have this name; use the code: "
                + ", ".join(sorted(by_name))
            )
        elif own := self.own_row(Kind.units, ref):
            hint = f"该单位本行有错被跳过 / that unit's own row is skipped: {own}"
        else:
            hint = suggest(ref, list(unit_names) + list(unit_names.values()))
        self.fail(location, field, f"{what}不存在 / {what} {ref!r} does not exist", hint=hint)

    def own_row(self, kind: Kind, code: str) -> str | None:
        """Where the bad row that defines ``code`` is, if there is one."""
        if code in self.parsed.unparsed[kind]:
            return _where(self.parsed.unparsed[kind][code])
        rows: list[Any] = self.parsed.units if kind == Kind.units else self.parsed.people
        return next((_where(r.location) for r in rows if r.code == code), None)

    def check_units(self) -> None:
        self.duplicates(self.parsed.units, lambda r: r.code, "单位编码")
        while True:
            before = len(self.parsed.bad)
            resolve = self.unit_resolver()
            for row in self.good(self.parsed.units):
                if row.parent_code is None:
                    continue
                parent = resolve(row.parent_code)
                if parent is None:
                    self.unit_missing(row.parent_code, row.location, "上级单位", "上级单位")
                elif parent == row.code:
                    self.fail(
                        row.location,
                        "上级单位",
                        "单位不能是自己的上级 / a unit cannot be its own parent",
                    )
                else:
                    row.parent_code = parent
            self.check_cycles()
            if len(self.parsed.bad) == before or not self.skip:
                return

    def check_cycles(self) -> None:
        parent_of = {code: unit.parent_code for code, unit in self.db_units.items()}
        rows = {r.code: r for r in self.good(self.parsed.units)}
        parent_of.update({code: r.parent_code for code, r in rows.items()})
        reported: set[str] = set()
        for start in rows:
            path: list[str] = []
            code: str | None = start
            while code is not None and code not in path and code not in reported:
                path.append(code)
                code = parent_of.get(code)
            if code is None or code in reported or code not in path:
                continue
            cycle = path[path.index(code) :]
            reported.update(cycle)
            loop = " → ".join([*cycle, cycle[0]])
            for member in cycle:
                if member in rows:
                    self.fail(
                        rows[member].location,
                        "上级单位",
                        f"单位树中有环 / the unit tree has a cycle: {loop}",
                        hint="检查这些单位的上级单位 / check the parents of these units",
                    )

    # -- people --

    def check_people(self, combined: set[Path]) -> None:
        """A combined people-and-posts export repeats a person on each post row: repeats that
        agree are one person; repeats that disagree, or repeats across files, are errors."""
        first: dict[str, PersonRow] = {}
        for row in self.parsed.people:
            earlier = first.get(row.code)
            if earlier is None:
                first[row.code] = row
                continue
            same_file = earlier.location.file == row.location.file
            if same_file and _file_path(row.location) in combined:
                keep = ("name", "unit_code", "party_member", "contacts", "tags")
                if row.model_dump(include=set(keep)) == earlier.model_dump(include=set(keep)):
                    continue
                message = "同一工号的人员信息前后不一致 / conflicting rows for the same person"
            else:
                message = f"重复 / duplicate {row.code}"
            self.fail(
                row.location,
                "工号",
                message,
                hint=f"首次出现于 / first at {_where(earlier.location)}",
            )
        resolve = self.unit_resolver()
        for row in self.good(self.parsed.people):
            unit = resolve(row.unit_code)
            if unit is None:
                self.unit_missing(row.unit_code, row.location, "所在单位", "所在单位")
            else:
                row.unit_code = unit

    # -- posts --

    def check_posts(self, single_holder: set[str]) -> None:
        self.duplicates(self.parsed.posts, lambda r: r.key, "任职")
        resolve = self.unit_resolver()
        people: dict[str, str | None] = {p.code: p.name for p in self.db_people.values()}
        people.update({r.code: r.name for r in self.usable(self.parsed.people)})
        if not self.skip:
            people.update({code: None for code in self.parsed.unparsed[Kind.people]})
        for row in self.good(self.parsed.posts):
            unit = resolve(row.unit_code)
            if unit is None:
                self.unit_missing(row.unit_code, row.location, "任职单位", "任职单位")
            else:
                row.unit_code = unit
            if row.person_code not in people:
                self.fail(
                    row.location,
                    "工号",
                    f"人员不存在 / no person with 工号 {row.person_code!r}",
                    hint=(
                        f"该人员本行有错被跳过 / that person's own row is skipped: {own}"
                        if (own := self.own_row(Kind.people, row.person_code))
                        else suggest(row.person_code, people)
                        or "先导入人员 / import the people file with it"
                    ),
                )
            elif (
                row.person_name
                and people[row.person_code]
                and row.person_name != people[row.person_code]
            ):
                self.warnings.append(
                    Problem(
                        message=f"姓名 {row.person_name} 与工号 {row.person_code} 的人员 "
                        f"{people[row.person_code]} 不一致 / name differs from the person's",
                        location=row.location,
                        field="姓名",
                        severity="warning",
                        hint="核对工号 / check the 工号",
                    )
                )
        self.check_overlaps(single_holder)

    def check_overlaps(self, single_holder: set[str]) -> None:
        """One holder at a time for single-holder posts, counting posts already stored."""
        rows = [r for r in self.good(self.parsed.posts) if r.post_name in single_holder]
        keys = {r.key for r in rows}
        groups: dict[tuple[str, str], list[PostRow | PostAssignment]] = defaultdict(list)
        for r in rows:
            groups[(r.unit_code, r.post_name)].append(r)
        if groups:
            stored = self.session.scalars(
                select(PostAssignment).where(PostAssignment.post_name.in_(single_holder))
            )
            for a in stored:
                if (a.unit_code, a.post_name) in groups and (
                    a.person_code,
                    a.post_name,
                    a.unit_code,
                    a.since,
                ) not in keys:
                    groups[(a.unit_code, a.post_name)].append(a)
        for (unit, post), items in sorted(groups.items()):
            items.sort(key=lambda i: (i.since, isinstance(i, PostRow)))
            accepted: list[PostRow | PostAssignment] = []
            for item in items:
                previous = accepted[-1] if accepted else None
                if previous is None or not _overlaps(previous, item):
                    accepted.append(item)
                    continue
                file_row, other = (
                    (item, previous) if isinstance(item, PostRow) else (previous, item)
                )
                assert isinstance(file_row, PostRow)
                self.fail(
                    file_row.location,
                    "任职日期",
                    f"{unit} 的 {post} 同一时间只能有一人 / overlaps another holder of a "
                    f"single-holder post: {_describe(other, self.db_people)}",
                    hint="前任的免职日期应早于继任者的任职日期 / the predecessor's until must be "
                    "before the successor's since",
                )
                if file_row is previous:
                    accepted[-1] = item


def _file_path(location: Location) -> Path:
    return Path((location.file or "").split("[", 1)[0])


def _overlaps(a: PostRow | PostAssignment, b: PostRow | PostAssignment) -> bool:
    first, second = sorted((a, b), key=lambda i: i.since)
    return first.until is None or first.until >= second.since


def _describe(item: PostRow | PostAssignment, people: dict[str, Person]) -> str:
    until = item.until.isoformat() if item.until else "至今"
    if isinstance(item, PostRow):
        return f"{item.person_code} {item.since}~{until} ({_where(item.location)})"
    name = people[item.person_code].name if item.person_code in people else ""
    return f"{item.person_code} {name} {item.since}~{until} (数据库中已有 / already stored)"


# ---------------------------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------------------------


def import_org(
    session: Session,
    *,
    paths: Sequence[Path],
    mapping: OrgMapping | None = None,
    skip_bad_rows: bool = False,
) -> ImportReport:
    """Validate the files, then upsert units, people and posts. Raises UserError listing every
    problem; with ``skip_bad_rows`` row problems are reported in ``skipped`` instead. Never
    commits: the caller commits, or rolls back for a dry run."""
    mapping = mapping or OrgMapping()
    report = ImportReport()
    file_problems: list[Problem] = []
    files: list[_File] = []
    for given in paths:
        if given.is_dir() and not any(iter_files(given)):
            file_problems.append(
                Problem(
                    message="目录中没有可读的文件 / no readable files",
                    location=Location(file=str(given)),
                )
            )
        for path in iter_files(given):
            try:
                table = read_table(path)
            except UserError as error:
                file_problems.extend(error.problems)
                continue
            classified, problems, warnings = _classify(table, mapping)
            file_problems.extend(problems)
            report.warnings.extend(warnings)
            if classified is not None:
                files.append(classified)
                report.files.append(
                    FileSummary(
                        path=str(path),
                        kinds=classified.kinds,
                        rows=len(table.rows),
                        encoding=table.encoding,
                    )
                )
    if file_problems:
        # A file that cannot be read as a whole cannot be skipped row by row either.
        raise UserError(file_problems + report.warnings)

    post_types = {spec.name: spec for spec in DEFAULT_POST_TYPES}
    for post_type in session.scalars(select(PostType)):
        post_types[post_type.name] = PostTypeSpec.model_validate(post_type, from_attributes=True)
    post_types.update({spec.name: spec for spec in mapping.post_types})

    parsed = _Parsed()
    row_problems: list[Problem] = []
    combined: set[Path] = set()
    for file in files:
        if {Kind.people, Kind.posts} <= set(file.kinds):
            combined.add(file.table.path)
        for row in file.table.rows:
            for kind in file.kinds:
                reader = _RowReader(row, file.headers[kind], row_problems)
                match kind:
                    case Kind.units:
                        unit = _parse_unit(reader, mapping)
                        if unit is not None:
                            parsed.units.append(unit)
                    case Kind.people:
                        person = _parse_person(reader)
                        if person is not None:
                            parsed.people.append(person)
                    case Kind.posts:
                        post = _parse_post(
                            reader,
                            mapping,
                            set(post_types),
                            combined=file.table.path in combined,
                        )
                        if post is not None:
                            parsed.posts.append(post)
                if not reader.ok:
                    parsed.bad.add(row.location)
                    code = file.headers[kind].get("code")
                    if kind in parsed.unparsed and code and str(row.values.get(code, "")).strip():
                        parsed.unparsed[kind][str(row.values[code]).strip()] = row.location

    checker = _Checker(session, parsed, skip=skip_bad_rows)
    checker.check_units()
    checker.check_people(combined)
    checker.check_posts({name for name, spec in post_types.items() if spec.single_holder})
    # In the order of the files and their lines, so a reader fixes a file top to bottom.
    file_order = {summary.path: index for index, summary in enumerate(report.files)}

    def position(problem: Problem) -> tuple[int, int]:
        if problem.location is None:
            return (-1, 0)
        path = str(_file_path(problem.location))
        return (file_order.get(path, len(file_order)), problem.location.line or 0)

    problems = sorted(row_problems + checker.problems, key=position)
    report.warnings.extend(checker.warnings)
    if problems and not skip_bad_rows:
        raise UserError(problems + report.warnings)
    report.skipped = problems

    _write(session, parsed, checker, mapping, report)
    return report


def _write(
    session: Session, parsed: _Parsed, checker: _Checker, mapping: OrgMapping, report: ImportReport
) -> None:
    with session.no_autoflush:
        report.post_types = seed_post_types(session)
        for spec in mapping.post_types:
            report.post_types.count(upsert_post_type(session, spec=spec))
        session.flush()

        # Parents before children, and new units before existing ones move under them: the
        # flush emits updates before inserts, which a foreign key on PostgreSQL would refuse.
        units = {r.code: r for r in checker.good(parsed.units)}
        order: list[UnitRow] = []
        placed: set[str] = set()
        while len(order) < len(units):
            for code, row in units.items():
                if code not in placed and (
                    row.parent_code not in units or row.parent_code in placed
                ):
                    order.append(row)
                    placed.add(code)
        new = [r for r in order if r.code not in checker.db_units]
        existing = [r for r in order if r.code in checker.db_units]
        for batch in (new, existing):
            for row in batch:
                report.units.count(
                    upsert_unit(
                        session,
                        code=row.code,
                        name=row.name,
                        kind=row.kind,
                        parent_code=row.parent_code,
                    )
                )
            session.flush()

        seen: set[str] = set()
        for person in checker.good(parsed.people):
            if person.code in seen:
                continue  # an agreeing repeat in a combined export
            seen.add(person.code)
            report.people.count(
                upsert_person(
                    session,
                    code=person.code,
                    name=person.name,
                    unit_code=person.unit_code,
                    party_member=person.party_member,
                    contacts=person.contacts,
                    tags=person.tags,
                )
            )
        session.flush()

        for post in checker.good(parsed.posts):
            report.posts.count(
                upsert_assignment(
                    session,
                    person_code=post.person_code,
                    post_name=post.post_name,
                    unit_code=post.unit_code,
                    since=post.since,
                    until=post.until,
                )
            )
        session.flush()
