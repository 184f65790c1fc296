"""Message templates: Jinja2 markdown, Chinese by default, English available.

Files are ``templates/<name>.<language>.md.j2``. The first line of the rendered text is the
title (a markdown heading): it becomes the e-mail subject, the DingTalk title and the Feishu card
header. Every template is checked when the set is loaded, not when a message is sent, because a
typo found at send time means a notice that never arrives:

* every variable it reads must be a field of ``Notice`` (or of the digest context), checked on
  the syntax tree, so a variable inside a branch that a sample would not take is caught too;
* attributes read from the digest's loop variable (``n.rule_title``) must be Notice fields;
* it renders, under StrictUndefined, with a sample notice whose every field is set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from models.outbox import Notice

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGES: tuple[Literal["zh", "en"], ...] = ("zh", "en")
DEFAULT_LANGUAGE: Literal["zh"] = "zh"
DIGEST = "digest"
SUFFIX = ".md.j2"
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")

NOTICE_FIELDS = frozenset(Notice.model_fields)
# Extra names every template may read besides the notice's fields.
COMMON_VARIABLES = frozenset({"console_url"})
DIGEST_VARIABLES = frozenset({"notices", "count", "recipient_name", "day", "language"})

SAMPLE_NOTICE = Notice(
    template="sample",
    language="zh",
    case_id=42,
    case_url="http://console.example/cases/42",
    rule_id="branch-committee-monthly",
    rule_title="支委会每月至少召开一次",
    side="党风廉政",
    severity="medium",
    subject_name="综采一队党支部",
    unit_name="第一煤矿",
    bearer_name="李书记",
    recipient_name="李书记",
    period="2026-03",
    step="L1",
    step_name="逾期催办",
    due_date=dt.date(2026, 4, 3),
    note="请尽快上传会议记录",
)


@dataclass(frozen=True)
class Rendered:
    title: str
    markdown: str


def _split_name(path: Path) -> tuple[str, str] | None:
    if not path.name.endswith(SUFFIX):
        return None
    stem = path.name[: -len(SUFFIX)]
    name, _, language = stem.rpartition(".")
    if not name or not language:
        return None
    return name, language


def _loop_targets_over_notices(tree: nodes.Template) -> set[str]:
    targets: set[str] = set()
    for loop in tree.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and loop.iter.name == "notices":
            targets.update(n.name for n in loop.target.find_all(nodes.Name))
            if isinstance(loop.target, nodes.Name):
                targets.add(loop.target.name)
    return targets


def _check_source(env: jinja2.Environment, path: Path, name: str) -> list[Problem]:
    source = path.read_text(encoding="utf-8")
    location = Location(file=str(path))
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as error:
        return [
            Problem(
                message=f"模板语法错误 / template syntax error: {error.message}",
                location=Location(file=str(path), line=error.lineno),
            )
        ]
    allowed = COMMON_VARIABLES | (DIGEST_VARIABLES if name == DIGEST else NOTICE_FIELDS)
    problems: list[Problem] = []
    unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
    for variable in unknown:
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == variable), None)
        problems.append(
            Problem(
                message=f"未知变量 / unknown variable {variable!r}",
                location=Location(file=str(path), line=line),
                hint="use one of: " + ", ".join(sorted(allowed)),
            )
        )
    loop_targets = _loop_targets_over_notices(tree)
    for getattr_node in tree.find_all(nodes.Getattr):
        base = getattr_node.node
        if (
            isinstance(base, nodes.Name)
            and base.name in loop_targets
            and getattr_node.attr not in NOTICE_FIELDS
        ):
            problems.append(
                Problem(
                    message=f"未知字段 / unknown notice field {base.name}.{getattr_node.attr}",
                    location=Location(file=str(path), line=getattr_node.lineno),
                    hint="use one of: " + ", ".join(sorted(NOTICE_FIELDS)),
                )
            )
    if problems:
        return problems
    try:
        text = env.get_template(path.name).render(
            _digest_context([SAMPLE_NOTICE, SAMPLE_NOTICE], "李书记", "2026-04-03", "zh")
            if name == DIGEST
            else _notice_context(SAMPLE_NOTICE)
        )
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as error:
        return [
            Problem(
                message=f"模板无法渲染 / template does not render: {error}",
                location=location,
            )
        ]
    if not _title_of(text):
        return [
            Problem(
                message="模板第一行须为标题 / the first line must be the title",
                location=Location(file=str(path), line=1),
                hint="start with a heading such as '### 逾期催办：{{ rule_title }}'",
            )
        ]
    return []


def _console_url() -> str:
    from dualduty.settings import get_settings

    return get_settings().console_url.rstrip("/")


def _notice_context(notice: Notice) -> dict[str, Any]:
    context: dict[str, Any] = dict(notice)
    context["console_url"] = _console_url()
    return context


def _digest_context(
    notices: list[Notice], recipient_name: str, day: str, language: str
) -> dict[str, Any]:
    return {
        "notices": notices,
        "count": len(notices),
        "recipient_name": recipient_name,
        "day": day,
        "language": language,
        "console_url": _console_url(),
    }


def _title_of(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped
    return ""


class TemplateSet:
    """All templates of one folder, checked at construction."""

    def __init__(self, folder: Path = TEMPLATES_DIR) -> None:
        self.folder = folder
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # markdown, not HTML; the e-mail HTML part is made by a renderer
            keep_trailing_newline=False,
        )
        self.files: dict[tuple[str, str], Path] = {}
        problems: list[Problem] = []
        if not folder.is_dir():
            raise UserError(
                [
                    Problem(
                        message="模板目录不存在 / no template folder",
                        location=Location(file=str(folder)),
                    )
                ]
            )
        for path in sorted(folder.iterdir()):
            parts = _split_name(path)
            if parts is None:
                continue
            name, language = parts
            if language not in LANGUAGES:
                problems.append(
                    Problem(
                        message=f"未知语言 / unknown language {language!r}",
                        location=Location(file=str(path)),
                        hint="name it <template>.zh.md.j2 or <template>.en.md.j2",
                    )
                )
                continue
            problems.extend(_check_source(self.env, path, name))
            self.files[(name, language)] = path
        for name in sorted({name for name, _ in self.files}):
            if (name, DEFAULT_LANGUAGE) not in self.files:
                problems.append(
                    Problem(
                        message=f"模板 {name} 缺少中文版本 / template {name} has no Chinese version",
                        location=Location(file=str(folder / f"{name}.zh{SUFFIX}")),
                    )
                )
        if problems:
            raise UserError(problems)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self.files})

    def _path(self, name: str, language: str) -> Path:
        path = self.files.get((name, language)) or self.files.get((name, DEFAULT_LANGUAGE))
        if path is None:
            raise UserError(
                [
                    Problem(
                        message=f"没有模板 / no template {name!r}",
                        hint="available: " + ", ".join(self.names()),
                    )
                ]
            )
        return path

    def _render(self, path: Path, context: dict[str, Any]) -> Rendered:
        text = self.env.get_template(path.name).render(context)
        # Block tags leave blank lines behind; markdown needs at most one between paragraphs.
        text = _BLANK_LINES.sub("\n\n", text).strip() + "\n"
        return Rendered(title=_title_of(text), markdown=text)

    def render(self, notice: Notice) -> Rendered:
        return self._render(self._path(notice.template, notice.language), _notice_context(notice))

    def render_digest(
        self, notices: list[Notice], *, recipient_name: str, day: dt.date, language: str
    ) -> Rendered:
        return self._render(
            self._path(DIGEST, language),
            _digest_context(notices, recipient_name, day.isoformat(), language),
        )


@lru_cache(maxsize=4)
def template_set(folder: Path = TEMPLATES_DIR) -> TemplateSet:
    """The checked templates of a folder, loaded once per process."""
    return TemplateSet(folder)


def template_names() -> list[str]:
    """Template names a ladder step may use (for the ladder loader's validation)."""
    return template_set().names()
