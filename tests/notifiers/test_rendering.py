"""Templates are checked when loaded: a typo is found before any message is sent."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from dualduty.errors import UserError
from models.outbox import Notice
from notifiers.rendering import TEMPLATES_DIR, TemplateSet, template_set
from tests.notifiers.conftest import notice


def copy_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    return folder


def test_every_template_has_chinese_and_english() -> None:
    templates = template_set()
    names = templates.names()
    assert {
        "overdue",
        "reminder",
        "talk",
        "rectification",
        "inquiry",
        "accountability",
        "digest",
        "test",
    } <= set(names)
    for name in names:
        assert (name, "zh") in templates.files and (name, "en") in templates.files, name


def test_render_chinese_by_default_english_on_request() -> None:
    templates = template_set()
    zh = templates.render(notice(42))
    en = templates.render(notice(42, language="en"))
    assert zh.title == "逾期催办：支委会每月至少召开一次"
    assert en.title == "Overdue: 支委会每月至少召开一次"
    for rendered in (zh, en):
        assert "综采一队党支部" in rendered.markdown
        assert "2026-11-03" in rendered.markdown
        # Without a case link (enqueue fills one in) the message links to the console.
        assert "(http://127.0.0.1:8000)" in rendered.markdown
    linked = templates.render(notice(42, case_url="https://console.corp/cases/42"))
    assert "[查看案件 #42](https://console.corp/cases/42)" in linked.markdown


def test_digest_lists_every_notice() -> None:
    rendered = template_set().render_digest(
        [notice(1, rule_title="支委会"), notice(2, rule_title="党课")],
        recipient_name="李书记",
        day=dt.date(2026, 11, 24),
        language="zh",
    )
    assert rendered.title == "每日汇总：2 项待办（2026-11-24）"
    assert "1. 逾期催办：[支委会]" in rendered.markdown
    assert "2. 逾期催办：[党课]" in rendered.markdown


def test_unknown_variable_is_caught_at_load_even_in_an_untaken_branch(tmp_path: Path) -> None:
    folder = copy_templates(tmp_path)
    (folder / "overdue.zh.md.j2").write_text(
        "### 逾期：{{ rule_title }}\n{% if due_date %}{{ due_dat }}{% endif %}\n", encoding="utf-8"
    )
    with pytest.raises(UserError) as caught:
        TemplateSet(folder)
    problem = caught.value.problems[0]
    assert "due_dat" in problem.message
    assert problem.location is not None
    assert str(problem.location.file).endswith("overdue.zh.md.j2")
    assert problem.location.line == 2
    assert problem.hint is not None and "due_date" in problem.hint


def test_unknown_field_of_a_digest_item_is_caught_at_load(tmp_path: Path) -> None:
    folder = copy_templates(tmp_path)
    (folder / "digest.en.md.j2").write_text(
        "### Digest {{ day }}\n{% for n in notices %}- {{ n.rule_titel }}\n{% endfor %}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"n\.rule_titel"):
        TemplateSet(folder)


def test_syntax_error_missing_title_and_missing_chinese_are_reported_together(
    tmp_path: Path,
) -> None:
    folder = copy_templates(tmp_path)
    (folder / "talk.zh.md.j2").write_text("### 谈话 {{ rule_title \n", encoding="utf-8")
    (folder / "reminder.zh.md.j2").write_text("{% if false %}x{% endif %}\n", encoding="utf-8")
    (folder / "rectification.zh.md.j2").unlink()
    (folder / "overdue.fr.md.j2").write_text("### x\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        TemplateSet(folder)
    text = str(caught.value)
    assert "talk.zh.md.j2" in text and "syntax" in text
    assert "reminder.zh.md.j2" in text and "title" in text
    assert "rectification" in text and "Chinese" in text
    assert "unknown language 'fr'" in text


def test_missing_english_falls_back_to_chinese(tmp_path: Path) -> None:
    folder = copy_templates(tmp_path)
    (folder / "talk.en.md.j2").unlink()
    rendered = TemplateSet(folder).render(notice(1, template="talk", language="en"))
    assert rendered.title.startswith("提醒谈话")


def test_unknown_template_name_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no template 'nope'"):
        template_set().render(Notice(template="nope"))
