"""``dualduty rules``: validate, test, explain rule packs; print their JSON Schema."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from rules.compiler import CompiledPack, load_pack
from rules.explain import STATUS_WORDS, explain
from rules.fixtures import evidence_dir_fixtures, fixture_connection, load_org_file
from rules.periods import Period
from rules.schema import OrgFixture, pack_schema
from rules.testing import TestReport, find_tests, run_tests

app = typer.Typer(
    help="规则包 / rule packs: validate, test, explain, schema.", no_args_is_help=True
)


class Format(StrEnum):
    text = "text"
    json = "json"


PacksArgument = Annotated[
    list[Path],
    typer.Argument(help="规则包文件或目录 / pack files, or folders of them", show_default=False),
]
FormatOption = Annotated[
    Format, typer.Option("--format", help="text，或供 CI 使用的 json / text, or json for CI bots")
]


def _top_level_keys(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return {
        line.split(":", 1)[0] for line in text.splitlines() if line[:1].isalpha() and ":" in line
    }


def pack_files(paths: list[Path]) -> list[Path]:
    """The rule packs among ``paths``: folders contribute their ``*.yaml``/``*.yml`` files that
    declare ``pack:``, so an org fixture or a ladders file beside the packs is not taken for a
    broken pack. Named files are kept unless they are clearly something else (a ``.tests.yaml``
    companion, or a YAML file with neither ``pack:`` nor ``rules:``), so a shell glob such as
    ``rules/packs/*.yaml`` works; those are skipped with a note, never silently."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]):
                if child.name.endswith((".tests.yaml", ".tests.yml")):
                    continue
                if "pack" in _top_level_keys(child):
                    files.append(child)
            continue
        if path.is_file() and (
            path.name.endswith((".tests.yaml", ".tests.yml"))
            or not {"pack", "rules"} & _top_level_keys(path)
        ):
            err_console.print(
                f"跳过 / skipped {path}: 不是规则包 / not a rule pack (no `pack:` key)"
            )
            continue
        files.append(path)
    return files


def _problem_json(problem: Problem) -> dict[str, Any]:
    location = problem.location or Location()
    return {
        "severity": problem.severity,
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "field": problem.field,
        "message": problem.message,
        "hint": problem.hint,
    }


@app.command("validate")
def validate(paths: PacksArgument, output: FormatOption = Format.text) -> None:
    """检查规则包，一次列出全部问题 / check packs and list every problem (exit 0 or 2)."""
    results: list[dict[str, Any]] = []
    failed = False
    for path in pack_files(paths):
        try:
            pack = load_pack(path)
        except UserError as error:
            failed = True
            results.append(
                {
                    "file": str(path),
                    "ok": False,
                    "problems": [_problem_json(p) for p in error.problems],
                }
            )
            if output is Format.text:
                err_console.print(f"[bold red]✗[/] {path}", highlight=False, soft_wrap=True)
                for problem in error.problems:
                    err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
            continue
        results.append(
            {
                "file": str(path),
                "ok": True,
                "pack": pack.id,
                "version": pack.version,
                "rules": len(pack.plans),
                "problems": [],
            }
        )
        if output is Format.text:
            out.print(
                f"[green]✓[/] {path}: {pack.id} ({len(pack.plans)} 条规则 / rules, "
                f"version {pack.version[:12]})",
                highlight=False,
                soft_wrap=True,
            )
    if not results:
        raise UserError("没有找到规则包 / no rule packs found", hint="pass .yaml files or folders")
    if output is Format.json:
        print(json.dumps({"ok": not failed, "packs": results}, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(code=2)


def _print_report(report: TestReport) -> None:
    out.print(f"[bold]{report.pack}[/] ({report.file})", highlight=False, soft_wrap=True)
    for case in report.cases:
        mark = "[green]✓[/]" if case.passed else "[bold red]✗[/]"
        out.print(f"  {mark} {case.name}", highlight=False, soft_wrap=True)
        for line in case.diff:
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            out.print(f"      [{style}]{line}[/]", highlight=False, markup=True)


@app.command("test")
def test(paths: PacksArgument, output: FormatOption = Format.text) -> None:
    """运行规则包自带的测试 / run the packs' tests (exit 0 all pass, 1 a test failed)."""
    reports = []
    for path in pack_files(paths):
        reports.append(run_tests(load_pack(path)))
    if not reports:
        raise UserError("没有找到规则包 / no rule packs found", hint="pass .yaml files or folders")
    passed = sum(case.passed for report in reports for case in report.cases)
    total = sum(len(report.cases) for report in reports)
    if output is Format.json:
        payload = {
            "ok": passed == total,
            "packs": [report.model_dump() | {"passed": report.passed} for report in reports],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for report in reports:
            _print_report(report)
        colour = "green" if passed == total else "bold red"
        out.print(f"[{colour}]{passed}/{total} 通过 / passed[/]")
    if passed != total:
        raise typer.Exit(code=1)


def _org_for(pack: CompiledPack, org: Path | None, evidence: Path) -> OrgFixture:
    if org is not None:
        return load_org_file(org)
    beside = evidence / "org.yaml"
    if beside.exists():
        return load_org_file(beside)
    tests, base = find_tests(pack)
    if tests is not None and tests.org is not None:
        if isinstance(tests.org, OrgFixture):
            return tests.org
        return load_org_file(base / tests.org)
    raise UserError(
        "缺少组织机构 / no organisation to explain against",
        hint="pass --org FILE, or put org.yaml in the evidence folder",
    )


@app.command("explain")
def explain_command(
    pack_path: Annotated[Path, typer.Argument(help="规则包 / the pack file", show_default=False)],
    rule: Annotated[str, typer.Option("--rule", help="规则编号 / rule id", show_default=False)],
    subject: Annotated[
        str, typer.Option("--subject", help="单位、人员或记录编码 / subject id", show_default=False)
    ],
    period: Annotated[
        str, typer.Option("--period", help="2026-03, 2026-Q1, 2026-H1, 2026", show_default=False)
    ],
    evidence: Annotated[
        Path,
        typer.Option(
            "--evidence",
            help="证据文件目录（文件按证据类型命名）/ folder of evidence files named by type",
            show_default=False,
        ),
    ],
    org: Annotated[
        Path | None, typer.Option("--org", help="组织机构 YAML / organisation file")
    ] = None,
    output: FormatOption = Format.text,
) -> None:
    """解释某主体某期间的结论及其依据记录 / why this subject got this verdict, with the records."""
    pack = load_pack(pack_path)
    inspected = Period.parse(period)
    organisation = _org_for(pack, org, evidence)
    files = evidence_dir_fixtures(pack, evidence)
    if not files:
        err_console.print(
            f"注意 / note: {evidence} 中没有按证据类型命名的文件 / no files named after the "
            f"evidence types ({', '.join(pack.pack.evidence)}), e.g. meeting.csv",
            highlight=False,
            soft_wrap=True,
        )
    con = fixture_connection(pack, organisation, files, evidence.resolve())
    try:
        result = explain(pack, con, rule, subject, inspected)
    finally:
        con.close()
    if output is Format.json:
        print(result.model_dump_json(indent=2))
        return
    finding = result.finding
    if finding is not None:
        bearer = (
            f"{finding.bearer_person} ({finding.bearer_post})" if finding.bearer_person else "—"
        )
        out.print(
            f"[bold]{rule}[/] {subject} {finding.period or '—'}: [bold]{finding.verdict}[/]  "
            f"责任人 / bearer: {bearer}",
            highlight=False,
            soft_wrap=True,
        )
    out.print(result.summary, highlight=False, markup=False)
    if result.records:
        table = Table("id", "类型 / type", "键 / key", "判定 / status", "字段 / values")
        for record in result.records:
            values = ", ".join(f"{k}={v}" for k, v in record.values.items())
            table.add_row(
                str(record.id) if record.id else "—",
                record.evidence,
                record.key or "",
                record.note or STATUS_WORDS[record.status],
                values,
            )
        out.print(table)
    if result.truncated:
        out.print("（仅列出前 1000 条 / first 1000 records shown）")


@app.command("schema")
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="写入文件 / write to a file")
    ] = None,
) -> None:
    """输出规则包的 JSON Schema，供编辑器补全与校验 / JSON Schema for editors."""
    text = json.dumps(pack_schema(), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"已写入 / written: {output}", highlight=False, soft_wrap=True)
