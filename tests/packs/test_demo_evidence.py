"""The demo company's evidence: the sample packs, run straight through the engine over it, find the
planted violations, no more and no fewer; and the committed files are what the generator writes.

The organisation comes in through the ordinary org import (SQLite) and ``evidence.loader``; the
evidence through each type's own file source, typed as a gathering would type it, then into the
evaluation tables with ``evidence.frames``. January to October is inspected (as three quarters and
October, which judges every month, quarter, half-year and deadline falling due in them), and the
year 2026 for the yearly rules (as if inspected at year end with the evidence so far).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import duckdb
import pytest

import models
from dualduty.demo import load_sample_company
from dualduty.demo.generate_evidence import (
    EVIDENCE_DIR,
    SAMPLE_PACKS,
    Violation,
    planted_violations,
    render,
    sample_pack_paths,
)
from evidence import frames
from evidence.loader import load_frames
from evidence.sources import FetchContext, FileSource
from evidence.store import canonical_fields, natural_key
from evidence.types import EvidenceType
from models.session import make_engine, session_scope
from rules.compiler import CompiledPack, load_pack
from rules.engine import evaluate
from rules.findings import Finding, Verdict
from rules.periods import Period, PeriodKind

INSPECTED = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-10"]


@pytest.fixture(scope="module")
def packs() -> dict[str, CompiledPack]:
    return {path.stem: load_pack(path) for path in sample_pack_paths()}


@pytest.fixture(scope="module")
def con(
    tmp_path_factory: pytest.TempPathFactory, packs: dict[str, CompiledPack]
) -> Iterator[duckdb.DuckDBPyConnection]:
    folder = tmp_path_factory.mktemp("demo")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    models.Base.metadata.create_all(engine)
    with session_scope(engine) as session:
        load_sample_company(session)
    connection = frames.connect()
    load_frames(engine, types={}, con=connection, cache_dir=folder / "cache")
    engine.dispose()
    load_evidence(connection, packs.values())
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def findings(
    packs: dict[str, CompiledPack], con: duckdb.DuckDBPyConnection
) -> dict[str, list[Finding]]:
    return {name: inspect(pack, con) for name, pack in packs.items()}


def load_evidence(con: duckdb.DuckDBPyConnection, packs: Iterable[CompiledPack]) -> None:
    """Each evidence type through its declared file source; a type two packs share, once."""
    loaded: dict[str, EvidenceType] = {}
    next_id = 1
    for pack in packs:
        assert pack.source is not None
        for name, etype in pack.pack.evidence.items():
            if name in loaded:
                assert loaded[name] == etype, f"{name} is declared differently in {pack.id}"
                continue
            loaded[name] = etype
            assert etype.source is not None, f"{pack.id}: {name} has no source"
            result = etype.source.read(etype, FetchContext(name, base_dir=pack.source.parent))
            assert not result.problems, [str(p) for p in result.problems]
            assert result.records, f"{pack.id}: no {name} records in the demo evidence"
            keys = [natural_key(canonical_fields(r.fields, etype), etype) for r in result.records]
            rows = [
                {**record.fields, "_id": next_id + index, "_key": key}
                for index, (record, key) in enumerate(zip(result.records, keys, strict=True))
            ]
            next_id += len(rows)
            duplicates = sorted(key for key, n in Counter(keys).items() if n > 1)
            assert not duplicates, f"{name}: the store would merge records {duplicates[:5]}"
            frames.create_evidence_table(con, name, etype.fields)
            frames.insert_rows(con, name, etype.fields, rows)


def inspect(pack: CompiledPack, con: duckdb.DuckDBPyConnection) -> list[Finding]:
    findings = [f for label in INSPECTED for f in evaluate(pack, con, Period.parse(label))]
    yearly = [
        p.id for p in pack.plans if p.period.kind is PeriodKind.year and not p.period.deadline
    ]
    if yearly:
        findings += evaluate(pack, con, Period.parse("2026"), rules=yearly)
    return findings


def describe(findings: list[Finding] | list[Violation], keys: set[tuple[str, str, str]]) -> str:
    lines = []
    for item in findings:
        if isinstance(item, Finding) and item.key in keys:
            lines.append(f"  {item.rule_id} {item.subject_id} {item.period!r}: {item.explanation}")
        elif isinstance(item, Violation) and item.key in keys:
            lines.append(f"  {item.rule} {item.subject} {item.period!r}: {item.zh}")
    return "\n".join(sorted(set(lines)))


@pytest.mark.parametrize("name", SAMPLE_PACKS)
def test_the_sample_packs_find_exactly_the_planted_violations(
    name: str, findings: dict[str, list[Finding]]
) -> None:
    found = findings[name]
    expected = [v for v in planted_violations() if v.pack == name]
    assert expected, f"nothing planted for {name}"
    failed = {f.key: f for f in found if f.verdict is Verdict.failed}
    wanted = {v.key: v for v in expected}
    unexpected = set(failed) - set(wanted)
    missing = set(wanted) - set(failed)
    assert not unexpected and not missing, (
        f"unexpected failures:\n{describe(found, unexpected)}\n"
        f"planted but not found:\n{describe(expected, missing)}"
    )
    wrong_bearer = {
        key: (failed[key].bearer_person, v.bearer)
        for key, v in wanted.items()
        if v.bearer is not None and failed[key].bearer_person != v.bearer
    }
    assert not wrong_bearer, f"bearer found ≠ planted: {wrong_bearer}"
    silent = [f for f in found if f.verdict is Verdict.no_evidence]
    assert not silent, describe(silent, {f.key for f in silent})


def test_every_rule_is_judged_on_the_demo(
    packs: dict[str, CompiledPack], findings: dict[str, list[Finding]]
) -> None:
    """No rule is idle: each has findings, so the demo exercises the whole of every pack."""
    for name, pack in packs.items():
        judged = {f.rule_id for f in findings[name]}
        idle = [p.id for p in pack.plans if p.id not in judged]
        assert not idle, f"{pack.id}: rules without findings on the demo: {idle}"


def test_committed_evidence_is_what_the_generator_writes() -> None:
    files = render()
    on_disk = {
        str(path.relative_to(EVIDENCE_DIR)): path.read_bytes()
        for path in EVIDENCE_DIR.rglob("*")
        if path.is_file()
    }
    assert set(on_disk) == set(files), "run python -m dualduty.demo.generate_evidence"
    stale = [path for path, content in files.items() if on_disk[path] != content]
    assert not stale, f"stale: {stale}; run python -m dualduty.demo.generate_evidence"
    assert sum(map(len, files.values())) < 2 * 1024 * 1024, "the demo evidence must stay small"


def test_sample_sources_read_the_demo_folder(packs: dict[str, CompiledPack]) -> None:
    for pack in packs.values():
        assert pack.source is not None
        for name, etype in pack.pack.evidence.items():
            assert isinstance(etype.source, FileSource), f"{pack.id}.{name}: not a file source"
            path = (pack.source.parent / etype.source.path).resolve()
            assert path.is_relative_to(EVIDENCE_DIR.resolve()), f"{pack.id}.{name}: {path}"
            assert path.is_file(), f"{pack.id}.{name}: {path}"
