"""``dualduty demo``: a working system from nothing, on the bundled sample company.

One function per step, each in its own transaction, so the demo can grow (gather sample
evidence, run an inspection, escalate, review) by adding a function and a line in ``run``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from dualduty.cli.console import out
from dualduty.cli.org import org_trees, parse_on, print_report
from dualduty.demo import SAMPLE_COMPANY, load_sample_company
from evidence.orgfiles import ImportReport
from models import migrate, org
from models.org import kind_label
from models.session import get_engine, session_scope
from workflows.summary import InspectionRequest, InspectionSummary


def demo(
    on: Annotated[
        str | None, typer.Option("--on", help="日期 / as of date (default: today)")
    ] = None,
    inspect: Annotated[
        bool,
        typer.Option(
            "--inspect/--no-inspect", help="运行示例检查 / run the sample inspection (default: yes)"
        ),
    ] = True,
) -> None:
    """演示：示例煤业集团的一次完整检查 / demo: inspect the bundled sample company end to end."""
    run(get_engine(), on=parse_on(on), inspect=inspect)


def run(engine: Engine, *, on: dt.date, inspect: bool = True) -> None:
    upgrade_database(engine)
    import_sample(engine)
    show_summary(engine, on=on)
    if inspect:
        inspect_sample()
        escalate_sample()
        show_cases()


def upgrade_database(engine: Engine) -> None:
    out.rule("1. 数据库 / database")
    migrate.upgrade(engine)
    out.print(
        f"数据库已就绪 / schema at {migrate.current_revision(engine)} "
        f"({engine.url.render_as_string(hide_password=True)})"
    )


def import_sample(engine: Engine) -> ImportReport:
    out.rule("2. 示例公司 / sample company: 北辰煤业集团有限公司")
    with session_scope(engine) as session:
        report = load_sample_company(session)
    print_report(report, dry_run=False)
    return report


def show_summary(engine: Engine, *, on: dt.date) -> None:
    out.rule(f"3. 组织概览 / organisation on {on.isoformat()}")
    with session_scope(engine) as session:
        summary = org.summary(session, on=on)
        trees = org_trees(session, root=SAMPLE_COMPANY, on=on, depth=1)
    units = Table(title="单位 / units", title_justify="left")
    units.add_column("类型 / kind")
    units.add_column("数量 / count", justify="right")
    for kind, count in summary.units_by_kind.items():
        label = kind_label(kind)
        units.add_row(f"{label} / {kind}", str(count))
    out.print(units)
    out.print(f"人员 / people: {summary.people}（党员 / party members: {summary.party_members}）")
    posts = Table(title="在任职务 / posts held", title_justify="left")
    posts.add_column("职务 / post")
    posts.add_column("人数 / holders", justify="right")
    for post, count in summary.posts_by_type.items():
        posts.add_row(post, str(count))
    out.print(posts)
    for tree in trees:
        out.print(tree)


# --- the demo inspection (workflows.demo) ----------------------------------------------------


def inspect_sample() -> None:
    from workflows import demo as demo_inspection

    out.rule("4. 检查 / inspections: 示例规则包 / sample packs, 2026年1-10月")
    table = Table(title_justify="left")
    for name in (
        "规则包 / pack",
        "期间 / period",
        "结论 / findings",
        "不合格 / fail",
        "新问题 / new cases",
        "秒 / s",
    ):
        table.add_column(name, justify="left" if "pack" in name or "period" in name else "right")

    def row(request: InspectionRequest, summary: InspectionSummary) -> None:
        c = summary.counts
        period = summary.period + (" (年度 / yearly rules)" if request.rules else "")
        table.add_row(
            summary.pack,
            period,
            str(c.findings),
            str(c.failed),
            str(c.cases_opened),
            f"{summary.work_seconds:.1f}",
        )

    with out.status("检查中 / inspecting …"):
        demo_inspection.inspect_samples(on_inspection=row)
    out.print(table)


def escalate_sample() -> None:
    from workflows import demo as demo_inspection

    out.rule("5. 升级督办 / escalation: one pass")
    report = demo_inspection.escalate_samples()
    out.print(f"升级督办 / escalation: {report}", highlight=False)


def show_cases(limit: int = 25) -> None:
    from workflows import demo as demo_inspection

    out.rule("6. 问题 / cases")
    found, planted, matched, unexpected = demo_inspection.cases()
    table = Table(
        title=f"问题 / cases (first {min(limit, len(found))} of {len(found)})", title_justify="left"
    )
    for name in (
        "规则 / rule",
        "对象 / subject",
        "期间 / period",
        "责任人 / bearer",
        "状态 / state",
        "阶梯 / step",
    ):
        table.add_column(name, overflow="fold")
    for case in found[:limit]:
        table.add_row(
            case.rule_id,
            case.subject_id,
            case.period,
            case.bearer or "—",
            case.state,
            case.ladder_step or "—",
        )
    out.print(table)
    out.print(
        f"植入问题 / planted violations: {planted} · 已发现 / found: {matched} · "
        f"其他 / unexpected: {unexpected}",
        highlight=False,
    )
    out.print(
        "下一步 / next: [bold]dualduty cases list[/] · [bold]dualduty serve[/] (console) · "
        "[bold]dualduty scheduler --pack rules/packs/branch-life.yaml[/]"
    )
