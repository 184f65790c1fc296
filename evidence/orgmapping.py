"""The column mapping of org imports: which source header feeds which field.

HR systems name the same column differently (单位编码 / 机构编码, 工号 / 员工编号) and the same
unit kind differently (区队 / 车间 / 科室). The default mapping reads typical exports as they are;
a user's YAML file overrides only what it names (``dualduty org mapping`` prints the default).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from models.org import UNIT_KIND_LABELS, PostTypeSpec, UnitKind


class Kind(StrEnum):
    """What a file (or one of its rows) describes."""

    units = "units"
    people = "people"
    posts = "posts"


KIND_LABELS = {Kind.units: "单位", Kind.people: "人员", Kind.posts: "任职"}


# ---------------------------------------------------------------------------------------------
# The column mapping
# ---------------------------------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# Candidate source headers for one field, first match wins. A single string is accepted.
Headers = Annotated[list[str], BeforeValidator(_as_list)]


class _Columns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    REQUIRED: ClassVar[tuple[str, ...]] = ()

    def resolve(self, columns: Sequence[str]) -> dict[str, str]:
        """field -> the header this file uses for it (fields the file lacks are left out)."""
        found: dict[str, str] = {}
        for name in type(self).model_fields:
            header = next((c for c in getattr(self, name) if c in columns), None)
            if header is not None:
                found[name] = header
        return found


class UnitColumns(_Columns):
    REQUIRED: ClassVar[tuple[str, ...]] = ("code", "name", "kind")

    code: Headers = ["单位编码", "机构编码", "组织编码", "unit_code"]
    name: Headers = ["单位名称", "机构名称", "组织名称", "unit_name"]
    kind: Headers = ["单位类型", "机构类型", "组织类型", "unit_kind"]
    parent_code: Headers = ["上级单位", "上级单位编码", "上级机构编码", "上级机构", "parent_code"]


class PersonColumns(_Columns):
    REQUIRED: ClassVar[tuple[str, ...]] = ("code", "name", "unit_code")

    code: Headers = ["工号", "员工编号", "人员编码", "person_code"]
    name: Headers = ["姓名", "person_name"]
    unit_code: Headers = ["所在单位", "所在单位编码", "所在部门", "home_unit"]
    party_member: Headers = ["是否党员", "政治面貌", "party_member"]
    mobile: Headers = ["手机号码", "手机", "手机号", "mobile"]
    email: Headers = ["电子邮箱", "邮箱", "email"]
    tags: Headers = ["标签", "tags"]


class PostColumns(_Columns):
    REQUIRED: ClassVar[tuple[str, ...]] = ("person_code", "post_name", "unit_code", "since")

    person_code: Headers = ["工号", "员工编号", "人员编码", "person_code"]
    person_name: Headers = ["姓名", "person_name"]
    post_name: Headers = ["职务", "职务名称", "岗位", "post"]
    unit_code: Headers = ["任职单位", "任职单位编码", "所在单位", "post_unit"]
    since: Headers = ["任职日期", "任职时间", "任职起始日期", "since"]
    until: Headers = ["免职日期", "免职时间", "任职截止日期", "until"]


DEFAULT_UNIT_KINDS: dict[str, UnitKind] = {
    **{kind.value: kind for kind in UnitKind},
    **{label: kind for kind, label in UNIT_KIND_LABELS.items()},
    "集团": UnitKind.company,
    "集团公司": UnitKind.company,
    "总公司": UnitKind.company,
    "有限公司": UnitKind.company,
    "分公司": UnitKind.subsidiary,
    "二级公司": UnitKind.subsidiary,
    "煤矿": UnitKind.mine,
    "矿井": UnitKind.mine,
    "厂": UnitKind.mine,
    "选煤厂": UnitKind.mine,
    "电厂": UnitKind.mine,
    "科室": UnitKind.department,
    "科": UnitKind.department,
    "处室": UnitKind.department,
    "部": UnitKind.department,
    "区队": UnitKind.department,
    "队": UnitKind.department,
    "车间": UnitKind.department,
    "中心": UnitKind.department,
    "支部": UnitKind.branch,
    "党总支": UnitKind.branch,
    "联合党支部": UnitKind.branch,
    "小组": UnitKind.group,
    "班组": UnitKind.group,
}


class OrgMapping(BaseModel):
    """How source files map to the organisation. A user mapping file overrides only what it names.

    ```yaml
    units: {code: 机构编码, name: 机构名称, kind: 机构类别}
    people: {code: [员工编号, 工号]}
    posts: {post_name: 现任职务}
    ignore: [序号, 备注]
    unit_kinds: {工区: department}
    post_aliases: {支部书记: 党支部书记}
    post_types:
      - {name: 安全总监, name_en: Chief safety officer}
    ```
    """

    model_config = ConfigDict(extra="forbid")

    units: UnitColumns = Field(default_factory=UnitColumns)
    people: PersonColumns = Field(default_factory=PersonColumns)
    posts: PostColumns = Field(default_factory=PostColumns)
    ignore: list[str] = Field(
        default_factory=lambda: ["序号", "性别", "出生日期", "民族", "学历", "备注"],
        description="Columns known to be irrelevant: ignored without a warning.",
    )
    unit_kinds: dict[str, UnitKind] = Field(default_factory=lambda: dict(DEFAULT_UNIT_KINDS))
    post_aliases: dict[str, str] = Field(
        default_factory=lambda: {"支部书记": "党支部书记", "党小组长": "党小组组长"}
    )
    post_types: list[PostTypeSpec] = Field(
        default_factory=list, description="Post types beyond the defaults."
    )

    def columns(self, kind: Kind) -> _Columns:
        return {Kind.units: self.units, Kind.people: self.people, Kind.posts: self.posts}[kind]


def load_mapping(path: Path | None) -> OrgMapping:
    """The default mapping, with a user's YAML file merged over it (section by section)."""
    if path is None:
        return OrgMapping()
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    location = Location(file=str(path))
    if not path.exists():
        raise UserError(
            [Problem(message="映射文件不存在 / mapping file not found", location=location)]
        )
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8-sig"))
    except (YAMLError, UnicodeDecodeError) as error:
        raise UserError(
            [
                Problem(
                    message=f"映射文件无法解析 / cannot parse mapping: {error}", location=location
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise UserError(
            [
                Problem(
                    message="映射文件应为 YAML 映射 / mapping must be a YAML mapping",
                    location=location,
                )
            ]
        )
    merged = OrgMapping().model_dump()
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif isinstance(value, list) and key == "ignore":
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged[key] = value
    try:
        return OrgMapping.model_validate(merged)
    except ValidationError as error:
        raise UserError(
            [
                Problem(
                    message=detail["msg"],
                    location=location,
                    field=".".join(str(part) for part in detail["loc"]),
                    hint=_mapping_hint(detail),
                )
                for detail in error.errors()
            ]
        ) from None


def _mapping_hint(detail: Any) -> str | None:
    if detail["type"] == "extra_forbidden":
        section = detail["loc"][0] if len(detail["loc"]) > 1 else None
        keys = (
            list(OrgMapping().columns(Kind(section)).model_dump()) if section in set(Kind) else []
        ) or list(OrgMapping.model_fields)
        return suggest(str(detail["loc"][-1]), keys)
    return None


def suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.4)
    return ("是否指 / did you mean: " + ", ".join(close)) if close else None
