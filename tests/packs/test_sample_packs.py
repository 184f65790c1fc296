"""The shipped rule packs: each validates and passes its own tests, every rule of the sample packs
is tested both ways, and together they cover the catalogue as claimed (≥ 25 items over A, B, C).

CI fails here when an edit breaks a pack, so a broken pack never ships.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

import rules
from dualduty.cli.rules import pack_files
from rules.compiler import CompiledPack, load_pack
from rules.findings import Verdict
from rules.testing import find_tests, run_tests

PACKS_DIR = Path(rules.__file__).parent / "packs"
SAMPLE_PACKS = ("branch-life", "leadership", "integrity")
# docs/domain.md: A1–A12 organisational life, B1–B22 leadership, C1–C11 checks.
CATALOGUE = {"A": 12, "B": 22, "C": 11}
CATALOGUE_ID = re.compile(r"^(?P<group>[ABC])(?P<number>\d+)$")


def shipped() -> list[Path]:
    return pack_files([PACKS_DIR])


def sample(name: str) -> CompiledPack:
    return load_pack(PACKS_DIR / f"{name}.yaml")


def test_the_sample_packs_are_shipped() -> None:
    names = {path.stem for path in shipped()}
    assert set(SAMPLE_PACKS) <= names


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_pack_validates_and_passes_its_tests(path: Path) -> None:
    report = run_tests(load_pack(path))
    failed = [case for case in report.cases if not case.passed]
    assert not failed, "\n".join(f"{c.name}\n  " + "\n  ".join(c.diff) for c in failed)


@pytest.mark.parametrize("name", SAMPLE_PACKS)
def test_every_rule_has_a_passing_and_a_failing_test(name: str) -> None:
    pack = sample(name)
    tests, _ = find_tests(pack)
    assert tests is not None
    verdicts: dict[str, set[Verdict]] = defaultdict(set)
    for case in tests.cases:
        for expected in case.expect:
            verdicts[expected.rule].add(expected.verdict)
    missing = {
        plan.id: sorted(v.value for v in {Verdict.passed, Verdict.failed} - verdicts[plan.id])
        for plan in pack.plans
        if not {Verdict.passed, Verdict.failed} <= verdicts[plan.id]
    }
    assert not missing, f"rules without a passing or failing test: {missing}"


@pytest.mark.parametrize("name", SAMPLE_PACKS)
def test_sample_rules_are_labelled_for_admins(name: str) -> None:
    """What an admin reads: bilingual titles, a catalogue item, a ladder."""
    pack = sample(name)
    assert pack.pack.title.en, "the pack needs an English title"
    for plan in pack.plans:
        rule = plan.rule
        assert rule.title.en, f"{rule.id}: English title"
        assert re.search(r"[\u4e00-\u9fff]", rule.title.zh), f"{rule.id}: Chinese title"
        assert rule.catalogue, f"{rule.id}: names no catalogue item"
        assert rule.ladder in pack.ladders, f"{rule.id}: ladder"


def test_catalogue_coverage() -> None:
    covered: set[str] = set()
    for name in SAMPLE_PACKS:
        for plan in sample(name).plans:
            for item in plan.rule.catalogue:
                match = CATALOGUE_ID.match(item)
                assert match, f"{plan.id}: {item!r} is not a catalogue id"
                assert 1 <= int(match["number"]) <= CATALOGUE[match["group"]], item
                covered.add(item)
    groups = {item[0] for item in covered}
    assert len(covered) >= 25, sorted(covered)
    assert groups == {"A", "B", "C"}
