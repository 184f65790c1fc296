"""Pack tests: fixture evidence in, expected findings out, run like unit tests.

Tests live in the pack (``tests:``) or beside it (``<pack>.tests.yaml`` holding the same
``org`` / ``evidence`` / ``cases`` keys). A case fails when an expected finding is missing or has
another verdict, bearer or evidence, and when a rule it names fails a subject it did not expect,
so a rule that flags too much is caught as surely as one that flags too little. Failures are shown
as a diff of expected against actual finding lines.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from rules.compiler import CompiledPack
from rules.diagnostics import validation_problems
from rules.engine import evaluate
from rules.findings import Finding, Verdict
from rules.fixtures import fixture_connection, load_org_file
from rules.periods import Period
from rules.safeyaml import load_path
from rules.schema import EvidenceFixture, Expectation, OrgFixture, PackTest, PackTests


class CaseResult(BaseModel):
    name: str
    passed: bool
    diff: list[str] = Field(default_factory=list)
    findings: int = 0


class TestReport(BaseModel):
    pack: str
    file: str | None
    cases: list[CaseResult]

    @property
    def passed(self) -> bool:
        return all(case.passed for case in self.cases)


def tests_beside(path: Path) -> Path:
    return path.with_name(f"{path.stem}.tests.yaml")


def find_tests(pack: CompiledPack) -> tuple[PackTests | None, Path]:
    """The pack's tests and the folder their relative paths start from."""
    source = pack.source
    base = source.parent if source is not None else Path.cwd()
    if pack.pack.tests is not None:
        return pack.pack.tests, base
    if source is None:
        return None, base
    beside = tests_beside(source)
    if not beside.exists():
        return None, base
    doc = load_path(beside)
    try:
        tests = PackTests.model_validate(doc.data)
    except ValidationError as error:
        raise UserError(validation_problems(error, doc, PackTests)) from None
    rule_ids = {plan.id for plan in pack.plans}
    problems = [
        Problem(
            message=f"测试引用了不存在的规则 / no rule '{expected.rule}' in this pack",
            location=doc.location(("cases", index, "expect", position, "rule")),
        )
        for index, case in enumerate(tests.cases)
        for position, expected in enumerate(case.expect)
        if expected.rule not in rule_ids
    ]
    if problems:
        raise UserError(problems)
    return tests, base


def run_tests(pack: CompiledPack) -> TestReport:
    tests, base = find_tests(pack)
    file = str(pack.source) if pack.source else None
    if tests is None:
        raise UserError(
            [
                Problem(
                    message="规则包没有测试 / the pack has no tests",
                    location=Location(file=file),
                    hint="add a tests: section, or a <pack>.tests.yaml file beside it",
                )
            ]
        )
    results = [run_case(pack, tests, case, base) for case in tests.cases]
    return TestReport(pack=pack.id, file=file, cases=results)


def _org(value: OrgFixture | str | None, base: Path) -> OrgFixture | None:
    if value is None or isinstance(value, OrgFixture):
        return value
    path = Path(value)
    return load_org_file(path if path.is_absolute() else base / path)


def run_case(pack: CompiledPack, tests: PackTests, case: PackTest, base: Path) -> CaseResult:
    org = _org(case.org, base) or _org(tests.org, base)
    if org is None:
        raise UserError(
            f"测试「{case.name}」没有组织机构 / test '{case.name}' has no org",
            hint="give tests.org (shared) or the case's org",
        )
    evidence: dict[str, list[EvidenceFixture]] = {}
    for source in (tests.evidence, case.evidence):
        for name, fixture in source.items():
            evidence.setdefault(name, []).append(fixture)
    con = fixture_connection(pack, org, evidence, base)
    try:
        rule_ids = sorted({e.rule for e in case.expect})
        findings = evaluate(pack, con, Period.parse(case.period), scope=case.scope, rules=rule_ids)
    finally:
        con.close()
    diff = compare(case.expect, findings)
    return CaseResult(name=case.name, passed=not diff, diff=diff, findings=len(findings))


def _line(
    rule: str,
    subject: str,
    period: str | None,
    verdict: str,
    bearer: str | None = None,
    evidence: list[int] | None = None,
) -> str:
    text = f"{rule} {subject} {period if period is not None else '*'} {verdict}"
    if bearer is not None:
        text += f" bearer={bearer}"
    if evidence is not None:
        text += f" evidence={sorted(evidence)}"
    return text


def _matches(expected: Expectation, finding: Finding) -> bool:
    return (
        finding.rule_id == expected.rule
        and finding.subject_id == expected.subject
        and (expected.period is None or finding.period == expected.period)
    )


def compare(expect: list[Expectation], findings: list[Finding]) -> list[str]:
    """A unified diff of expected against actual finding lines; empty when the case passes."""
    wanted: list[str] = []
    actual: list[str] = []
    matched: set[int] = set()
    notes: list[str] = []
    for expected in expect:
        wanted.append(
            _line(
                expected.rule,
                expected.subject,
                expected.period,
                expected.verdict.value,
                expected.bearer,
                expected.evidence,
            )
        )
        hits = [i for i, f in enumerate(findings) if _matches(expected, f)]
        if not hits:
            actual.append(_line(expected.rule, expected.subject, expected.period, "(no finding)"))
            subjects = sorted({f.subject_id for f in findings if f.rule_id == expected.rule})
            close = difflib.get_close_matches(expected.subject, subjects, n=3)
            notes.append(
                f"# {expected.rule} {expected.subject}: no finding; "
                + (
                    f"similar subjects: {', '.join(close)}"
                    if close
                    else f"{len(subjects)} subjects"
                )
            )
            continue
        matched.update(hits)
        finding = findings[hits[0]]
        actual.append(
            _line(
                expected.rule,
                expected.subject,
                expected.period,
                finding.verdict.value,
                finding.bearer_person if expected.bearer is not None else None,
                finding.evidence_ids if expected.evidence is not None else None,
            )
        )
        if expected.explanation is not None and expected.explanation not in finding.explanation:
            wanted[-1] += f" explanation~{expected.explanation!r}"
            actual[-1] += f" explanation={finding.explanation!r}"
        elif finding.verdict != expected.verdict:
            notes.append(f"# {finding.rule_id} {finding.subject_id}: {finding.explanation}")
    named = {e.rule for e in expect}
    for index, finding in enumerate(findings):
        if index in matched or finding.rule_id not in named:
            continue
        if finding.verdict is Verdict.failed:
            actual.append(
                _line(finding.rule_id, finding.subject_id, finding.period, "fail")
                + "  (unexpected)"
            )
            notes.append(f"# {finding.rule_id} {finding.subject_id}: {finding.explanation}")
    if wanted == actual:
        return []
    lines = list(
        difflib.unified_diff(wanted, actual, fromfile="expected", tofile="actual", lineterm="")
    )
    return lines + notes
